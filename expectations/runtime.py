"""The process-wide Great Expectations runtime: one ephemeral context, created lazily.

Everything here imports GX inside functions so that importing ``expectations``
stays cheap (GX takes seconds to import).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from expectations.suite import Suite, SuiteError

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context.data_context.abstract_data_context import (
        AbstractDataContext,
    )
    from great_expectations.expectations.expectation import Expectation

_DATASOURCE = "tagtrail_gate"
_ASSET = "dataframe"
_BATCH_DEFINITION = "whole_dataframe"

_lock = threading.RLock()
_runtime: _Runtime | None = None


@dataclass(frozen=True)
class _Runtime:
    context: AbstractDataContext
    batch_definition: BatchDefinition[Any]


def get_runtime() -> _Runtime:
    """The shared GX context and pandas batch definition, created on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig
            from great_expectations.execution_engine import pandas_execution_engine

            import expectations.custom  # noqa: F401  (registers the NHS expectation)

            # GX fingerprints every batch under 1 GB (MD5 over hash_pandas_object of every
            # value, personal data included) as a batch marker; tagtrail keeps no batch
            # markers, and at 1M rows the fingerprint was 60% of the gate's time
            pandas_execution_engine.HASH_THRESHOLD = 0
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            batch_definition = (
                context.data_sources.add_pandas(_DATASOURCE)
                .add_dataframe_asset(_ASSET)
                .add_batch_definition_whole_dataframe(_BATCH_DEFINITION)
            )
            _runtime = _Runtime(context=context, batch_definition=batch_definition)
        return _runtime


def build_expectations(suite: Suite) -> list[Expectation]:
    """Instantiate the suite's expectations as GX objects; raise SuiteError if GX rejects one.

    This catches mistakes that loading cannot (e.g. a misspelt kwarg such as "min").
    """
    get_runtime()
    from great_expectations.expectations.registry import get_expectation_impl

    built: list[Expectation] = []
    for index, exp in enumerate(suite.expectations):
        impl = get_expectation_impl(exp["type"])
        try:
            built.append(impl(**exp["kwargs"], severity=exp["severity"]))
        except Exception as exc:  # GX raises pydantic and GX errors alike
            raise SuiteError(
                suite.path,
                f"expectations[{index}] ({exp['type']}): Great Expectations rejected "
                f'"kwargs": {_explain(exc, impl)}',
                location=f"expectations[{index}].kwargs",
            ) from None
    return built


_NOT_KWARGS = frozenset(
    {"id", "meta", "notes", "description", "severity", "result_format", "catch_exceptions"}
    | {"rendered_content", "windows", "batch_id"}
)


def _explain(exc: Exception, impl: Any) -> str:
    errors = getattr(exc, "errors", None)
    try:
        items: list[dict[str, Any]] = errors() if callable(errors) else []
    except Exception:  # not a pydantic error after all
        items = []
    if not items:
        return _one_paragraph(str(exc)).rstrip(".") + "."
    problems = []
    for item in items:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "__root__")
        problems.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    text = "; ".join(problems) + "."
    if any(item.get("type") == "value_error.extra" for item in items):
        allowed = sorted(set(getattr(impl, "__fields__", {})) - _NOT_KWARGS)
        text += f" Allowed kwargs for this type are {', '.join(allowed)}."
    return text


def validate(
    df: pd.DataFrame,
    suite: Suite,
    *,
    primary_key: Sequence[str],
    partial_count: int,
) -> list[Any]:
    """Run the suite over ``df`` and return one GX ExpectationValidationResult per expectation.

    Results come back in suite order (GX itself reorders them). The temporary
    suite, validation definition and stored result are removed afterwards so the
    shared context does not grow.
    """
    import great_expectations as gx

    expectations = build_expectations(suite)
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "unexpected_index_column_names": list(primary_key),
        "exclude_unexpected_values": True,
        "include_unexpected_rows": False,
        "return_unexpected_index_query": False,
        "partial_unexpected_count": max(partial_count, 1),
    }
    name = f"tagtrail-{suite.name}-{uuid.uuid4().hex}"
    with _lock:
        runtime = get_runtime()
        context = runtime.context
        gx_suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        try:
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=runtime.batch_definition, suite=gx_suite)
            )
            try:
                run = definition.run(
                    batch_parameters={"dataframe": df}, result_format=result_format
                )
            finally:
                context.validation_definitions.delete(name)
                _forget_results(context, name)
        finally:
            context.suites.delete(name)

    by_id = {
        result.expectation_config.id: result
        for result in run.results
        if result.expectation_config is not None
    }
    ids = [exp.id for exp in gx_suite.expectations]
    if len(ids) != len(suite.expectations) or set(ids) != set(by_id):
        raise RuntimeError(
            f"Great Expectations returned {len(by_id)} results for "
            f"{len(suite.expectations)} expectations in {suite.path}"
        )
    return [by_id[exp_id] for exp_id in ids]


def _forget_results(context: AbstractDataContext, suite_name: str) -> None:
    store: Any = context.validation_results_store
    for key in store.list_keys():
        suite_id = getattr(key, "expectation_suite_identifier", None)
        if suite_id is not None and suite_id.name == suite_name:
            store.remove_key(key)


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())
