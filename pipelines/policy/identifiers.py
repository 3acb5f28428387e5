"""Pseudonymisation: direct identifiers leave their department only as keyed-hash pseudonyms.

Two checks. From the computed tags: no output column may still carry ``person.id.direct`` unless
the agreement permits identified sharing. From the data: no other output column may hold a value
of an input's direct identifier, or a value *shaped* like one (an NHS number with a valid check
digit, a National Insurance number, an e-mail address), which catches a transform that forgot to
hash whatever the declarations say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from expectations.nhs import is_valid_nhs_number
from pipelines.estate import Estate
from pipelines.model import Flow
from pipelines.policy.result import PSEUDONYMISATION, ControlResult, row_keys

DIRECT = "person.id.direct"
MIN_SEARCHED_LENGTH = 6
LEARN_SHARE = 0.5


@dataclass(frozen=True)
class Shape:
    """A recognisable identifier format."""

    name: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None

    def matches(self, values: pd.Series) -> pd.Series:
        """Which (string) values have this shape."""
        hit = values.str.fullmatch(self.pattern).fillna(False).astype(bool)
        if self.valid is not None and hit.any():
            hit[hit] = values[hit].map(self.valid)
        return hit


SHAPES: tuple[Shape, ...] = (
    Shape(
        "NHS number",
        re.compile(r"\d{3} ?\d{3} ?\d{4}"),
        lambda text: is_valid_nhs_number(text.replace(" ", "")),
    ),
    Shape(
        "National Insurance number",
        re.compile(
            r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?(?:\d{2} ?){3}[A-D]"
        ),
    ),
    Shape("e-mail address", re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")),
)


def _text(values: pd.Series) -> pd.Series:
    return values.dropna().astype("string").str.strip()


def check_pseudonymisation(
    estate: Estate,
    flow: Flow,
    output: pd.DataFrame,
    inputs: Mapping[str, pd.DataFrame],
    output_tags: Mapping[str, Iterable[str]],
    *,
    max_keys: int = 20,
) -> ControlResult:
    """Check that no direct identifier leaves ``flow.owner`` in the clear (see module docstring)."""
    agr = estate.agreements.get(flow.agreement)
    identified_ok = bool(agr and agr.identified_sharing)
    direct_out = sorted(c for c, tags in output_tags.items() if DIRECT in set(tags))
    findings: list[str] = []
    if direct_out and not identified_ok:
        findings.append(
            f"column(s) {', '.join(direct_out)} carry direct identifiers out of '{flow.owner}', "
            f"but {flow.agreement} does not permit identified sharing; pseudonymise them "
            "(masking: keyed_hash)"
        )
    originals, shapes, columns_in = _originals(estate, flow, inputs)
    allowed = set(direct_out) if identified_ok else set()
    counts: dict[str, int | str] = {
        "direct_identifier_columns_in": columns_in,
        "identified_columns_out": len(direct_out),
    }
    offending = pd.Series(False, index=output.index)
    flagged: dict[str, pd.Series] = {}
    for col in output.columns:
        if col in allowed:
            continue
        values = output[col].astype("string").str.strip()
        exact = values.isin(originals) if len(originals) else pd.Series(False, index=values.index)
        shaped = pd.Series(False, index=values.index)
        for shape in shapes:
            shaped |= shape.matches(values)
        exact, shaped = exact.fillna(False).astype(bool), shaped.fillna(False).astype(bool)
        if exact.any() or shaped.any():
            findings.append(
                f"column {col} holds {int(exact.sum())} value(s) equal to an input identifier "
                f"and {int(shaped.sum())} shaped like one ({', '.join(s.name for s in shapes)})"
            )
            counts[f"{col}.identifier_values"] = int(exact.sum())
            counts[f"{col}.identifier_shaped"] = int(shaped.sum())
            flagged[str(col)] = exact | shaped
            offending |= exact | shaped
    pk = list(estate.datasets[flow.output].primary_key)
    keys = row_keys(output, offending, pk, flagged, max_keys)
    counts["rows_with_identifiers"] = int(offending.sum())
    rule = f"direct identifiers leave '{flow.owner}' only as keyed-hash pseudonyms" + (
        f" ({flow.agreement} permits identified sharing of: {', '.join(direct_out)})"
        if allowed
        else ""
    )
    return ControlResult(
        control=PSEUDONYMISATION,
        passed=not findings,
        rule=rule,
        summary="; ".join(findings)
        if findings
        else f"no identifier values or identifier-shaped values in {len(output)} rows",
        findings=tuple(findings),
        counts=counts,
        row_keys=keys,
    )


def _originals(
    estate: Estate, flow: Flow, inputs: Mapping[str, pd.DataFrame]
) -> tuple[set[str], Sequence[Shape], int]:
    """The inputs' direct-identifier values worth searching for, their shapes, and column count."""
    values: set[str] = set()
    shapes: list[Shape] = []
    columns = 0
    for name in flow.transform_inputs:
        frame = inputs.get(name)
        if frame is None:
            continue
        for column in estate.datasets[name].columns:
            if DIRECT not in column.tags or column.name not in frame.columns:
                continue
            columns += 1
            text = _text(frame[column.name])
            values.update(v for v in text.unique() if len(v) >= MIN_SEARCHED_LENGTH)
            if len(text):
                shapes += [
                    s for s in SHAPES if s not in shapes and s.matches(text).mean() >= LEARN_SHARE
                ]
    return values, shapes, columns
