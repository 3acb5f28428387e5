"""The Art. 30 record of processing: one entry per declared flow, from the declarations alone.

Each entry names the controller (the department sending the data) and the recipient, the
purpose, the legal basis with its Art. 9/10 condition, the categories of data the output holds
(from its columns' computed privacy tags, with their GDPR and fideslang names), retention, the
safeguards (the controls the flow must pass before anything is published) and the agreement with
its dates. Nothing here reads data: no value of any column can reach the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from lineage.propagation import Computed, propagate
from pipelines.estate import Estate
from pipelines.model import Agreement, Flow
from pipelines.policy.agreement import selection_tags
from pipelines.policy.applicable import DESCRIPTIONS, applicable
from pipelines.taxonomy import TAGS, identifiability

_GDPR_NAMES = {
    "gdpr:art9": "GDPR Art. 9 special category",
    "gdpr:art10": "GDPR Art. 10 criminal convictions and offences",
    "gdpr:recital26-aggregate": "aggregate statistics (GDPR Recital 26)",
}


@dataclass(frozen=True)
class Party:
    """A department as the record names it, with its data steward as the contact."""

    department: str
    title: str
    contact: str
    contact_email: str


@dataclass(frozen=True)
class Category:
    """A category of personal data the output holds or discloses: a privacy tag, the output
    columns carrying it, and the input columns the flow selects or joins people by that reveal
    it (a list of people filtered on a diagnosis discloses the diagnosis)."""

    tag: str
    description: str
    gdpr: tuple[str, ...]
    fideslang: tuple[str, ...]
    columns: tuple[str, ...]
    selected_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Safeguard:
    """A control the flow must pass before its output is published."""

    control: str
    description: str


@dataclass(frozen=True)
class RopaEntry:
    """One flow's record of processing."""

    flow: str
    description: str
    controller: Party
    recipient: Party
    purpose: str
    agreement_id: str
    agreement_title: str
    agreement_parties: tuple[str, ...]
    agreement_start: dt.date
    agreement_end: dt.date
    agreement_review: dt.date
    article_6: str
    article_9: str | None
    article_10: str | None
    statute: str
    inputs: tuple[str, ...]
    output: str
    identifiability: str
    identified_sharing: bool
    categories: tuple[Category, ...]
    retention_period: str
    retention_disposal: str
    safeguards: tuple[Safeguard, ...]

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON-safe object (dates as ISO 8601)."""
        data = asdict(self)
        for key in ("agreement_start", "agreement_end", "agreement_review"):
            data[key] = data[key].isoformat()
        return data


def record_of_processing(estate: Estate, computed: Computed | None = None) -> list[RopaEntry]:
    """Every flow's entry, in flow-name order."""
    tags = computed if computed is not None else propagate(estate)
    return [_entry(estate, flow, tags) for _, flow in sorted(estate.flows.items())]


def _party(estate: Estate, name: str) -> Party:
    department = estate.departments[name]
    return Party(name, department.title, department.steward.name, department.steward.email)


def _entry(estate: Estate, flow: Flow, computed: Computed) -> RopaEntry:
    agreement = estate.agreements[flow.agreement]
    dataset = estate.datasets[flow.output]
    by_tag: dict[str, list[str]] = {}
    for column in dataset.columns:
        for tag in computed[(flow.output, column.name)].tags:
            by_tag.setdefault(tag, []).append(column.name)
    selected: dict[str, list[str]] = {}
    for ref, found in selection_tags(flow, {k: v.tags for k, v in computed.items()}).items():
        for tag in found:
            selected.setdefault(tag, []).append(ref)
    categories = tuple(
        _category(tag, by_tag.get(tag, []), selected.get(tag, []))
        for tag in sorted({*by_tag, *selected})
    )
    rules = _rules(flow, agreement)
    safeguards = tuple(Safeguard(c, DESCRIPTIONS[c]) for c in applicable(estate, flow.output))
    basis = agreement.legal_basis
    return RopaEntry(
        flow=flow.name,
        description=flow.description,
        controller=_party(estate, flow.owner),
        recipient=_party(estate, flow.recipient),
        purpose=flow.purpose,
        agreement_id=agreement.id,
        agreement_title=agreement.title,
        agreement_parties=agreement.parties,
        agreement_start=agreement.start,
        agreement_end=agreement.end,
        agreement_review=agreement.review,
        article_6=f"Art. {basis.article_6}",
        article_9=f"Art. {basis.article_9}" if basis.article_9 else None,
        article_10=basis.article_10,
        statute=basis.statute,
        inputs=flow.inputs,
        output=flow.output,
        identifiability=str(identifiability(frozenset(by_tag))),
        identified_sharing=agreement.identified_sharing,
        categories=categories,
        retention_period=agreement.retention.period,
        retention_disposal=agreement.retention.disposal,
        safeguards=safeguards + rules,
    )


def _category(tag: str, columns: list[str], selected_by: list[str]) -> Category:
    info = TAGS[tag]
    gdpr = tuple(_GDPR_NAMES.get(m, m) for m in info.maps_to if m.startswith("gdpr:"))
    if not gdpr and tag.startswith("person."):
        gdpr = ("GDPR Art. 4(1) personal data",)
    fideslang = tuple(m.removeprefix("fideslang:") for m in info.maps_to if "fideslang:" in m)
    return Category(tag, info.description, gdpr, fideslang, tuple(columns), tuple(selected_by))


def _rules(flow: Flow, agreement: Agreement) -> tuple[Safeguard, ...]:
    """The flow's own disclosure and opt-out rules, in words, with the agreement's thresholds."""
    rules: list[Safeguard] = []
    disclosure = flow.disclosure
    if disclosure is not None and disclosure.k_anonymity is not None:
        rule, k = disclosure.k_anonymity, agreement.disclosure.k_anonymity
        text = (
            f"every combination of {', '.join(rule.quasi_identifiers)} covers at least {k} people"
        )
        if rule.l_diversity:
            text += f", with at least {rule.l_diversity} distinct values of {rule.sensitive}"
        rules.append(Safeguard("k_anonymity", text))
    if disclosure is not None and disclosure.small_cells is not None:
        cells, least = disclosure.small_cells, agreement.disclosure.min_cell_count
        text = (
            f"counts of {cells.count} by {', '.join(cells.dimensions)} below {least} are "
            "suppressed, with secondary suppression so that no total reveals them"
        )
        rules.append(Safeguard("small_cell_suppression", text))
    if flow.opt_out is not None:
        text = f"people in the register {flow.opt_out.register} are excluded from every input"
        rules.append(Safeguard("opt_out_register", text))
    return tuple(rules)
