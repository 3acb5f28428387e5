"""Which privacy controls a dataset must pass, and what each one checks, in words.

Shared by the Dagster asset checks, the record of processing and the explorer, so every view of
a flow names the same safeguards.
"""

from __future__ import annotations

from pipelines.estate import Estate
from pipelines.policy.result import (
    AGREEMENT_IN_FORCE,
    DISCLOSURE_CONTROL,
    MINIMISATION,
    OPT_OUTS,
    PSEUDONYMISATION,
    RETENTION,
    VOLUME,
)

DESCRIPTIONS: dict[str, str] = {
    VOLUME: "The dataset is not empty and has not lost more rows than its rule allows since the "
    "version it replaces (an opt-out register may lose only a small share); a person may "
    "acknowledge an expected change for one run.",
    AGREEMENT_IN_FORCE: "The flow's data-sharing agreement exists, names both departments, is in "
    "force on the reference date, is not overdue for review, permits the purpose and gives the "
    "Art. 9/10 condition for special-category or criminal data.",
    MINIMISATION: "Every output column is declared and permitted by the agreement's data items.",
    PSEUDONYMISATION: "No direct identifier leaves its department except as a keyed-hash "
    "pseudonym (unless the agreement permits identified sharing), and no output value equals or "
    "looks like an input identifier.",
    DISCLOSURE_CONTROL: "k-anonymity (and l-diversity) of a record-level extract, or safe "
    "primary and secondary suppression of a published table.",
    RETENTION: "Rows past the agreement's retention period are purged before storing; none "
    "remain and every row has a retention date.",
    OPT_OUTS: "People in the opt-out register are excluded and none remain in the output.",
}


def applicable(estate: Estate, dataset: str) -> tuple[str, ...]:
    """The controls ``dataset`` must pass: the volume guard, and for a flow's output its privacy
    controls."""
    flow = estate.producer(dataset)
    if flow is None:
        return (VOLUME,)
    names = [AGREEMENT_IN_FORCE, MINIMISATION, VOLUME, PSEUDONYMISATION]
    if flow.disclosure is not None:
        names.append(DISCLOSURE_CONTROL)
    agr = estate.agreements.get(flow.agreement)
    if agr is not None and agr.retention.date_column:
        names.append(RETENTION)
    if flow.opt_out is not None:
        names.append(OPT_OUTS)
    return tuple(names)
