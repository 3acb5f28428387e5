"""A PostgreSQL source published to the same database: staged, validated and published there.

When a source is a SQL table or query in the database the run's
:class:`~dagster_project.warehouse_io.WarehouseIOManager` writes to (same host, port and
database), its rows never come into this process: they are cast to the declared types into the
hidden staging table (:func:`pipelines.warehouse.load.stage_query`), the quality gate runs on
that table through GX's SQL engine (:func:`expectations.sql_gate.run_sql_gate`, with the same
contract expectations and the same unreadable-value outcomes as the pandas gate), the volume
guard judges its row count, and the staged table is then published as a
:class:`~dagster_project.warehouse_io.StagedPublication` (record, swap, finish) or dropped.

Anything else (files, other databases, source column types the SQL casts do not cover, a suite
with expectations the SQL engine cannot run, a source the warehouse's user cannot read) takes
the pandas path; which one is logged and recorded as ``tagtrail/validated_in``. The source is
read with the warehouse's credentials, not those in the source's ``url_env``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg import sql

from dagster_project import controls, gate
from dagster_project.halts import halt_message, halting_checks, report_halt
from dagster_project.lineage import AssetRun
from dagster_project.resources import TagtrailSettings, volume_of
from dagster_project.sensors import FINGERPRINT
from dagster_project.warehouse_io import StagedPublication, WarehouseIOManager
from expectations import ExpectationOutcome, GateResult
from expectations.sql_gate import SQL_UNSUPPORTED, run_sql_gate
from lineage.control_facets import ControlsReport
from pipelines.estate import Estate
from pipelines.extracts import ContractError, conform
from pipelines.manifest import SqlSource
from pipelines.policy.result import VOLUME, not_evaluated
from pipelines.sources import fingerprint
from pipelines.taxonomy import is_personal
from pipelines.warehouse import Warehouse
from pipelines.warehouse.load import Loaded, Unreadable, identify, source_types, stage_query
from pipelines.warehouse.load import unsupported as unsupported_types
from pipelines.warehouse.names import server_of

VALIDATED_IN = "tagtrail/validated_in"


@dataclass(frozen=True)
class InDatabase:
    """A source to stage and validate inside the warehouse's database."""

    estate: Estate
    name: str
    warehouse: Warehouse
    relation: sql.Composable
    types: dict[str, str]

    def materialize(
        self,
        context: dg.AssetExecutionContext,
        run: AssetRun,
        provenance: dict[str, Any],
        output: str,
    ) -> Iterator[Any]:
        """The asset's check results, then its output (a staged publication) or its halt: what
        the pandas source path yields, with the same events."""
        estate, name = self.estate, self.name
        ds = estate.datasets[name]
        settings: TagtrailSettings = context.resources.settings
        loaded: Loaded | None = None
        try:
            contract = self._contract_failure()
            if contract is not None:
                result = contract
                volume = not_evaluated(
                    VOLUME, controls.DESCRIPTIONS[VOLUME], "the delivery could not be read"
                )
            else:
                loaded = self._stage(ds.name)
                result = self._gate(loaded)
                volume = volume_of(context, estate, name, loaded.staged.rows)
            report = ControlsReport(settings.reference_date(), (volume,))
            yield from (controls.check_result(r) for r in report.results if r.evaluated)
            yield from gate.check_results(result)
            halting = list(report.halting)
            if loaded is None or not result.passed or halting:
                if loaded is not None:
                    loaded.staged.close()
                message = halt_message(name, result, halting)
                run.emit("FAIL", gate=result, error_message=message, controls=report)
                context.log.error(f"{name}: held back. {message}")
                report_halt(context, estate, name, halting_checks(result, halting))
                return
            identify(loaded.staged, ds)
        except BaseException:
            if loaded is not None:
                loaded.staged.close()
            raise
        rows = loaded.staged.rows
        yield dg.Output(
            _publication(run, loaded, result, report),
            output_name=output,
            metadata={
                **provenance,
                **self._seen(context),
                VALIDATED_IN: "database",
                "dagster/row_count": rows,
                "tagtrail/rows_in": rows,
            },
        )

    def _contract_failure(self) -> GateResult | None:
        """A query's columns must be the declared ones (a table's extra columns are ignored)."""
        if _is_table(self.name, self.estate):
            return None  # its declared columns are read, and _choose checked they are there
        ds = self.estate.datasets[self.name]
        try:
            conform(pd.DataFrame({n: pd.Series([], dtype=object) for n in self.types}), ds)
        except ContractError as exc:
            return gate.contract_failure(self.estate.suites[self.name], str(exc))
        return None

    def _stage(self, dataset: str) -> Loaded:
        ds = self.estate.datasets[dataset]
        try:
            return stage_query(
                self.warehouse,
                self.estate.dataset_owner[dataset],
                ds,
                self.relation,
                self.types,
                max_keys=gate.MAX_KEYS,
            )
        except psycopg.Error as exc:
            transient = isinstance(exc, psycopg.OperationalError)
            # server messages can quote the values that failed: only the code is shown
            raise dg.Failure(
                description=f"source '{dataset}' could not be staged in the warehouse "
                f"({self.warehouse.server}): {type(exc).__name__}, SQLSTATE "
                f"{exc.sqlstate or 'none'}; nothing was published",
                metadata={"tagtrail/source_error": "transient" if transient else "terminal"},
            ) from None

    def _gate(self, loaded: Loaded) -> GateResult:
        """The pandas gate's result, computed on the staging table."""
        ds = self.estate.datasets[self.name]
        tagged = [c.name for c in ds.columns if any(is_personal(t) for t in c.tags)]
        staged = loaded.staged
        result = run_sql_gate(
            self.warehouse.url,
            staged.schema,
            sa.quoted_name(staged.table, quote=True),
            gate.with_contract(self.estate.suites[self.name], ds),
            primary_key=ds.primary_key,
            tagged_columns=tagged,
            max_failing_keys=gate.MAX_KEYS,
        )
        typing = tuple(
            _type_outcome(self.estate, self.name, u, staged.rows) for u in loaded.unreadable
        )
        return dataclasses.replace(result, outcomes=(*typing, *result.outcomes))

    def _seen(self, context: dg.AssetExecutionContext) -> dict[str, str]:
        """The source fingerprint, where it costs no read of the rows (an ``updated_column``)."""
        source = self.estate.sources[self.name].sql
        if source is None or source.updated_column is None:
            return {}
        settings: TagtrailSettings = context.resources.settings
        extracts = settings.extracts_folder(self.estate)
        return {FINGERPRINT: fingerprint(self.estate, self.name, extracts)}


def in_database(context: dg.AssetExecutionContext, estate: Estate, name: str) -> InDatabase | None:
    """How to validate source ``name`` in the database, or None for the pandas path; logs which
    path it takes and why."""
    choice = _choose(context, estate, name)
    if isinstance(choice, InDatabase):
        context.log.info(
            f"{name}: staged and validated inside the database ({choice.warehouse.server})"
        )
        return choice
    context.log.info(f"{name}: validated in pandas ({choice})")
    return None


def _choose(context: dg.AssetExecutionContext, estate: Estate, name: str) -> InDatabase | str:
    source = estate.sources[name].sql
    if source is None:
        return "a file source"
    io_manager = getattr(context.resources, "io_manager", None)
    if not isinstance(io_manager, WarehouseIOManager):
        return "datasets are not published to a PostgreSQL warehouse"
    raw = os.environ.get(source.url_env, "").strip()
    try:
        url = sa.make_url(raw)
    except (sa.exc.ArgumentError, ValueError):
        return f"${source.url_env} is not set to a SQLAlchemy URL"
    if url.get_backend_name() != "postgresql":
        return "the source is not in PostgreSQL"
    warehouse = io_manager.warehouse()
    if server_of(url) != warehouse.server:
        return "the source is in another database than the warehouse"
    suite = estate.suites[name]
    refused = sorted({e["type"] for e in suite.expectations if e["type"] in SQL_UNSUPPORTED})
    if refused:
        return f"its suite uses {', '.join(refused)}, which the database cannot run"
    relation = _relation(source)
    try:
        types = source_types(warehouse, relation)
    except psycopg.Error as exc:
        return f"the warehouse's user cannot read the source here ({type(exc).__name__})"
    ds = estate.datasets[name]
    if source.table is not None and any(c not in types for c in ds.column_names):
        return "the table lacks declared columns"
    if source.table is not None or set(types) == set(ds.column_names):
        reason = unsupported_types(ds, types)
        if reason is not None:
            return reason
    return InDatabase(estate, name, warehouse, relation, types)


def _relation(source: SqlSource) -> sql.Composable:
    if source.table is not None:
        parts = [p for p in (source.schema_name, source.table) if p]
        return sql.Identifier(*parts)
    return sql.SQL("({}\n)").format(sql.SQL(str(source.statement)))  # a query may end in a comment


def _is_table(name: str, estate: Estate) -> bool:
    source = estate.sources[name].sql
    return source is not None and source.table is not None


def _type_outcome(
    estate: Estate, name: str, unreadable: Unreadable, rows: int
) -> ExpectationOutcome:
    """As :func:`dagster_project.gate.evaluate` reports a column with unreadable values."""
    kind = estate.datasets[name].column(unreadable.column).type.value
    return ExpectationOutcome(
        expectation_type="tagtrail_declared_type",
        column=unreadable.column,
        severity="critical",
        success=False,
        description=f"{unreadable.column} values must be readable as {kind}",
        element_count=rows,
        unexpected_count=unreadable.count,
        unexpected_percent=100.0 * unreadable.count / max(rows, 1),
        failing_keys=unreadable.keys,
        observed_value=None,
        rule={"type_": kind},
        exception=None,
    )


def _publication(
    run: AssetRun, loaded: Loaded, result: GateResult, report: ControlsReport
) -> StagedPublication:
    """The staged version, recorded by this run's COMPLETE event before it is swapped in (the
    event :meth:`AssetRun.publication` makes for a frame of the same row count)."""
    rows = loaded.staged.rows

    def record(path: str, staged: str, sha256: str) -> int:
        event = run.event(
            "COMPLETE",
            gate=result,
            row_count=rows,
            lifecycle="OVERWRITE",
            controls=report,
            version=sha256,
        )
        return run.emitter.record_publication(event, path=path, staged=staged, sha256=sha256)

    return StagedPublication(loaded.staged, record, run.emitter.finish_publication)
