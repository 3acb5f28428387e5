"""The publication gate inside the database: a suite run on a table by GX's SQL engine.

:func:`run_sql_gate` is :func:`expectations.gate.run_gate` for a table that already lives in
PostgreSQL (or another SQLAlchemy database): Great Expectations' SQL datasource validates a
whole-table batch, so each expectation is an aggregate query and only counts and up to
``max_failing_keys`` primary keys per expectation leave the database. The outcome is the same
:class:`~expectations.results.GateResult`, reduced by the same allow-list
(:func:`expectations.redact.build_outcome`). The NHS-number expectation runs as a SQL expression
(:mod:`expectations.sql_nhs`).

GX's SQL engine reads failing keys with one ``LIMIT`` query per expectation (two, with the
unexpected values it fetches and the gate drops), which scans the whole table when nothing fails.
So the suite runs twice: first with no keys asked for (``LIMIT 0`` costs nothing), then only the
expectations that counted failing rows, for their keys. A table has no row order: the failing
keys are the first rows the database's scan yields (for a table written in one go and not updated
since, its insertion order), not sorted.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from expectations.results import GateResult
from expectations.sql_rules import SQL_RULES, run_sql_rules
from expectations.suite import Suite, SuiteError

if TYPE_CHECKING:
    from great_expectations.data_context.data_context.abstract_data_context import (
        AbstractDataContext,
    )

_lock = threading.Lock()

# No SQLAlchemy provider in GX 1.x (or, for the type checks, type names that differ from pandas'):
# a suite using them is refused up front rather than failing each run with an exception.
SQL_UNSUPPORTED: dict[str, str] = {
    "expect_column_values_to_be_increasing": "a table has no row order",
    "expect_column_values_to_be_decreasing": "a table has no row order",
    "expect_column_values_to_be_dateutil_parseable": "GX has no SQL version",
    "expect_column_values_to_be_json_parseable": "GX has no SQL version",
    "expect_column_values_to_match_json_schema": "GX has no SQL version",
    "expect_column_values_to_match_strftime_format": "GX has no SQL version",
    "expect_column_values_to_be_of_type": "SQL type names differ from pandas dtypes",
    "expect_column_values_to_be_in_type_list": "SQL type names differ from pandas dtypes",
}


class SqlGateError(ValueError):
    """The table to validate is missing or unusable (named with its schema)."""


def run_sql_gate(
    database: sa.Engine | sa.URL | str,
    schema: str | None,
    table: str,
    suite: Suite,
    *,
    primary_key: Sequence[str],
    tagged_columns: Collection[str] = (),
    max_failing_keys: int = 20,
) -> GateResult:
    """Validate ``schema.table`` in ``database`` against ``suite`` where the data lives.

    ``database`` is an engine or a SQLAlchemy URL (its credentials go only to GX's in-memory
    datasource). Failing rows are reported by ``primary_key`` only, at most ``max_failing_keys``
    an expectation; expectations on ``tagged_columns`` keep no observed values and no
    value-revealing rule kwargs, as in the pandas gate.

    Raises SqlGateError when the table or a key column is missing, ValueError for unusable
    arguments (as :func:`~expectations.gate.run_gate`), SuiteError if GX rejects an expectation
    or the suite uses one the database cannot run (:data:`SQL_UNSUPPORTED`).
    """
    from expectations.redact import build_outcome
    from expectations.runtime import build_expectations

    refused = [
        f"expectations[{i}] ({exp['type']}: {SQL_UNSUPPORTED[exp['type']]})"
        for i, exp in enumerate(suite.expectations)
        if exp["type"] in SQL_UNSUPPORTED
    ]
    if refused:
        raise SuiteError(
            suite.path,
            f"{'; '.join(refused)} cannot run inside the database; validate "
            f"{_where(schema, table)} with the pandas gate, or drop these from the suite",
        )
    url = _url(database)
    columns = _table_columns(url, schema, table)
    keys = _check_primary_key(schema, table, columns, primary_key, tagged_columns)
    if max_failing_keys < 0:
        raise ValueError("max_failing_keys must be zero or more")
    built = build_expectations(suite)
    results: list[Any] = [None] * len(built)
    by_gx = [i for i, exp in enumerate(suite.expectations) if exp["type"] not in SQL_RULES]
    if by_gx:
        chosen = [built[i] for i in by_gx]
        found = _validate(url, schema, table, suite, chosen, keys, 0)
        again = [j for j, r in enumerate(found) if max_failing_keys and _unexpected(r)]
        if again:
            rebuilt = build_expectations(suite)  # GX binds an expectation to one suite
            more = [rebuilt[by_gx[j]] for j in again]
            keyed = _validate(url, schema, table, suite, more, keys, max_failing_keys)
            for j, result in zip(again, keyed, strict=True):
                found[j] = result
        for i, result in zip(by_gx, found, strict=True):
            results[i] = result
    if len(by_gx) < len(built):
        run_sql_rules(url, schema, table, columns, suite, results, keys, max_failing_keys)
    tagged = frozenset(tagged_columns)
    outcomes = tuple(
        build_outcome(
            expectation,
            result,
            primary_key=keys,
            tagged_columns=tagged,
            max_failing_keys=max_failing_keys,
        )
        for expectation, result in zip(suite.expectations, results, strict=True)
    )
    row_count = next((o.element_count for o in outcomes if o.element_count is not None), None)
    if row_count is None:
        row_count = _count_rows(url, schema, table)
    return GateResult(suite=suite, row_count=row_count, outcomes=outcomes)


def _url(database: sa.Engine | sa.URL | str) -> sa.URL:
    if isinstance(database, sa.Engine):
        return database.url
    return sa.make_url(database)


def _where(schema: str | None, table: str) -> str:
    return f"{schema}.{table}" if schema else table


def _table_columns(url: sa.URL, schema: str | None, table: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(table, schema=schema):
            raise SqlGateError(
                f"table {_where(schema, table)} does not exist in the database; the gate "
                "validates a dataset's table (schema = department, table = dataset) once it is "
                "written"
            )
        return [str(c["name"]) for c in inspector.get_columns(table, schema=schema)]
    finally:
        engine.dispose()


def _count_rows(url: sa.URL, schema: str | None, table: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(_table(schema, table)))
            return int(count.scalar_one())
    finally:
        engine.dispose()


def _table(schema: str | None, table: str) -> sa.TableClause:
    return sa.table(table, schema=schema)


def _check_primary_key(
    schema: str | None,
    table: str,
    columns: Sequence[str],
    primary_key: Sequence[str],
    tagged_columns: Collection[str],
) -> tuple[str, ...]:
    keys = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
    if not keys:
        raise ValueError("primary_key must name at least one column")
    if len(set(keys)) != len(keys):
        raise ValueError(f"primary_key repeats a column: {list(keys)}")
    missing = [key for key in keys if key not in columns]
    if missing:
        raise SqlGateError(
            f"primary_key columns {missing} are not in table {_where(schema, table)} "
            f"(its columns: {', '.join(columns)})"
        )
    tagged = [key for key in keys if key in tagged_columns]
    if tagged:
        raise ValueError(
            f"primary_key columns {tagged} are tagged as personal data; failing rows are "
            "reported by key, so use an untagged key (e.g. a record id or pseudonym)"
        )
    return keys


def _validate(
    url: sa.URL,
    schema: str | None,
    table: str,
    suite: Suite,
    expectations: list[Any],
    primary_key: Sequence[str],
    partial_count: int,
) -> list[Any]:
    """One GX ExpectationValidationResult per expectation, in the order given."""
    import great_expectations as gx

    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "unexpected_index_column_names": list(primary_key),
        "exclude_unexpected_values": True,
        "include_unexpected_rows": False,
        "return_unexpected_index_query": False,
        "partial_unexpected_count": partial_count,
    }
    name = f"tagtrail-sql-{suite.name}-{uuid.uuid4().hex}"
    with _lock:  # GX's metric registry is process-wide; one validation at a time
        context = _context()
        connection = url.render_as_string(hide_password=False)
        if url.get_backend_name() == "postgresql":
            source: Any = context.data_sources.add_postgres(
                name, connection_string=connection, create_temp_table=False
            )
        else:
            source = context.data_sources.add_sql(
                name, connection_string=connection, create_temp_table=False
            )
        try:
            asset = source.add_table_asset(name, table_name=table, schema_name=schema)
            batch = asset.add_batch_definition_whole_table(name)
            gx_suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=gx_suite)
            )
            run = definition.run(result_format=result_format)
        finally:
            _dispose(source)
    by_id = {r.expectation_config.id: r for r in run.results if r.expectation_config is not None}
    ids = [exp.id for exp in gx_suite.expectations]
    if len(ids) != len(expectations) or set(ids) != set(by_id):
        raise SuiteError(
            suite.path,
            f"Great Expectations returned {len(by_id)} results for "
            f"{len(expectations)} expectations on {_where(schema, table)}",
        )
    return [by_id[exp_id] for exp_id in ids]


def _unexpected(result: Any) -> bool:
    """Whether a GX result counted failing rows (whose keys a second pass then reads)."""
    return bool((result.result or {}).get("unexpected_count"))


def _dispose(source: Any) -> None:
    engine = getattr(source, "_engine", None)
    if isinstance(engine, sa.Engine):
        engine.dispose()
    execution_engine = getattr(source, "_execution_engine", None)
    inner = getattr(execution_engine, "engine", None)
    if isinstance(inner, sa.Engine):
        inner.dispose()


def _context() -> AbstractDataContext:
    """A fresh ephemeral GX context for one validation (nothing of it outlives the call)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    import expectations.sql_nhs  # noqa: F401  (registers the NHS check for the SQL engine)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context
