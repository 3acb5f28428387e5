"""Cross-references between an estate's declarations, checked once every file has loaded.

Each problem names the file, line and field it is about (``file, line N: field: message``), with
what is allowed and close matches; :func:`pipelines.estate.load_estate` reports them all at once.
"""

from __future__ import annotations

import graphlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from expectations import SuiteError, load_suite
from pipelines.crosscheck_controls import ControlChecks
from pipelines.crosscheck_floors import check_floors
from pipelines.estate_code import TransformImportError, resolve_transform
from pipelines.model import Dataset, Flow, _close
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


class CrossCheck(ControlChecks):
    """Checks every cross-reference of a loaded estate, appending each problem to ``problems``."""

    def run(self, manifest: SourceFile, suites_dir: Path) -> None:
        """Agreements, flows, sources, datasets and their suites, then (if all is well) cycles."""
        self._check_agreements()
        for flow in self.e.flows.values():
            self._check_flow(flow)
        self.sources(manifest)
        check_floors(self, manifest)
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
