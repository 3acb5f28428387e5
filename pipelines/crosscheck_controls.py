"""Cross-checks of the privacy controls a flow declares: disclosure rules, opt-out routes,
retention, and no tag lowered without the control that earns it.

:class:`ControlChecks` is the base of :class:`pipelines.crosscheck.CrossCheck`; every problem
names the file, line and field it is about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.model import Flow, OptOut, _close, listing
from pipelines.policy.recognise import SCHEMES
from pipelines.taxonomy import Masking
from pipelines.yamlfile import SourceFile

if TYPE_CHECKING:
    from pipelines.estate import Estate

DIRECT = "person.id.direct"
PSEUDONYMOUS = "person.id.pseudonymous"
Loc = tuple[str | int, ...]


class ControlChecks:
    """Checks of the controls a flow declares; ``problems`` collects every finding."""

    def __init__(self, estate: Estate, problems: list[str]) -> None:
        self.e = estate
        self.problems = problems

    def fail(self, src: SourceFile, loc: Loc, msg: str) -> None:
        """Record one problem at ``loc`` of ``src``."""
        self.problems.append(f"{src.where(loc)}: {msg}")

    def _check_column(self, src: SourceFile, loc: Loc, ds: str, col: str) -> bool:
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

    def _check_ref(self, src: SourceFile, loc: Loc, flow: Flow, ref: str) -> bool:
        ds, col = ref.split(".", 1)
        if ds not in flow.inputs:
            self.fail(
                src,
                loc,
                f"'{ref}' names dataset '{ds}', which is not an input of this flow; inputs: {', '.join(flow.inputs)}",
            )
            return False
        return ds in self.e.datasets and self._check_column(src, loc, ds, col)

    @staticmethod
    def _agreement_index(src: SourceFile, agreement_id: str) -> int:
        return next(i for i, a in enumerate(src.data["agreements"]) if a.get("id") == agreement_id)

    def _check_controls(self, src: SourceFile, flow: Flow) -> None:
        """Columns named by the flow's disclosure, opt-out and retention rules must exist, and
        every masking that lowers a tag must have the control that checks it.

        An unknown agreement is not a declaration error: the flow's ``agreement_in_force`` check
        halts it at run time (and ``tagtrail validate`` reports it), while the other flows run.
        """
        if flow.disclosure and (rule := flow.disclosure.k_anonymity):
            loc: Loc = ("disclosure", "k_anonymity")
            for col in (*rule.quasi_identifiers, rule.unit, rule.sensitive):
                if col is not None:
                    self._check_column(src, loc, flow.output, col)
        if flow.disclosure and (cells := flow.disclosure.small_cells):
            loc = ("disclosure", "small_cells")
            for col in (*cells.dimensions, cells.count, cells.suppressed):
                self._check_column(src, loc, flow.output, col)
        self._check_lowering(src, flow)
        if flow.opt_out:
            self._check_opt_out(src, flow, flow.opt_out)
        self._check_retention_column(flow)

    def _check_lowering(self, src: SourceFile, flow: Flow) -> None:
        """``suppress_small_cells`` turns person tags into aggregate tags: only the small-cell
        audit earns that, so the flow must declare it."""
        cells = flow.disclosure.small_cells if flow.disclosure else None
        for name, der in flow.columns.items():
            if der.masking is not Masking.SUPPRESS_SMALL_CELLS:
                continue
            loc = ("columns", name, "masking")
            if cells is None:
                self.fail(
                    src,
                    loc,
                    f"column '{name}' is masked suppress_small_cells, which lowers its tags to "
                    "aggregate.*, but the flow declares no disclosure.small_cells rule to check "
                    f"it; add disclosure: {{small_cells: {{count: {name}, dimensions: [...]}}}}",
                )

    def _check_opt_out(self, src: SourceFile, flow: Flow, rule: OptOut) -> None:
        reg = rule.register
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
            return
        if reg not in self.e.datasets:
            return
        if not self._check_column(src, ("opt_out", "register_column"), reg, rule.register_column):
            return
        scheme = self.e.datasets[reg].column(rule.register_column).identifier
        if scheme is None:
            self.fail(
                src,
                ("opt_out", "register_column"),
                f"'{reg}.{rule.register_column}' declares no identifier scheme, so the register "
                "cannot be matched after normalising; add identifier: "
                f"{' | '.join(SCHEMES)} to that column of '{reg}'",
            )
            return
        if rule.person_index is not None:
            self._check_person_index(src, flow, rule.person_index)
        reachable = self._reachable(flow, scheme)
        if rule.match is not None and self._check_ref(src, ("opt_out", "match"), flow, rule.match):
            ds, col = rule.match.split(".", 1)
            matched = self.e.datasets[ds].column(col).identifier
            if matched not in reachable:
                self.fail(
                    src,
                    ("opt_out", "match"),
                    f"'{rule.match}' is not an identifier the register can reach (it declares "
                    f"{matched or 'no identifier scheme'}; the register reaches "
                    f"{', '.join(sorted(reachable))}); name a column declaring one of those",
                )
        for i, name in enumerate(flow.inputs):
            if name != reg and name in self.e.datasets:
                self._check_route(src, flow, i, name, scheme, reachable)

    def _check_person_index(self, src: SourceFile, flow: Flow, index: str) -> None:
        loc = ("opt_out", "person_index")
        if index not in flow.inputs:
            self.fail(src, loc, f"the person index '{index}' must also be listed in inputs")
        elif index in self.e.datasets:
            schemes = {c.identifier for c in self.e.datasets[index].columns if c.identifier}
            if len(schemes) < 2:
                self.fail(
                    src,
                    loc,
                    f"the person index '{index}' must declare identifier columns of at least two "
                    f"schemes to link a person's identifiers; it declares "
                    f"{', '.join(sorted(schemes)) or 'none'}",
                )

    def _reachable(self, flow: Flow, scheme: str) -> set[str]:
        """The schemes a register in ``scheme`` reaches: a dataset among the flow's inputs that
        holds identifiers of several schemes links them."""
        groups = [
            {c.identifier for c in self.e.datasets[n].columns if c.identifier}
            for n in flow.inputs
            if n in self.e.datasets
        ]
        reached = {scheme}
        grown = True
        while grown:
            grown = False
            for group in groups:
                if group & reached and not group <= reached:
                    reached |= group
                    grown = True
        return reached

    def _check_route(
        self, src: SourceFile, flow: Flow, i: int, name: str, scheme: str, reachable: set[str]
    ) -> None:
        """An input about people must carry an identifier the register can reach."""
        columns = self.e.datasets[name].columns
        schemes = {c.identifier for c in columns if c.identifier}
        direct = [c.name for c in columns if DIRECT in c.tags]
        pseudonyms = [c.name for c in columns if PSEUDONYMOUS in c.tags]
        if schemes & reachable or pseudonyms or not (direct or schemes):
            return
        if schemes:
            self.fail(
                src,
                ("inputs", i),
                f"input '{name}' identifies people by {', '.join(sorted(schemes))}, which the "
                f"opt-out register ({scheme}) cannot reach, so opted-out people would pass "
                "through it; add opt_out.person_index naming an input that holds both "
                "identifiers, or remove the input",
            )
        else:
            self.fail(
                src,
                ("inputs", i),
                f"input '{name}' holds direct identifiers ({listing(direct)}) but none declares "
                "an identifier scheme, so the opt-out register cannot be applied to it; add "
                f"identifier: {' | '.join(SCHEMES)} to the column that identifies the person",
            )

    def _check_retention_column(self, flow: Flow) -> None:
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
