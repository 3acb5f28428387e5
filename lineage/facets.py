"""The facets tagtrail builds: its own ``tagtrail_privacy`` and column lineage.

The facet follows the OpenLineage custom-facet conventions: key ``{prefix}_{name}``, class
``{Prefix}{Name}DatasetFacet``, attrs-based like the generated facets, and an immutable, versioned
``_schemaURL``. tagtrail's schema URLs all have one form,
``https://tagtrail.dev/spec/facets/<version>/<Class>.json#/$defs/<Base>``, where ``<Base>`` is the
OpenLineage base facet the definition extends (``RunFacet`` or ``DatasetFacet``): OpenLineage's
compatibility validator treats a facet as custom only when its ``_schemaURL`` names such a
definition. ``lineage/schemas/<Class>.json`` holds the current version, ``<Class>-<version>.json``
the earlier ones, kept for events already stored. A change to a published schema needs a new
version, never an edit of a published file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import attr
from openlineage.client.generated import column_lineage_dataset as cl
from openlineage.client.generated.base import DatasetFacet
from openlineage.client.utils import RedactMixin

from lineage.propagation import Attribution, ColumnTags, dataset_tags, input_refs
from pipelines.estate import Estate
from pipelines.model import Flow, Retention
from pipelines.policy.agreement import selection_tags
from pipelines.taxonomy import identifiability

FACET_KEY: Final = "tagtrail_privacy"
SCHEMA_ID: Final = "https://tagtrail.dev/spec/facets/1-1-1/TagtrailPrivacyDatasetFacet.json"
SCHEMA_URL: Final = f"{SCHEMA_ID}#/$defs/DatasetFacet"
SCHEMAS_DIR: Final = Path(__file__).resolve().parent / "schemas"
SCHEMA_PATH: Final = SCHEMAS_DIR / "TagtrailPrivacyDatasetFacet.json"


def namespace(department: str) -> str:
    """The OpenLineage namespace of a department's jobs and datasets: ``tagtrail.<department>``."""
    return f"tagtrail.{department}"


def extract_name(estate: Estate, dataset: str) -> str:
    """The OpenLineage name of what a source dataset is read from, in its owner's namespace.

    A file is ``extracts/<path under the extracts folder>``, so names do not depend on where a
    machine keeps its files; a SQL table is ``[schema.]table``; a SQL query ``query/<dataset>``.
    """
    source = estate.sources[dataset]
    if source.sql is None:
        return f"extracts/{source.file}"
    if source.sql.table is None:
        return f"query/{dataset}"
    schema = f"{source.sql.schema_name}." if source.sql.schema_name else ""
    return f"{schema}{source.sql.table}"


@attr.define
class AgreementRef(RedactMixin):
    """The data-sharing agreement a dataset is held under."""

    id: str
    title: str
    parties: list[str]
    start: str
    end: str
    review: str


@attr.define
class TagAttribution(RedactMixin):
    """Why a column carries a tag (see :class:`lineage.propagation.Attribution`)."""

    tag: str
    originDataset: str
    originColumn: str
    originTag: str
    path: list[str]
    rules: list[str]
    flows: list[str]

    @classmethod
    def of(cls, a: Attribution) -> TagAttribution:
        """The facet form of a computed attribution."""
        return cls(
            tag=a.tag,
            originDataset=a.origin_dataset,
            originColumn=a.origin_column,
            originTag=a.origin_tag,
            path=list(a.path),
            rules=list(a.rules),
            flows=list(a.flows),
        )


@attr.define
class ColumnPrivacy(RedactMixin):
    """One column's computed tags, its identifiability and the attribution of every tag."""

    tags: list[str]
    identifiability: str
    attributions: list[TagAttribution]

    @classmethod
    def of(cls, ct: ColumnTags) -> ColumnPrivacy:
        """The facet form of a column's computed tags."""
        return cls(
            tags=list(ct.tags),
            identifiability=ct.identifiability.value,
            attributions=[TagAttribution.of(a) for a in ct.attributions],
        )


@attr.define
class Selection(RedactMixin):
    """An input column the flow selects or joins rows by, with the sensitive tags it discloses."""

    column: str
    kind: str
    tags: list[str]


@attr.define
class TagtrailPrivacyDatasetFacet(DatasetFacet):
    """Privacy terms of a dataset and the computed privacy tags of its columns.

    ``agreement``, ``purpose`` and ``legalBasis`` are None for a source extract held by its owner
    department (serialisation drops None, so they are then absent).
    """

    department: str
    identifiability: str
    columns: dict[str, ColumnPrivacy]
    agreement: AgreementRef | None = attr.field(default=None)
    purpose: str | None = attr.field(default=None)
    legalBasis: str | None = attr.field(default=None)
    retention: str | None = attr.field(default=None)
    sourceSystem: str | None = attr.field(default=None)
    selection: list[Selection] | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def retention_text(retention: Retention) -> str:
    """``P2Y, then secure deletion``."""
    return f"{retention.period}, then {retention.disposal}"


def privacy_facet(
    estate: Estate,
    dataset: str,
    computed: Mapping[tuple[str, str], ColumnTags],
    *,
    producer: str,
) -> TagtrailPrivacyDatasetFacet:
    """The ``tagtrail_privacy`` facet of ``dataset`` from its declarations and computed tags."""
    ds = estate.datasets[dataset]
    columns = {c.name: ColumnPrivacy.of(computed[(dataset, c.name)]) for c in ds.columns}
    level = identifiability(dataset_tags(computed, dataset)).value
    owner = estate.dataset_owner[dataset]
    flow = estate.producer(dataset)
    if flow is None:
        return TagtrailPrivacyDatasetFacet(
            producer=producer,
            department=owner,
            identifiability=level,
            columns=columns,
            retention=retention_text(ds.retention) if ds.retention else None,
            sourceSystem=ds.source_system,
        )
    agr = estate.agreements.get(flow.agreement)
    selected = selection_tags(flow, {k: v.tags for k, v in computed.items()})
    selection = [
        Selection(column=ref, kind=ind.kind.value, tags=list(selected[ref]))
        for ind in flow.indirect
        for ref in ind.columns
        if ref in selected
    ] or None
    if agr is None:
        return TagtrailPrivacyDatasetFacet(
            producer=producer,
            department=owner,
            identifiability=level,
            columns=columns,
            purpose=flow.purpose,
            selection=selection,
        )
    return TagtrailPrivacyDatasetFacet(
        producer=producer,
        department=owner,
        identifiability=level,
        columns=columns,
        agreement=AgreementRef(
            id=agr.id,
            title=agr.title,
            parties=list(agr.parties),
            start=agr.start.isoformat(),
            end=agr.end.isoformat(),
            review=agr.review.isoformat(),
        ),
        purpose=flow.purpose,
        legalBasis=agr.legal_basis.summary(),
        retention=retention_text(agr.retention),
        selection=selection,
    )


def column_lineage_facet(
    estate: Estate, dataset: str, *, producer: str
) -> cl.ColumnLineageDatasetFacet:
    """Declared column lineage of ``dataset``: DIRECT per column, INDIRECT for the whole dataset.

    A source extract's columns come one to one from its extract file; a column with no declared
    derivation is listed as derived from every input column.
    """
    flow = estate.producer(dataset)
    ds = estate.datasets[dataset]
    ns = namespace(estate.dataset_owner[dataset])
    if flow is None:
        read = cl.Transformation(
            type="DIRECT",
            subtype="IDENTITY",
            description="read from the extract and converted to the declared type",
            masking=False,
        )
        fields = {
            c: cl.Fields(inputFields=[cl.InputField(ns, extract_name(estate, dataset), c, [read])])
            for c in ds.column_names
        }
        return cl.ColumnLineageDatasetFacet(fields=fields, producer=producer)
    fields = {}
    for col in ds.column_names:
        step = _direct(flow, col)
        refs = input_refs(estate, flow, col)
        if refs:
            fields[col] = cl.Fields(inputFields=[_field(estate, ref, [step]) for ref in refs])
    indirect: dict[str, list[cl.Transformation]] = {}
    for ind in flow.indirect:
        for ref in ind.columns:
            indirect.setdefault(ref, []).append(
                cl.Transformation(
                    type="INDIRECT",
                    subtype=ind.kind.value.upper(),
                    description=ind.description or None,
                    masking=False,
                )
            )
    return cl.ColumnLineageDatasetFacet(
        fields=fields,
        dataset=[_field(estate, ref, steps) for ref, steps in indirect.items()],
        producer=producer,
    )


def _direct(flow: Flow, column: str) -> cl.Transformation:
    der = flow.columns.get(column)
    if der is None:
        return cl.Transformation(
            type="DIRECT",
            subtype="TRANSFORMATION",
            description="no derivation declared: assumed to derive from every input column",
            masking=False,
        )
    how = der.derivation.value
    if der.masking is not None:
        how += f", masking {der.masking.value}" + (f" to {der.level}" if der.level else "")
    return cl.Transformation(
        type="DIRECT",
        subtype=der.derivation.value.upper(),
        description=f"{der.description} ({how})" if der.description else how,
        masking=der.masking is not None,
    )


def _field(estate: Estate, ref: str, steps: list[cl.Transformation]) -> cl.InputField:
    dataset, column = ref.split(".", 1)
    ns = namespace(estate.dataset_owner[dataset])
    return cl.InputField(namespace=ns, name=dataset, field=column, transformations=steps)
