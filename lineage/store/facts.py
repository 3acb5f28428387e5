"""What an output's merged facets say: schema, tags with attributions, column lineage, privacy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineage.store.parse import DatasetRef, as_dict, as_list, as_str, department_of

PRIVACY_FACET = "tagtrail_privacy"


@dataclass(frozen=True)
class FieldFact:
    """A column as the ``schema`` facet declares it."""

    name: str
    type: str | None
    description: str | None


@dataclass
class TagFact:
    """A tag on a column, merged from the ``tags`` facet and the ``tagtrail_privacy`` facet."""

    tag: str
    value: str | None = None
    identifiability: str | None = None
    attributions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class LineageFact:
    """One transformation from an input column to an output column (None: the whole dataset)."""

    source: DatasetRef
    source_field: str
    target_field: str | None
    type: str | None
    subtype: str | None
    masking: bool | None
    description: str | None


@dataclass(frozen=True)
class DatasetFacts:
    """The dataset-level declarations of an output's latest version."""

    department: str | None
    description: str | None
    purpose: str | None
    legal_basis: str | None
    retention: str | None
    source_system: str | None
    identifiability: str | None
    agreement_id: str | None
    agreement: dict[str, Any] | None
    owners: list[str]
    tags: list[str]
    assertions: list[dict[str, Any]]
    row_count: int | None
    lifecycle_state: str | None


def schema_fields(facets: dict[str, Any]) -> list[FieldFact]:
    """The ``schema`` facet's fields in order (nested fields are not indexed)."""
    found: dict[str, FieldFact] = {}
    for item in as_list(as_dict(facets.get("schema")).get("fields")):
        entry = as_dict(item)
        name = as_str(entry.get("name"))
        if name and name not in found:
            found[name] = FieldFact(
                name, as_str(entry.get("type")), as_str(entry.get("description"))
            )
    return list(found.values())


def column_tags(facets: dict[str, Any]) -> dict[str, dict[str, TagFact]]:
    """Column -> tag -> fact. Attributions without a ``tag`` apply to every tag of the column."""
    result: dict[str, dict[str, TagFact]] = {}
    for item in as_list(as_dict(facets.get("tags")).get("tags")):
        entry = as_dict(item)
        column, key = as_str(entry.get("field")), as_str(entry.get("key"))
        if column and key:
            fact = result.setdefault(column, {}).setdefault(key, TagFact(key))
            fact.value = as_str(entry.get("value")) or fact.value
    for column, spec in as_dict(as_dict(facets.get(PRIVACY_FACET)).get("columns")).items():
        details = as_dict(spec)
        tags = result.setdefault(column, {})
        for key in as_list(details.get("tags")):
            if isinstance(key, str) and key:
                tags.setdefault(key, TagFact(key))
        attributions = [as_dict(a) for a in as_list(details.get("attributions")) if as_dict(a)]
        for attribution in attributions:
            key = as_str(attribution.get("tag"))
            if key:
                tags.setdefault(key, TagFact(key))
        identifiability = as_str(details.get("identifiability"))
        for fact in tags.values():
            fact.identifiability = identifiability or fact.identifiability
            fact.attributions.extend(
                a for a in attributions if as_str(a.get("tag")) in (None, fact.tag)
            )
    return {column: tags for column, tags in result.items() if tags}


def column_lineage(facets: dict[str, Any]) -> list[LineageFact]:
    """Every (input field -> output field, transformation) in the ``columnLineage`` facet."""
    facet = as_dict(facets.get("columnLineage"))
    facts: dict[LineageFact, None] = {}
    for target, spec in as_dict(facet.get("fields")).items():
        details = as_dict(spec)
        for item in as_list(details.get("inputFields")):
            facts.update(dict.fromkeys(_input_field(as_dict(item), target, details)))
    for item in as_list(facet.get("dataset")):
        facts.update(dict.fromkeys(_input_field(as_dict(item), None, {})))
    return list(facts)


def _input_field(
    entry: dict[str, Any], target: str | None, legacy: dict[str, Any]
) -> list[LineageFact]:
    namespace, name, source_field = entry.get("namespace"), entry.get("name"), entry.get("field")
    if not (isinstance(namespace, str) and as_str(name) and as_str(source_field)):
        return []
    source = DatasetRef(namespace, str(name))
    transformations = [as_dict(t) for t in as_list(entry.get("transformations")) if as_dict(t)]
    if not transformations:
        legacy_type = as_str(legacy.get("transformationType"))
        transformations = [
            {
                "type": "DIRECT" if legacy_type else None,
                "subtype": {"IDENTITY": "IDENTITY", "MASKED": "TRANSFORMATION"}.get(
                    legacy_type or ""
                ),
                "masking": True if legacy_type == "MASKED" else None,
                "description": legacy.get("transformationDescription"),
            }
        ]
    return [
        LineageFact(
            source=source,
            source_field=str(source_field),
            target_field=target,
            type=as_str(t.get("type")),
            subtype=as_str(t.get("subtype")),
            masking=t.get("masking") if isinstance(t.get("masking"), bool) else None,
            description=as_str(t.get("description")),
        )
        for t in transformations
    ]


def dataset_facts(ref: DatasetRef, facets: dict[str, Any]) -> DatasetFacts:
    """Department, agreement, purpose, owners, statistics and checks of an output version."""
    privacy = as_dict(facets.get(PRIVACY_FACET))
    agreement = as_dict(privacy.get("agreement")) or None
    owners = [
        as_str(as_dict(o).get("name"))
        for o in as_list(as_dict(facets.get("ownership")).get("owners"))
    ]
    tags = [
        as_str(as_dict(t).get("key"))
        for t in as_list(as_dict(facets.get("tags")).get("tags"))
        if not as_dict(t).get("field")
    ]
    rows = as_dict(facets.get("outputStatistics")).get("rowCount")
    return DatasetFacts(
        department=as_str(privacy.get("department")) or department_of(ref.namespace),
        description=as_str(as_dict(facets.get("documentation")).get("description")),
        purpose=as_str(privacy.get("purpose")),
        legal_basis=as_str(privacy.get("legalBasis")),
        retention=as_str(privacy.get("retention")),
        source_system=as_str(privacy.get("sourceSystem")),
        identifiability=as_str(privacy.get("identifiability")),
        agreement_id=as_str(agreement.get("id")) if agreement else None,
        agreement=agreement,
        owners=[o for o in owners if o],
        tags=list(dict.fromkeys(t for t in tags if t)),
        assertions=[
            as_dict(a)
            for a in as_list(as_dict(facets.get("dataQualityAssertions")).get("assertions"))
            if as_dict(a)
        ],
        row_count=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
        lifecycle_state=as_str(
            as_dict(facets.get("lifecycleStateChange")).get("lifecycleStateChange")
        ),
    )
