"""Cross-checks of a flow's ``partitions`` block: its column is a date column of the output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.model import ColumnType, _close, listing

if TYPE_CHECKING:
    from pipelines.estate import Estate

# A partition of a dataset in the warehouse is the table ``<dataset>__<yyyy_mm_dd>``.
MAX_PARTITIONED_NAME = 63 - len("__yyyy_mm_dd")


def check_partitions(estate: Estate, problems: list[str]) -> None:
    """Append a problem, naming file, line and field, for each unusable ``partitions`` block."""
    for flow in estate.flows.values():
        part = flow.partitions
        if part is None or flow.output not in estate.datasets:
            continue
        src = estate.declared_in[f"flow:{flow.name}"].file
        out = estate.datasets[flow.output]
        if not out.has_column(part.column):
            names = out.column_names
            problems.append(
                f"{src.where(('partitions', 'column'))}: the output '{flow.output}' has no "
                f"column '{part.column}'{_close(part.column, names)}; partition by one of its "
                f"date columns: {listing([c.name for c in out.columns if c.type is ColumnType.DATE]) or 'none declared'}"
            )
        elif out.column(part.column).type is not ColumnType.DATE:
            problems.append(
                f"{src.where(('partitions', 'column'))}: column '{part.column}' of "
                f"'{flow.output}' is a {out.column(part.column).type.value} column; a flow is "
                "partitioned by a date column of its output"
            )
        if len(flow.output) > MAX_PARTITIONED_NAME:
            problems.append(
                f"{src.where(('partitions',))}: a partitioned output's name has at most "
                f"{MAX_PARTITIONED_NAME} characters (each period is stored as "
                f"<dataset>__<period>); '{flow.output}' has {len(flow.output)}"
            )
