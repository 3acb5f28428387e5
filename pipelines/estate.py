"""Load an estate of declarations from a folder and check every cross-reference before anything runs.

An estate folder holds its manifest ``estate.yaml`` (name, suites folder, sources, policy),
``departments.yaml``, ``agreements.yaml``, ``datasets/*.yaml`` (one file a department),
``flows/*.yaml`` (one file a flow) and the flows' transform modules. Each dataset also needs a
Great Expectations suite, ``<suites>/<dataset>.json``, in the folder the manifest names.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
from pydantic import BaseModel, ValidationError

from expectations import Suite, SuiteError, load_suite
from pipelines.estate_code import TransformImportError, resolve_transform
from pipelines.manifest import MANIFEST, Manifest, Source
from pipelines.model import (
    Agreement,
    AgreementFile,
    Dataset,
    DatasetFile,
    Department,
    DepartmentFile,
    Flow,
    _close,
)
from pipelines.yamlfile import DeclarationError, SourceFile, read_yaml

Transform = Callable[..., pd.DataFrame]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Declared:
    """Where a declaration came from: its file, the file's hash, and the location in it."""

    file: SourceFile
    loc: tuple[str | int, ...]

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def sha256(self) -> str:
        return self.file.sha256


@dataclass
class Estate:
    """Every declaration of an estate, cross-checked, with the files they came from."""

    root: Path
    manifest: Manifest | None = None
    suites_dir: Path | None = None
    departments: dict[str, Department] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    dataset_owner: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, Agreement] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    suites: dict[str, Suite] = field(default_factory=dict)
    transforms: dict[str, Transform] = field(default_factory=dict)
    declared_in: dict[str, Declared] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The estate's name, from its manifest."""
        assert self.manifest is not None, "estate loaded without its manifest"
        return self.manifest.name

    @property
    def sources(self) -> dict[str, Source]:
        """Where each source dataset comes from, by dataset name."""
        assert self.manifest is not None, "estate loaded without its manifest"
        return self.manifest.sources

    def producer(self, dataset: str) -> Flow | None:
        """The flow whose output is ``dataset``; None for a source extract."""
        return next((f for f in self.flows.values() if f.output == dataset), None)

    def topological_datasets(self) -> list[str]:
        """Dataset names, every input before the datasets made from it."""
        graph = {d: set(f.inputs) if (f := self.producer(d)) else set() for d in self.datasets}
        return list(graphlib.TopologicalSorter(graph).static_order())

    def downstream(self, dataset: str) -> set[str]:
        """Every dataset made, directly or not, from ``dataset``."""
        out: set[str] = set()
        frontier = [dataset]
        while frontier:
            cur = frontier.pop()
            for f in self.flows.values():
                if cur in f.inputs and f.output not in out:
                    out.add(f.output)
                    frontier.append(f.output)
        return out


def load_estate(root: Path, suites_dir: Path | None = None) -> Estate:
    """Load and cross-check the estate in ``root``; raise :class:`DeclarationError` listing every problem.

    ``suites_dir`` overrides the suites folder the manifest names.
    """
    root = Path(root)
    if not root.is_dir():
        raise DeclarationError(
            [f"{root}: estate folder not found; `tagtrail init {root}` creates a new estate"]
        )
    estate = Estate(root=root)
    problems: list[str] = []
    loader = _Loader(estate, problems)
    loader.load(root, suites_dir)
    if problems:
        raise DeclarationError(problems)
    return estate


class _Loader:
    def __init__(self, estate: Estate, problems: list[str]) -> None:
        self.e = estate
        self.problems = problems

    def fail(self, src: SourceFile, loc: tuple[str | int, ...], msg: str) -> None:
        self.problems.append(f"{src.where(loc)}: {msg}")

    def load(self, root: Path, suites_dir: Path | None) -> None:
        manifest_src = self._manifest(root)
        for src, dept in self._items(root / "departments.yaml", DepartmentFile, "departments"):
            self._add(self.e.departments, dept.name, dept, src, "department")
        for src, agr in self._items(root / "agreements.yaml", AgreementFile, "agreements"):
            self._add(self.e.agreements, agr.id, self._with_policy(agr), src, "agreement")
        for path in sorted((root / "datasets").glob("*.yaml")):
            self._dataset_file(path)
        for path in sorted((root / "flows").glob("*.yaml")):
            flow_src = self._read(path)
            if flow_src is not None and (flow := self._parse(flow_src, Flow, ())) is not None:
                self._add(self.e.flows, flow.name, flow, flow_src, "flow")
        if self.problems or manifest_src is None:
            return
        self._check_agreements()
        for flow in self.e.flows.values():
            self._check_flow(flow)
        self._check_sources(manifest_src)
        self.e.suites_dir = suites_dir or self._suites_dir(manifest_src)
        self._check_datasets(self.e.suites_dir)
        if not self.problems:
            self._check_cycles()

    def _manifest(self, root: Path) -> SourceFile | None:
        path = root / MANIFEST
        if not path.is_file():
            self.problems.append(
                f"{path}: file not found; every estate has a manifest naming it, its suites "
                f"folder, its sources and its policy (`tagtrail init` writes one)"
            )
            return None
        src = self._read(path)
        if src is not None:
            self.e.manifest = self._parse(src, Manifest, ())
        return src if self.e.manifest is not None else None

    def _with_policy(self, agr: Agreement) -> Agreement:
        """The agreement with the estate's policy defaults for what it does not set itself."""
        policy = self.e.manifest.policy if self.e.manifest else None
        if policy is None:
            return agr
        defaults = {
            "review_overdue": policy.review_overdue,
            "on_end": policy.on_agreement_end,
            "disclosure": policy.disclosure,
        }
        return agr.model_copy(
            update={k: v for k, v in defaults.items() if k not in agr.model_fields_set}
        )

    def _suites_dir(self, src: SourceFile) -> Path:
        assert self.e.manifest is not None
        suites = (self.e.root / self.e.manifest.suites).resolve()
        if not suites.is_dir():
            self.fail(
                src,
                ("suites",),
                f"suites folder {suites} does not exist; create it or name the folder that "
                "holds the estate's <dataset>.json suites",
            )
        return suites

    def _check_sources(self, src: SourceFile) -> None:
        """Every source dataset has a source, and every source is a declared source dataset."""
        sources = self.e.sources
        for name, ds in self.e.datasets.items():
            if ds.source_system and name not in sources:
                self.fail(
                    src,
                    ("sources",),
                    f"source dataset '{name}' has no source; add sources.{name} with "
                    f"file: <path under the extracts folder> or sql: {{url_env: VARIABLE, "
                    "table: NAME}",
                )
        for name in sources:
            if name not in self.e.datasets:
                self.fail(src, ("sources", name), self._unknown("dataset", name))
            elif not self.e.datasets[name].source_system:
                self.fail(
                    src,
                    ("sources", name),
                    f"dataset '{name}' is the output of flow "
                    f"'{p.name if (p := self.e.producer(name)) else '?'}', not a source; only "
                    "datasets with a source_system are read from a source",
                )

    def _read(self, path: Path) -> SourceFile | None:
        if not path.is_file():
            self.problems.append(f"{path}: file not found")
            return None
        try:
            return read_yaml(path)
        except DeclarationError as exc:
            self.problems.extend(exc.problems)
            return None

    def _parse(self, src: SourceFile, model: type[M], loc: tuple[str | int, ...]) -> M | None:
        try:
            return model.model_validate(src.data if src.data is not None else {})
        except ValidationError as exc:
            for err in exc.errors():
                where = loc + tuple(p for p in err["loc"] if p not in ("function-after",))
                self.fail(src, where, _message(err))
            return None

    def _items(self, path: Path, model: type[M], key: str) -> Iterator[tuple[SourceFile, Any]]:
        src = self._read(path)
        if src is not None and (parsed := self._parse(src, model, ())) is not None:
            for item in getattr(parsed, key):
                yield src, item

    def _add(self, into: dict[str, Any], name: str, item: Any, src: SourceFile, kind: str) -> None:
        if name in into:
            first = self.e.declared_in[f"{kind}:{name}"].path
            self.fail(src, (), f"duplicate {kind} name '{name}' (first declared in {first})")
            return
        into[name] = item
        self.e.declared_in[f"{kind}:{name}"] = Declared(src, ())

    def _dataset_file(self, path: Path) -> None:
        src = self._read(path)
        parsed = self._parse(src, DatasetFile, ()) if src else None
        if src is None or parsed is None:
            return
        if parsed.department not in self.e.departments:
            self.fail(src, ("department",), self._unknown("department", parsed.department))
            return
        for i, ds in enumerate(parsed.datasets):
            self._add(self.e.datasets, ds.name, ds, src, "dataset")
            self.e.declared_in[f"dataset:{ds.name}"] = Declared(src, ("datasets", i))
            self.e.dataset_owner.setdefault(ds.name, parsed.department)

    def _unknown(self, kind: str, name: str) -> str:
        pools: dict[str, dict[str, Any]] = {
            "department": self.e.departments,
            "dataset": self.e.datasets,
            "agreement": self.e.agreements,
        }
        pool = pools[kind]
        known = ", ".join(sorted(pool)) or "none declared"
        return f"unknown {kind} '{name}'{_close(name, pool)}; declared {kind}s: {known}"

    @staticmethod
    def _agreement_index(src: SourceFile, agreement_id: str) -> int:
        return next(i for i, a in enumerate(src.data["agreements"]) if a.get("id") == agreement_id)

    def _check_agreements(self) -> None:
        for agr in self.e.agreements.values():
            src = self.e.declared_in[f"agreement:{agr.id}"].file
            idx = self._agreement_index(src, agr.id)
            for party in agr.parties:
                if party not in self.e.departments:
                    self.fail(
                        src, ("agreements", idx, "parties"), self._unknown("department", party)
                    )
            for ds_name, cols in agr.data_items.items():
                loc = ("agreements", idx, "data_items", ds_name)
                if ds_name not in self.e.datasets:
                    self.fail(src, loc, self._unknown("dataset", ds_name))
                    continue
                for c in cols:
                    self._check_column(src, loc, ds_name, c)

    def _check_column(self, src: SourceFile, loc: tuple[str | int, ...], ds: str, col: str) -> bool:
        names = self.e.datasets[ds].column_names
        if col not in names:
            self.fail(
                src,
                loc,
                f"dataset '{ds}' has no column '{col}'{_close(col, names)}; its columns: {', '.join(names)}",
            )
            return False
        return True

    def _check_flow(self, flow: Flow) -> None:
        src = self.e.declared_in[f"flow:{flow.name}"].file
        for dept_field in ("owner", "recipient"):
            name = getattr(flow, dept_field)
            if name not in self.e.departments:
                self.fail(src, (dept_field,), self._unknown("department", name))
        for i, ds in enumerate(flow.inputs):
            if ds not in self.e.datasets:
                self.fail(src, ("inputs", i), self._unknown("dataset", ds))
        if flow.output not in self.e.datasets:
            self.fail(src, ("output",), self._unknown("dataset", flow.output))
            return
        if flow.output in flow.inputs:
            self.fail(src, ("output",), f"'{flow.output}' cannot be both an input and the output")
        out = self.e.datasets[flow.output]
        if out.source_system:
            self.fail(
                src,
                ("output",),
                f"dataset '{flow.output}' is a source extract (it declares source_system); a flow output must not",
            )
        owner = self.e.dataset_owner.get(flow.output)
        if owner != flow.recipient:
            self.fail(
                src,
                ("recipient",),
                f"the output '{flow.output}' is owned by '{owner}', so the recipient must be '{owner}'",
            )
        for col, der in flow.columns.items():
            self._check_column(src, ("columns",), flow.output, col)
            for ref in der.from_:
                self._check_ref(src, ("columns", col, "from"), flow, ref)
        for i, ind in enumerate(flow.indirect):
            for ref in ind.columns:
                self._check_ref(src, ("indirect", i, "columns"), flow, ref)
        self._check_controls(src, flow)
        self._resolve_transform(src, flow)

    def _check_controls(self, src: SourceFile, flow: Flow) -> None:
        """Columns named by the flow's disclosure, opt-out and retention rules must exist.

        An unknown agreement is not a declaration error: the flow's ``agreement_in_force`` check
        halts it at run time (and ``tagtrail validate`` reports it), while the other flows run.
        """
        if flow.disclosure and (rule := flow.disclosure.k_anonymity):
            loc: tuple[str | int, ...] = ("disclosure", "k_anonymity")
            for col in (*rule.quasi_identifiers, rule.unit, rule.sensitive):
                if col is not None:
                    self._check_column(src, loc, flow.output, col)
        if flow.disclosure and (cells := flow.disclosure.small_cells):
            loc = ("disclosure", "small_cells")
            for col in (*cells.dimensions, cells.count, cells.suppressed):
                self._check_column(src, loc, flow.output, col)
        if flow.opt_out:
            reg = flow.opt_out.register
            if reg not in flow.inputs:
                self.fail(
                    src,
                    ("opt_out", "register"),
                    f"the opt-out register '{reg}' must also be listed in inputs, so the flow "
                    "waits for its latest version",
                )
            elif reg in self.e.datasets:
                self._check_column(
                    src, ("opt_out", "register_column"), reg, flow.opt_out.register_column
                )
            self._check_ref(src, ("opt_out", "match"), flow, flow.opt_out.match)
        agr = self.e.agreements.get(flow.agreement)
        date_column = agr.retention.date_column if agr else None
        if date_column and date_column not in self.e.datasets[flow.output].column_names:
            decl = self.e.declared_in[f"agreement:{flow.agreement}"].file
            self.fail(
                decl,
                (
                    "agreements",
                    self._agreement_index(decl, flow.agreement),
                    "retention",
                    "date_column",
                ),
                f"retention.date_column '{date_column}' is not a column of '{flow.output}', "
                f"the output of flow '{flow.name}' under this agreement",
            )

    def _check_ref(self, src: SourceFile, loc: tuple[str | int, ...], flow: Flow, ref: str) -> None:
        ds, col = ref.split(".", 1)
        if ds not in flow.inputs:
            self.fail(
                src,
                loc,
                f"'{ref}' names dataset '{ds}', which is not an input of this flow; inputs: {', '.join(flow.inputs)}",
            )
        elif ds in self.e.datasets:
            self._check_column(src, loc, ds, col)

    def _resolve_transform(self, src: SourceFile, flow: Flow) -> None:
        try:
            func = resolve_transform(self.e.root, flow.transform)
        except TransformImportError as exc:
            self.fail(src, ("transform",), str(exc))
            return
        self.e.transforms[flow.name] = cast(Transform, func)

    def _check_datasets(self, suites_dir: Path) -> None:
        producers: dict[str, list[str]] = {}
        for flow in self.e.flows.values():
            producers.setdefault(flow.output, []).append(flow.name)
        for name, ds in self.e.datasets.items():
            decl = self.e.declared_in[f"dataset:{name}"]
            made_by = producers.get(name, [])
            if len(made_by) > 1:
                self.fail(
                    decl.file,
                    decl.loc,
                    f"dataset '{name}' is the output of more than one flow: {', '.join(made_by)}",
                )
            if not made_by and not ds.source_system:
                self.fail(
                    decl.file,
                    decl.loc,
                    f"dataset '{name}' has no source_system and no flow produces it; declare one of the two",
                )
            self._load_suite(name, ds, suites_dir / f"{name}.json", decl)

    def _load_suite(self, name: str, ds: Dataset, path: Path, decl: Declared) -> None:
        if not path.parent.is_dir():
            return  # reported once, on the manifest's suites field
        if not path.is_file():
            self.fail(
                decl.file, decl.loc, f"dataset '{name}' has no expectation suite; create {path}"
            )
            return
        try:
            suite = load_suite(path)
        except SuiteError as exc:
            self.problems.append(str(exc))
            return
        for col in sorted(suite.columns() - set(ds.column_names)):
            self.problems.append(
                f"{path}: expectation on column '{col}', which dataset '{name}' does not declare{_close(col, ds.column_names)}"
            )
        self.e.suites[name] = suite

    def _check_cycles(self) -> None:
        try:
            self.e.topological_datasets()
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            flows = [f.name for f in self.e.flows.values() if f.output in cycle]
            src = self.e.declared_in[f"flow:{flows[0]}"].file
            self.fail(
                src,
                ("inputs",),
                f"flows form a cycle: {' -> '.join(cycle)} (flows {', '.join(sorted(flows))}); a dataset cannot depend on itself",
            )


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field; remove it or check its spelling"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] in ("literal_error", "enum"):
        return f"{msg} (got {err.get('input')!r})"
    return msg
