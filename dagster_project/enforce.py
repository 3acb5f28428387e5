"""One flow run with its privacy controls enforced, in order, before anything is stored.

1. ``agreement_in_force``: a flow outside its agreement does not run its transform at all.
2. The opt-out register is applied to the matched input before the transform sees it.
3. The transform runs; ``minimisation`` checks its columns before they are even typed.
4. The retention purge drops rows past the agreement's period and ``retention`` verifies it.
5. ``pseudonymisation``, ``disclosure_control`` and ``opt_outs`` check the output.
6. The quality gate validates it.

Anything that halts leaves the later controls "not evaluated" and nothing is written.

A partitioned flow's run publishes one period: stored periods past retention are disposed of
first, the transform runs on the whole inputs, and only the rows dated in the period go on to
the controls and the gate (see :mod:`dagster_project.partition_store`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from dagster_project import controls, gate
from dagster_project.partition_purge import purge_expired_periods
from dagster_project.partition_store import partition_name
from dagster_project.resources import PseudonymKey, TagtrailSettings, dataset_store, volume_of
from expectations import GateResult
from lineage.control_facets import ControlsReport
from lineage.facets import namespace
from lineage.propagation import Computed
from pipelines.estate import Estate
from pipelines.extracts import ContractError, conform
from pipelines.model import Agreement, Flow
from pipelines.partitions import expired, in_period, last_day
from pipelines.policy.agreement import check_agreement, selection_tags
from pipelines.policy.disclosure_check import check_disclosure
from pipelines.policy.identifiers import check_pseudonymisation
from pipelines.policy.minimisation import check_minimisation
from pipelines.policy.optout import (
    Exclusion,
    OptedOut,
    check_opt_outs,
    exclude,
    unpublished_register,
)
from pipelines.policy.result import (
    AGREEMENT_IN_FORCE,
    DISCLOSURE_CONTROL,
    MINIMISATION,
    OPT_OUTS,
    PSEUDONYMISATION,
    RETENTION,
    VOLUME,
    ControlResult,
    not_evaluated,
)
from pipelines.policy.retention import Purge, apply_retention, check_retention, cutoff
from pipelines.taxonomy import Masking
from pipelines.transform import MissingKeyError, TransformContext


@dataclass(frozen=True)
class FlowOutcome:
    """The frame to store (None when halted before a frame existed), gate and controls."""

    frame: pd.DataFrame | None
    gate: GateResult | None
    report: ControlsReport


class _Run:
    def __init__(
        self,
        context: dg.AssetExecutionContext,
        estate: Estate,
        computed: Computed,
        flow: Flow,
        inputs: Mapping[str, pd.DataFrame],
    ) -> None:
        self.context, self.estate, self.flow = context, estate, flow
        self.computed = computed
        self.inputs = dict(inputs)
        self.settings: TagtrailSettings = context.resources.settings
        self.as_of = self.settings.reference_date()
        self.partition = (
            context.partition_key if flow.partitions and context.has_partition_key else None
        )
        # The transform sees a period as of its last day; agreement and retention are judged
        # as of the run's own date, so a backfill never keeps what today's rules let go.
        self.period_as_of = (
            min(self.as_of, last_day(flow.partitions.period, self.partition))
            if flow.partitions and self.partition
            else self.as_of
        )
        self.agreement = estate.agreements.get(flow.agreement)
        self.dataset = estate.datasets[flow.output]
        self.tags = {c: computed[(flow.output, c)].tags for c in self.dataset.column_names}
        self.selected_by = selection_tags(flow, {k: v.tags for k, v in computed.items()})
        self.results: dict[str, ControlResult] = {}
        self.purge: Purge | None = None
        self.exclusion: Exclusion | None = None

    def outcome(self, frame: pd.DataFrame | None, gate_result: GateResult | None) -> FlowOutcome:
        halted_by = next((r.control for r in self.results.values() if r.halts), "")
        ordered = tuple(
            self.results.get(name)
            or not_evaluated(
                name, controls.DESCRIPTIONS[name], f"the flow was halted by {halted_by}"
            )
            for name in controls.applicable(self.estate, self.flow.output)
        )
        report = ControlsReport(self.as_of, ordered, self.purge, self.exclusion)
        return FlowOutcome(frame, gate_result, report)

    def halted(self) -> bool:
        return any(r.halts for r in self.results.values())

    def run(self) -> FlowOutcome:
        flow, ds = self.flow, self.dataset
        self.results[AGREEMENT_IN_FORCE] = check_agreement(
            self.estate, flow, self.as_of, self.tags, self.selected_by
        )
        if self.partition is not None:
            purge_expired_periods(self.context, self.estate, self.computed, flow, self.as_of)
            _refuse_expired(flow, self.agreement, self.partition, self.as_of)
        if self.halted():
            return self.outcome(None, None)
        ctx = self._context()
        register = self.inputs.get(flow.opt_out.register) if flow.opt_out else None
        inputs = self.inputs
        pseudonymise = ctx.pseudonymise if ctx.has_key else None
        opted: OptedOut | None = None
        if flow.opt_out and register is not None:
            reg_pk = self.estate.datasets[flow.opt_out.register].primary_key
            inputs, self.exclusion, opted = exclude(self.estate, flow, inputs, reg_pk, pseudonymise)
        given = {d: inputs[d] for d in flow.transform_inputs}
        raw = _transform(self.estate, flow, ctx, given)
        if flow.partitions and self.partition and flow.partitions.column in raw.columns:
            rows = in_period(flow.partitions.period, self.partition, raw[flow.partitions.column])
            raw = raw[rows.to_numpy()].reset_index(drop=True)
        self.results[MINIMISATION] = check_minimisation(self.estate, flow, list(raw.columns))
        if self.halted():
            return self.outcome(None, None)
        has_columns = set(ds.column_names) <= set(map(str, raw.columns))
        if has_columns and self.agreement is not None and self.agreement.retention.date_column:
            raw, self.purge = apply_retention(
                raw, self.agreement, ds.primary_key, self.as_of, self._stored()
            )
        try:
            frame, conformance = conform(raw, ds)
        except ContractError as exc:
            suite = self.estate.suites[ds.name]
            return self.outcome(None, gate.contract_failure(suite, str(exc)))
        if self.purge is not None:
            self.results[RETENTION] = check_retention(frame, self.purge)
        self.results[VOLUME] = volume_of(self.context, self.estate, ds.name, len(frame))
        self.results[PSEUDONYMISATION] = check_pseudonymisation(
            self.estate, flow, frame, given, self.tags, issued=ctx.issued
        )
        if flow.disclosure is not None:
            self.results[DISCLOSURE_CONTROL] = check_disclosure(flow, self.agreement, frame)
        if flow.opt_out and opted is not None and self.exclusion is not None:
            version = self._register_version()
            self.results[OPT_OUTS] = (
                check_opt_outs(
                    flow, frame, opted, self.exclusion, ds.primary_key, issued=ctx.issued
                )
                if version is None
                else unpublished_register(flow, version)
            )
        return self.outcome(
            frame, gate.evaluate(frame, conformance, ds, self.estate.suites[ds.name])
        )

    def _context(self) -> TransformContext:
        key_resource: PseudonymKey = self.context.resources.pseudonym_key
        needs_key = self.flow.opt_out is not None or any(
            d.masking is Masking.KEYED_HASH for d in self.flow.columns.values()
        )
        key = key_resource.load(self.settings.resolved_home()) if needs_key else None
        disclosure = self.agreement.disclosure if self.agreement else None
        retention = self.agreement.retention if self.agreement else None
        dated = retention is not None and retention.date_column is not None
        return TransformContext(
            flow=self.flow.name,
            as_of=self.period_as_of,
            min_cell_count=disclosure.min_cell_count if disclosure else 10,
            k_anonymity=disclosure.k_anonymity if disclosure else 5,
            k_rule=self.flow.disclosure.k_anonymity if self.flow.disclosure else None,
            retention_column=retention.date_column if retention and dated else None,
            retention_cutoff=cutoff(retention.period, self.as_of) if retention and dated else None,
            _key=key,
        )

    def _register_version(self) -> str | None:
        """The register's published version if no passing publication recorded it, else None."""
        assert self.flow.opt_out is not None
        register = self.flow.opt_out.register
        owner = self.estate.dataset_owner[register]
        version = dataset_store(self.context).version(owner, register)
        recorded = self.context.resources.lineage.recorded_versions(namespace(owner), register)
        return None if version in recorded else version

    def _stored(self) -> pd.DataFrame | None:
        store = dataset_store(self.context)
        owner = self.estate.dataset_owner[self.flow.output]
        name = self.flow.output
        if self.partition is not None:
            name = partition_name(store, name, self.partition)
        if not store.exists(owner, name):
            return None
        try:
            return store.read(owner, name, columns=self.dataset.primary_key)
        except (KeyError, ValueError):  # stored before its key changed: nothing to compare
            return None


def run_flow(
    context: dg.AssetExecutionContext,
    estate: Estate,
    computed: Computed,
    flow: Flow,
    inputs: Mapping[str, pd.DataFrame],
) -> FlowOutcome:
    """Run ``flow`` on ``inputs`` with every applicable control; nothing is written here."""
    return _Run(context, estate, computed, flow, inputs).run()


def _transform(
    estate: Estate, flow: Flow, ctx: TransformContext, inputs: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    try:
        out = estate.transforms[flow.name](ctx, **inputs)
    except MissingKeyError as exc:
        raise dg.Failure(description=str(exc)) from None
    if not isinstance(out, pd.DataFrame):
        raise dg.Failure(
            description=f"transform {flow.transform} returned {type(out).__name__}, not a pandas DataFrame"
        )
    return out


def _refuse_expired(flow: Flow, agreement: Agreement | None, key: str, as_of: dt.date) -> None:
    """A period already past the agreement's retention is never published again."""
    if flow.partitions is None or agreement is None:
        return
    if expired(flow.partitions.period, [key], agreement.retention.period, as_of):
        raise dg.Failure(
            description=f"{flow.output}: period {key} ended more than the retention period "
            f"{agreement.retention.period} of agreement {agreement.id} before {as_of}; it is "
            "not published again"
        )
