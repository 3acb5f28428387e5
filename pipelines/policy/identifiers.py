"""Pseudonymisation: direct identifiers leave their department only as keyed-hash pseudonyms.

Two checks. From the computed tags: no output column may still carry ``person.id.direct`` unless
the agreement permits identified sharing. From the data (:mod:`pipelines.policy.recognise`): no
other output column may hold an input's direct identifier in any form (other separators, case,
whitespace, a number instead of text), inside free text, or as an unkeyed digest (MD5, SHA-1,
SHA-256, SHA-512; hex or base64; whole or a 16+ hex prefix), nor any value *valid* in a scheme the
inputs' identifiers use (an NHS number with a good check digit, a National Insurance number, an
e-mail address), which catches a transform that forgot to hash whatever the declarations say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from pipelines.estate import Estate
from pipelines.model import Flow
from pipelines.policy.issued import Issued
from pipelines.policy.recognise import SCHEMES, Known, Scheme, learn, search
from pipelines.policy.result import PSEUDONYMISATION, ControlResult, row_keys

DIRECT = "person.id.direct"


def check_pseudonymisation(
    estate: Estate,
    flow: Flow,
    output: pd.DataFrame,
    inputs: Mapping[str, pd.DataFrame],
    output_tags: Mapping[str, Iterable[str]],
    *,
    issued: Issued | None = None,
    max_keys: int = 20,
) -> ControlResult:
    """Check that no direct identifier leaves ``flow.owner`` in the clear (see module docstring).

    Values in ``issued`` (the keyed pseudonyms this run's context returned) are not searched.
    """
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
    known, schemes, columns_in = known_identifiers(estate, flow.transform_inputs, inputs)
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
        found = search(output[col], known, schemes, issued=issued)
        shaped = np.zeros(len(output), dtype=bool)
        for mask in found.shaped.values():
            shaped |= mask
        hit = found.any
        if not hit.any():
            continue
        kinds = {
            "identifier_values": found.known,
            "identifier_shaped": shaped & ~found.known,
            "identifier_in_text": found.embedded & ~found.known & ~shaped,
            "identifier_digests": found.digest,
        }
        described = [
            f"{int(mask.sum())} {_WORDS[kind]}" for kind, mask in kinds.items() if mask.any()
        ]
        labels = [SCHEMES[name].label for name, mask in found.shaped.items() if mask.any()]
        schemes_seen = f" ({', '.join(labels)})" if labels else ""
        findings.append(f"column {col} holds {', '.join(described)}{schemes_seen}")
        counts |= {f"{col}.{kind}": int(mask.sum()) for kind, mask in kinds.items()}
        flagged[str(col)] = pd.Series(hit, index=output.index)
        offending |= flagged[str(col)]
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


_WORDS = {
    "identifier_values": "value(s) equal to an input identifier",
    "identifier_shaped": "value(s) shaped like an identifier",
    "identifier_in_text": "value(s) with an identifier inside text",
    "identifier_digests": "unkeyed digest(s) of an input identifier",
}


def known_identifiers(
    estate: Estate, datasets: Iterable[str], inputs: Mapping[str, pd.DataFrame]
) -> tuple[Known, tuple[Scheme, ...], int]:
    """The direct identifiers of ``datasets`` (normalised), their schemes, and the column count.

    A column's scheme is the one it declares (``identifier:``), else the one most of its values
    belong to; a column with none is searched for by value.
    """
    known = Known()
    schemes: list[Scheme] = []
    columns = 0
    for name in datasets:
        frame = inputs.get(name)
        if frame is None:
            continue
        for column in estate.datasets[name].columns:
            if DIRECT not in column.tags or column.name not in frame.columns:
                continue
            columns += 1
            values = frame[column.name]
            scheme = SCHEMES[column.identifier] if column.identifier else learn(values)
            known.add(values, scheme)
            if scheme is not None and scheme not in schemes:
                schemes.append(scheme)
    return known, tuple(schemes), columns
