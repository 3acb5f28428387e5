"""The SQL controls give the pandas controls' verdicts, counts and keys on the same data.

Random frames (hypothesis) are loaded into a scratch PostgreSQL schema with their columns' types,
and each SQL control is compared with its pandas control on the frame. Needs TAGTRAIL_TEST_PG_URL.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.model import (
    Agreement,
    Disclosure,
    Flow,
    FlowDisclosure,
    KAnonymityRule,
    SmallCellRule,
)
from pipelines.policy.disclosure import audit_suppression, suppress, tabulate
from pipelines.policy.disclosure_check import check_disclosure
from pipelines.policy.linkage import People, Pseudonyms
from pipelines.policy.optout import Exclusion, OptedOut, check_opt_outs, register_version
from pipelines.policy.recognise import SCHEMES
from pipelines.policy.retention import apply_retention, check_retention
from pipelines.policy.sql_checks import (
    SqlControlError,
    TableRef,
    check_disclosure_sql,
    check_opt_outs_sql,
    check_retention_sql,
    retention_purge_sql,
    small_cells_sql,
)

PG_SKIP = (
    "set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run the "
    "SQL control tests"
)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def pg() -> Iterator[tuple[sa.Engine, str]]:
    url = os.environ.get("TAGTRAIL_TEST_PG_URL")
    if not url:
        pytest.skip(PG_SKIP)
    engine = sa.create_engine(url)
    schema = f"tt_ctl_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield engine, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def load(pg: tuple[sa.Engine, str], name: str, frame: pd.DataFrame, **types: Any) -> TableRef:
    engine, schema = pg
    with engine.begin() as conn:
        frame.to_sql(name, conn, schema=schema, index=False, if_exists="replace", dtype=types)
    return TableRef(schema, name)


# --- opt-outs ---------------------------------------------------------------------------------

SEPARATORS = st.sampled_from(["", " ", "-", ".", "/", "\t", "  "])


def written(scheme: str, value: str, draw: Any) -> str:
    """``value`` as someone might write it: separators, spacing, case."""
    if scheme == "email":
        cased: str = draw(st.sampled_from([value, value.upper(), value.title()]))
        before: str = draw(st.sampled_from(["", " ", "\t"]))
        return before + cased + str(draw(st.sampled_from(["", " "])))
    cut = [3, 6] if scheme == "nhs_number" else [2, 4, 6, 8]
    parts = [value[a:b] for a, b in zip([0, *cut], [*cut, None], strict=True)]
    out = parts[0]
    for part in parts[1:]:
        out += draw(SEPARATORS) + part
    return str(draw(st.sampled_from([out, out.lower()])))


def identifier(scheme: str, i: int) -> str:
    if scheme == "nhs_number":
        return f"999{i:07d}"
    if scheme == "ni_number":
        return f"NC{i % 1_000_000:06d}{'ABCD'[i % 4]}"
    return f"person.{i}@example.org"


@st.composite
def opt_out_case(draw: Any) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    scheme = draw(st.sampled_from(["nhs_number", "ni_number", "email"]))
    people = draw(st.lists(st.integers(0, 60), min_size=0, max_size=25, unique=True))
    register = pd.DataFrame(
        {
            "opt_out_id": [f"OO{i:03d}" for i in range(len(people))],
            "identifier": [written(scheme, identifier(scheme, p), draw) for p in people],
        },
        dtype="string",
    )
    n = draw(st.integers(1, 40))
    values: list[str | None] = []
    for _ in range(n):
        who = draw(st.integers(0, 80))
        values.append(draw(st.sampled_from([written(scheme, identifier(scheme, who), draw), None])))
    output = pd.DataFrame(
        {
            "record_id": [f"R{i:04d}" for i in range(n)],
            "person_id": values,
            "service": draw(st.lists(st.sampled_from(["home", "day"]), min_size=n, max_size=n)),
        },
        dtype="string",
    )
    return scheme, register, output


@SETTINGS
@given(case=opt_out_case())
def test_opt_outs_in_sql_match_the_pandas_check(
    pg: tuple[sa.Engine, str], case: tuple[str, pd.DataFrame, pd.DataFrame]
) -> None:
    scheme, register, output = case
    reg_ref, out_ref = load(pg, "register", register), load(pg, "output", output)
    opted = OptedOut(
        People.seed(register["identifier"], SCHEMES[scheme]),
        Pseudonyms.of(pd.DataFrame({"form": [], "person": []}), None),
    )
    version = register_version(register, ["opt_out_id"])
    exclusion = Exclusion("register", version, opted.people.count, "output.person_id", 0, 0)
    flow = cast(Flow, SimpleNamespace(name="output"))
    expected = check_opt_outs(flow, output, opted, exclusion, ["record_id"])
    with pg[0].connect() as conn:
        got = check_opt_outs_sql(
            conn,
            out_ref,
            ["record_id"],
            ["person_id"],
            reg_ref,
            "identifier",
            scheme,
            register_primary_key=["opt_out_id"],
        )
    assert (got.passed, got.row_keys, got.findings) == (
        expected.passed,
        expected.row_keys,
        expected.findings,
    )
    for count in ("register_version", "register_size", "opted_out_rows_in_output"):
        assert got.counts[count] == expected.counts[count], count


# --- k-anonymity and l-diversity --------------------------------------------------------------

TEXT = st.sampled_from(["a", "b", " a", "b ", "Ä", "z", None])
INTEGER = st.sampled_from([0, 1, 2, 10, -3, None])
FLOAT = st.sampled_from([0.0, 1.0, 1.5, 0.1, 2.0, -0.5, 1e20, None])
BOOLEAN = st.sampled_from([True, False, None])
DATE = st.sampled_from([dt.date(2026, 1, 1), dt.date(1999, 12, 31), None])
COLUMNS: dict[str, tuple[Any, str, Any]] = {
    "t": (TEXT, "string", sa.Text),
    "i": (INTEGER, "Int64", sa.BigInteger),
    "f": (FLOAT, "Float64", sa.Float),
    "b": (BOOLEAN, "boolean", sa.Boolean),
    "d": (DATE, "datetime64[ms]", sa.Date),
}


@st.composite
def record_frame(draw: Any) -> tuple[pd.DataFrame, list[str], bool]:
    n = draw(st.integers(0, 60))
    qis = draw(st.lists(st.sampled_from(list(COLUMNS)), min_size=1, max_size=3, unique=True))
    data: dict[str, Any] = {}
    for name in qis:
        strategy, dtype, _ = COLUMNS[name]
        values = draw(st.lists(strategy, min_size=n, max_size=n))
        data[name] = pd.Series(values, dtype="object").astype(dtype)
    data["person"] = pd.Series(
        draw(st.lists(st.sampled_from(["p1", "p2", "p3", " p1", None]), min_size=n, max_size=n)),
        dtype="string",
    )
    data["diagnosis"] = pd.Series(
        draw(st.lists(st.sampled_from(["x", "y", "z", None]), min_size=n, max_size=n)),
        dtype="string",
    )
    return pd.DataFrame(data), qis, draw(st.booleans())


@SETTINGS
@given(case=record_frame(), k=st.integers(1, 4), l=st.integers(2, 3), ldiv=st.booleans())
def test_k_anonymity_and_l_diversity_in_sql_match_pandas(
    pg: tuple[sa.Engine, str],
    case: tuple[pd.DataFrame, list[str], bool],
    k: int,
    l: int,  # noqa: E741
    ldiv: bool,
) -> None:
    frame, qis, by_person = case
    types = {q: COLUMNS[q][2] for q in qis} | {"person": sa.Text, "diagnosis": sa.Text}
    ref = load(pg, "records", frame, **types)
    rule = KAnonymityRule(
        quasi_identifiers=tuple(qis),
        unit="person" if by_person else None,
        sensitive="diagnosis" if ldiv else None,
        l_diversity=l if ldiv else None,
    )
    flow = cast(Flow, SimpleNamespace(name="f", disclosure=FlowDisclosure(k_anonymity=rule)))
    agreement = cast(Agreement, SimpleNamespace(disclosure=Disclosure(k_anonymity=max(k, 2))))
    expected = check_disclosure(flow, agreement, frame)
    with pg[0].connect() as conn:
        got = check_disclosure_sql(conn, ref, flow, agreement)
    assert got == expected


# --- small cells ------------------------------------------------------------------------------


@SETTINGS
@given(
    sizes=st.lists(st.integers(1, 40), min_size=4, max_size=12),
    threshold=st.integers(2, 10),
    tamper=st.lists(st.integers(0, 200), max_size=3),
    shown=st.integers(1, 9),
)
def test_small_cells_in_sql_match_the_pandas_audit(
    pg: tuple[sa.Engine, str], sizes: list[int], threshold: int, tamper: list[int], shown: int
) -> None:
    rng = np.random.default_rng(sum(sizes))
    people = pd.DataFrame(
        {
            "district": rng.choice(["TT1", "TT2", "TT3"], size=sum(sizes)),
            "band": np.repeat([f"B{i % 4}" for i in range(len(sizes))], sizes),
        }
    )
    dims = ["district", "band"]
    counts = tabulate(people, dims, count_column="people")
    table = suppress(counts, dims, threshold, count_column="people").table
    table["people"] = table["people"].astype("Int64")
    for i in tamper:  # show a small count, sometimes while still flagged suppressed
        table.loc[i % len(table), "people"] = min(shown, threshold)
    ref = load(pg, "table", table, people=sa.BigInteger, suppressed=sa.Boolean)
    rule = SmallCellRule(count="people", dimensions=tuple(dims))
    flow = cast(Flow, SimpleNamespace(name="t", disclosure=FlowDisclosure(small_cells=rule)))
    agreement = cast(Agreement, SimpleNamespace(disclosure=Disclosure(min_cell_count=threshold)))
    with pg[0].connect() as conn:
        assert check_disclosure_sql(conn, ref, flow, agreement) == check_disclosure(
            flow, agreement, table
        )
        got = small_cells_sql(conn, ref, rule, threshold, max_groups=1000)
    audit = audit_suppression(
        table, dims, threshold, count_column="people", additive=False, max_groups=1000
    )
    below = [g for g in audit.failing_groups if str(g["reason"]).startswith("below threshold")]
    assert got.passed == (audit.unsafe_cells == 0)
    assert got.counts["unsafe_cells"] == audit.unsafe_cells == len(below)
    key = sorted
    assert key(map(str, got.groups)) == key(map(str, below))


# --- retention --------------------------------------------------------------------------------

DATES = st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31)))


@SETTINGS
@given(
    dates=st.lists(DATES, min_size=0, max_size=40),
    stored_share=st.integers(0, 3),
    period=st.sampled_from(["P1Y", "P6M", "P2Y6M", "P30D"]),
    zoned=st.booleans(),
)
def test_retention_in_sql_matches_pandas(
    pg: tuple[sa.Engine, str],
    dates: list[dt.date | None],
    stored_share: int,
    period: str,
    zoned: bool,
) -> None:
    as_of = dt.date(2026, 11, 1)
    frame = pd.DataFrame(
        {
            "record_id": pd.Series([f"R{i:03d}" for i in range(len(dates))], dtype="string"),
            "seen": pd.Series(dates, dtype="object").astype("datetime64[ms]"),
        }
    )
    agreement = cast(
        Agreement,
        SimpleNamespace(
            id="DSA-1",
            retention=SimpleNamespace(date_column="seen", period=period, disposal="deletion"),
        ),
    )
    stored = frame.iloc[:: stored_share + 1][["record_id"]]
    kind = sa.DateTime(timezone=True) if zoned else sa.Date
    ref = load(pg, "dated", frame, seen=kind)
    stored_ref = load(pg, "stored", stored)
    kept, purge = apply_retention(frame, agreement, ["record_id"], as_of, stored)
    with pg[0].begin() as conn:
        if zoned:
            conn.execute(sa.text("SET LOCAL TIME ZONE 'America/New_York'"))
        got = retention_purge_sql(conn, ref, agreement, ["record_id"], as_of, stored_ref)
        assert got == purge
        assert check_retention_sql(conn, ref, got) == check_retention(frame, purge)
        kept_ref = load(pg, "kept", kept, seen=sa.Date)
        assert check_retention_sql(conn, kept_ref, got) == check_retention(kept, purge)


def test_a_missing_table_or_column_is_named(pg: tuple[sa.Engine, str]) -> None:
    ref = load(pg, "plain", pd.DataFrame({"record_id": ["R1"], "seen": ["2026-01-01"]}))
    rule = SmallCellRule(count="people", dimensions=("district",))
    with pg[0].connect() as conn:
        with pytest.raises(SqlControlError, match=r"\.nowhere does not exist"):
            small_cells_sql(conn, TableRef(pg[1], "nowhere"), rule, 10)
        with pytest.raises(SqlControlError, match="no column 'district'"):
            small_cells_sql(conn, ref, rule, 10)
        agreement = cast(
            Agreement,
            SimpleNamespace(
                id="A",
                retention=SimpleNamespace(date_column="seen", period="P1Y", disposal="deletion"),
            ),
        )
        with pytest.raises(SqlControlError, match="text column"):
            retention_purge_sql(conn, ref, agreement, ["record_id"], dt.date(2026, 1, 1))
