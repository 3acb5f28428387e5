"""What the declarations alone say about the controls: the flows that would be halted on a date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pandas as pd

from pipelines.estate import Estate
from pipelines.policy.agreement import check_agreement, selection_tags
from pipelines.policy.identifiers import check_pseudonymisation
from pipelines.policy.minimisation import check_minimisation
from pipelines.policy.result import ControlResult

ColumnTags = Mapping[tuple[str, str], Iterable[str]]


def preview(estate: Estate, as_of: dt.date, tags: ColumnTags) -> list[tuple[str, ControlResult]]:
    """Every control outcome that fails on ``as_of`` from the declarations alone, by flow.

    Checks the agreement, minimisation against the output's declared columns, and direct
    identifiers leaving without identified sharing; the data checks need a run. ``tags`` maps
    (dataset, column) to the column's computed tags.
    """
    out: list[tuple[str, ControlResult]] = []
    for flow in estate.flows.values():
        columns = estate.datasets[flow.output].column_names
        output_tags = {c: list(tags[(flow.output, c)]) for c in columns}
        for result in (
            check_agreement(estate, flow, as_of, output_tags, selection_tags(flow, tags)),
            check_minimisation(estate, flow, columns),
            check_pseudonymisation(estate, flow, pd.DataFrame(), {}, output_tags),
        ):
            if not result.passed:
                out.append((flow.name, result))
    return out
