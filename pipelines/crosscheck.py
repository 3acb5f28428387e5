"""Cross-references between an estate's declarations, checked once every file has loaded.

Each problem names the file, line and field it is about (``file, line N: field: message``), with
what is allowed and close matches; :func:`pipelines.estate.load_estate` reports them all at once.
"""

from __future__ import annotations

import graphlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from expectations import SuiteError, load_suite
from pipelines.estate_code import TransformImportError, resolve_transform
from pipelines.model import Dataset, Flow, _close, listing
from pipelines.yamlfile import SourceFile

if TYPE_CHECKING:
    from pipelines.estate import Declared, Estate, Transform


def unknown(estate: Estate, kind: str, name: str) -> str:
    """``unknown dataset 'x' (did you mean 'y'?); declared datasets: ...``."""
    pools: dict[str, dict[str, Any]] = {
        "department": estate.departments,
        "dataset": estate.datasets,
        "agreement": estate.agreements,
    }
    pool = pools[kind]
    known = ", ".join(sorted(pool)) or "none declared"
    return f"unknown {kind} '{name}'{_close(name, pool)}; declared {kind}s: {known}"


class CrossCheck:
    """Checks every cross-reference of a loaded estate, appending each problem to ``problems``."""

    def __init__(self, estate: Estate, problems: list[str]) -> None:
        self.e = estate
        self.problems = problems

    def fail(self, src: SourceFile, loc: tuple[str | int, ...], msg: str) -> None:
        self.problems.append(f"{src.where(loc)}: {msg}")

    def run(self, manifest: SourceFile, suites_dir: Path) -> None:
        """Agreements, flows, sources, datasets and their suites, then (if all is well) cycles."""
        self._check_agreements()
        for flow in self.e.flows.values():
            self._check_flow(flow)
        self.sources(manifest)
        self._check_datasets(suites_dir)
        if not self.problems:
            self._check_cycles()

    def sources(self, src: SourceFile) -> None:
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
                self.fail(src, ("sources", name), unknown(self.e, "dataset", name))
            elif not self.e.datasets[name].source_system:
                self.fail(
                    src,
                    ("sources", name),
                    f"dataset '{name}' is the output of flow "
                    f"'{p.name if (p := self.e.producer(name)) else '?'}', not a source; only "
                    "datasets with a source_system are read from a source",
                )

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
                        src, ("agreements", idx, "parties"), unknown(self.e, "department", party)
                    )
            for ds_name, cols in agr.data_items.items():
                loc = ("agreements", idx, "data_items", ds_name)
                if ds_name not in self.e.datasets:
                    self.fail(src, loc, unknown(self.e, "dataset", ds_name))
                    continue
                for c in cols:
                    self._check_column(src, loc, ds_name, c)

    def _check_column(self, src: SourceFile, loc: tuple[str | int, ...], ds: str, col: str) -> bool:
        dataset = self.e.datasets[ds]
        if not dataset.has_column(col):
            names = dataset.column_names
            self.fail(
                src,
                loc,
                f"dataset '{ds}' has no column '{col}'{_close(col, names)}; its columns: {listing(names)}",
            )
            return False
        return True

    def _check_flow(self, flow: Flow) -> None:
        src = self.e.declared_in[f"flow:{flow.name}"].file
        for dept_field in ("owner", "recipient"):
            name = getattr(flow, dept_field)
            if name not in self.e.departments:
                self.fail(src, (dept_field,), unknown(self.e, "department", name))
        for i, ds in enumerate(flow.inputs):
            if ds not in self.e.datasets:
                self.fail(src, ("inputs", i), unknown(self.e, "dataset", ds))
        if flow.output not in self.e.datasets:
            self.fail(src, ("output",), unknown(self.e, "dataset", flow.output))
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
            if reg in self.e.datasets and self.e.datasets[reg].volume.allow_empty:
                declared = self.e.declared_in[f"dataset:{reg}"]
                self.fail(
                    declared.file,
                    (*declared.loc, "volume", "allow_empty"),
                    f"'{reg}' is the opt-out register of flow '{flow.name}': it may never be "
                    "empty (an empty register would let every opted-out person through)",
                )
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
            packages = self.e.manifest.packages if self.e.manifest else ()
            func = resolve_transform(self.e.root, flow.transform, packages)
        except TransformImportError as exc:
            self.fail(src, ("transform",), str(exc))
            return
        self.e.transforms[flow.name] = cast("Transform", func)

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
