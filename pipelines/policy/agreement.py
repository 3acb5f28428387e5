"""Is the flow's data-sharing agreement in force for this flow, on the reference date?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipelines.estate import Estate
from pipelines.model import Agreement, Flow, _close
from pipelines.policy.result import AGREEMENT_IN_FORCE, ControlResult, Severity
from pipelines.taxonomy import is_criminal, is_personal, is_special_category


def selection_tags(
    flow: Flow, tags: Mapping[tuple[str, str], Iterable[str]]
) -> dict[str, tuple[str, ...]]:
    """The special-category and criminal tags of each column ``flow`` selects or joins rows by.

    A list of people filtered on a diagnosis discloses the diagnosis of everyone on it, though no
    output column holds it. ``tags`` maps (dataset, column) to its computed tags.
    """
    out: dict[str, tuple[str, ...]] = {}
    for ind in flow.indirect:
        for ref in ind.columns:
            ds, col = ref.split(".", 1)
            sensitive = sorted(
                t for t in tags.get((ds, col), ()) if is_special_category(t) or is_criminal(t)
            )
            if sensitive:
                out[ref] = tuple(sensitive)
    return out


def check_agreement(
    estate: Estate,
    flow: Flow,
    as_of: dt.date,
    output_tags: Mapping[str, Iterable[str]],
    selected_by: Mapping[str, Iterable[str]] | None = None,
) -> ControlResult:
    """Check that ``flow``'s agreement exists and covers it on ``as_of``.

    The agreement must name both departments, have started and not ended, permit the flow's
    purpose and, when the output carries special-category or criminal data, give the Art. 9 or
    Art. 10 condition. Rows selected or joined by a special-category or criminal column
    (``selected_by``, from :func:`selection_tags`) disclose it as much as a column would. A passed
    review date halts only if the agreement says ``review_overdue: halt``; otherwise it is
    reported as a warning.
    """
    agr = estate.agreements.get(flow.agreement)
    if agr is None:
        known = ", ".join(sorted(estate.agreements)) or "none"
        return ControlResult(
            control=AGREEMENT_IN_FORCE,
            passed=False,
            rule=f"flow '{flow.name}' must run under a declared agreement",
            summary=f"agreement '{flow.agreement}' is not declared{_close(flow.agreement, estate.agreements)}; "
            f"declared agreements: {known}",
            findings=(f"agreement '{flow.agreement}' is not declared",),
        )
    halting: list[str] = []
    warnings: list[str] = []
    counts: dict[str, int | str] = {}
    missing = [d for d in (flow.owner, flow.recipient) if d not in agr.parties]
    if missing:
        halting.append(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not a party "
            f"(parties: {', '.join(agr.parties)})"
        )
    if as_of < agr.start:
        counts["days_before_start"] = (agr.start - as_of).days
        halting.append(f"the agreement starts on {agr.start}")
    if as_of > agr.end:
        counts["days_past_end"] = (as_of - agr.end).days
        halting.append(f"the agreement ended on {agr.end}")
    if as_of > agr.review and as_of <= agr.end:
        counts["days_past_review"] = (as_of - agr.review).days
        text = f"the agreement was due for review on {agr.review}"
        (halting if agr.review_overdue == "halt" else warnings).append(text)
    if flow.purpose not in agr.purposes:
        halting.append(
            f"purpose '{flow.purpose}' is not permitted (permitted: {', '.join(agr.purposes)})"
        )
    tags = {t for ts in output_tags.values() for t in ts if is_personal(t)}
    selectors = {ref: set(ts) for ref, ts in (selected_by or {}).items()}
    for test, article, field, what in (
        (is_special_category, "Art. 9 condition", "article_9", "special-category"),
        (is_criminal, "Art. 10 authority", "article_10", "criminal-offence"),
    ):
        held = sorted(t for t in tags if test(t))
        selecting = {ref: sorted(t for t in ts if test(t)) for ref, ts in selectors.items()}
        selecting = {ref: ts for ref, ts in selecting.items() if ts}
        if (held or selecting) and not getattr(agr.legal_basis, field):
            why = [f"the output holds {what} data ({', '.join(held)})"] if held else []
            why += [
                f"its rows are selected by {ref} ({', '.join(ts)}), which discloses it"
                for ref, ts in selecting.items()
            ]
            halting.append(
                f"{'; '.join(why)}, but the agreement gives no {article} (legal_basis.{field})"
            )
            if selecting:
                counts[f"{field}_selecting_columns"] = len(selecting)
    rule = (
        f"{agr.id}: between {', '.join(agr.parties)}, in force {agr.start} to {agr.end} "
        f"(review {agr.review}), purposes {', '.join(agr.purposes)}"
    )
    findings = (*halting, *warnings)
    severity: Severity = "error" if halting else "warn"
    summary = "; ".join(findings) if findings else f"in force on {as_of} for '{flow.purpose}'"
    counts["as_of"] = as_of.isoformat()
    return ControlResult(
        control=AGREEMENT_IN_FORCE,
        passed=not findings,
        rule=rule,
        summary=summary,
        severity=severity,
        findings=findings,
        counts=counts,
    )


@dataclass(frozen=True)
class Term:
    """Where an agreement stands on a date: in force or not, and how long until it ends."""

    agreement: Agreement
    as_of: dt.date
    warning_days: int

    @property
    def days_to_end(self) -> int:
        """Days from ``as_of`` to the last day in force (negative once it has ended)."""
        return (self.agreement.end - self.as_of).days

    @property
    def days_to_review(self) -> int:
        """Days from ``as_of`` to the review date (negative when overdue)."""
        return (self.agreement.review - self.as_of).days

    @property
    def ended(self) -> bool:
        return self.as_of > self.agreement.end

    @property
    def findings(self) -> tuple[str, ...]:
        """What a steward must act on; empty when the agreement needs nothing."""
        agr, out = self.agreement, []
        if self.ended:
            out.append(f"{agr.id} ended on {agr.end}; data received under it must be disposed of")
        elif self.as_of < agr.start:
            out.append(f"{agr.id} starts on {agr.start}; flows under it halt until then")
        elif self.days_to_end <= self.warning_days:
            out.append(
                f"{agr.id} ends in {self.days_to_end} day(s), on {agr.end}: renew it or plan the "
                f"data's disposal ({agr.on_end} on the day after)"
            )
        if not self.ended and self.days_to_review < 0:
            out.append(f"{agr.id} was due for review on {agr.review}")
        elif not self.ended and self.days_to_review <= self.warning_days:
            out.append(
                f"{agr.id} is due for review in {self.days_to_review} day(s), on {agr.review}"
            )
        return tuple(out)

    def summary(self) -> str:
        """One line for the check's description."""
        if self.findings:
            return "; ".join(self.findings)
        return (
            f"{self.agreement.id} in force on {self.as_of}: ends in {self.days_to_end} days, "
            f"review in {self.days_to_review} days"
        )
