"""Tracing: exact hops up- and downstream, at column and dataset level, depth-limited, cycle-safe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lineage.store import (
    AmbiguousNameError,
    Attribution,
    Hop,
    LineageStore,
    Transformation,
    UnknownNameError,
)

Build = Callable[..., dict[str, Any]]
KEYED_HASH = Transformation(
    "DIRECT", "TRANSFORMATION", True, "keyed hash (HMAC-SHA256), key held by the research custodian"
)
COPY = Transformation("DIRECT", "IDENTITY", False, "copied")
FILTER = Transformation("INDIRECT", "FILTER", False, "residents of the borough only")
COUNT = Transformation("DIRECT", "AGGREGATION", True, "count distinct, cells under 10 suppressed")
GROUP_KEY = Transformation("DIRECT", "IDENTITY", False, "group key")
GROUP_BY = Transformation("INDIRECT", "GROUP_BY", False, "one row per diagnosis")
EXTRACT = ("care_research_extract", "research", "DSA-2025-014", "research into care outcomes")
STATISTICS = ("care_statistics", "public_reporting", "DSA-2025-021", "official statistics")


def shape(hops: list[Hop]) -> list[tuple[Any, ...]]:
    """Everything about each hop but the attributions, compactly."""
    return [
        (
            h.depth,
            f"{h.from_dataset}.{h.from_column}",
            f"{h.to_dataset}.{h.to_column}",
            (h.job, h.department, h.agreement_id, h.purpose),
            h.transformations,
            h.tag_names,
        )
        for h in hops
    ]


def test_column_downstream(chain: LineageStore) -> None:
    hops = chain.trace("care_packages", "nhs_number", "downstream")
    assert shape(hops) == [
        (1, "care_packages.nhs_number", "care_research_extract.person_key", EXTRACT, (KEYED_HASH,),
         ("person.id.pseudonymous",)),
        (2, "care_research_extract.person_key", "care_statistics.people", STATISTICS, (COUNT,),
         ("aggregate.id.pseudonymous",)),
    ]  # fmt: skip
    assert hops[0].from_department == "social_care"
    assert [t.tag for t in hops[0].from_tags] == ["person.id.direct"]
    assert hops[0].transformation == KEYED_HASH
    (tag,) = hops[0].tags
    assert (tag.dataset, tag.column, tag.value, tag.identifiability) == (
        "care_research_extract", "person_key", "pseudonymised", "pseudonymised"
    )  # fmt: skip
    assert tag.attributions == (
        Attribution(
            tag="person.id.pseudonymous",
            origin_dataset="care_packages",
            origin_column="nhs_number",
            origin_tag="person.id.direct",
            path=("care_packages.nhs_number", "care_research_extract.person_key"),
            rules=("declared", "keyed_hash_pseudonymises"),
            flows=("care_research_extract",),
        ),
    )
    (final,) = hops[1].tags
    assert final.attributions[0].rules[-1] == "aggregate_with_min_count"


def test_column_used_as_filter_reaches_the_whole_dataset(chain: LineageStore) -> None:
    assert shape(chain.trace("care_packages", "postcode", "downstream")) == [
        (1, "care_packages.postcode", "care_research_extract.None", EXTRACT, (FILTER,), ()),
    ]


def test_column_upstream(chain: LineageStore) -> None:
    assert shape(chain.trace("care_statistics", "people", "upstream")) == [
        (1, "care_research_extract.diagnosis", "care_statistics.None", STATISTICS, (GROUP_BY,), ()),
        (1, "care_research_extract.person_key", "care_statistics.people", STATISTICS, (COUNT,),
         ("aggregate.id.pseudonymous",)),
        (2, "care_packages.diagnosis", "care_research_extract.diagnosis", EXTRACT, (COPY,),
         ("person.special.health",)),
        (2, "care_packages.nhs_number", "care_research_extract.person_key", EXTRACT, (KEYED_HASH,),
         ("person.id.pseudonymous",)),
        (2, "care_packages.postcode", "care_research_extract.None", EXTRACT, (FILTER,), ()),
    ]  # fmt: skip


def test_dataset_downstream_and_upstream(chain: LineageStore) -> None:
    summary_extract = (
        Transformation("DIRECT", "IDENTITY", False, None),
        Transformation("DIRECT", "TRANSFORMATION", True, None),
        Transformation("INDIRECT", "FILTER", False, None),
    )
    summary_statistics = (
        Transformation("DIRECT", "AGGREGATION", True, None),
        Transformation("DIRECT", "IDENTITY", False, None),
        Transformation("INDIRECT", "GROUP_BY", False, None),
    )
    down = chain.trace("care_packages", None, "downstream")
    assert shape(down) == [
        (1, "care_packages.None", "care_research_extract.None", EXTRACT, summary_extract,
         ("person.id.pseudonymous", "person.special.health")),
        (2, "care_research_extract.None", "care_statistics.None", STATISTICS, summary_statistics,
         ("aggregate.special.health", "aggregate.id.pseudonymous")),
    ]  # fmt: skip
    assert [(t.column, t.tag) for t in down[0].from_tags] == [
        ("nhs_number", "person.id.direct"),
        ("diagnosis", "person.special.health"),
        ("postcode", "person.quasi"),
    ]
    up = chain.trace("care_statistics", None, "upstream")
    assert [(h.depth, h.from_dataset, h.to_dataset) for h in up] == [
        (1, "care_research_extract", "care_statistics"),
        (2, "care_packages", "care_research_extract"),
    ]
    assert chain.trace("care_packages", None, "upstream") == []


def test_depth_limit(chain: LineageStore) -> None:
    assert [h.depth for h in chain.trace("care_packages", "nhs_number", depth=1)] == [1]
    assert [h.depth for h in chain.trace("care_packages", depth=1)] == [1]
    assert chain.trace("care_packages", "nhs_number", depth=0) == []
    assert len(chain.trace("care_statistics", "people", "upstream", depth=1)) == 2
    with pytest.raises(ValueError, match="depth"):
        chain.trace("care_packages", depth=-1)
    with pytest.raises(ValueError, match="direction"):
        chain.trace("care_packages", direction="sideways")  # type: ignore[arg-type]


def test_cycles_end(store: LineageStore, build_event: Build) -> None:
    store.ingest(
        build_event(
            "COMPLETE",
            "x",
            "rx",
            "2025-01-01T00:00:00Z",
            inputs=("y",),
            lineage={"a": [("y", "b", "IDENTITY")]},
            tags={"a": ["person.quasi"]},
        )
    )
    store.ingest(
        build_event(
            "COMPLETE",
            "y",
            "ry",
            "2025-01-01T00:00:01Z",
            inputs=("x",),
            lineage={"b": [("x", "a", "IDENTITY")]},
            tags={"b": ["person.quasi"]},
        )
    )
    for direction in ("downstream", "upstream"):
        hops = store.trace("x", "a", direction)
        assert sorted((h.depth, h.from_dataset, h.to_dataset) for h in hops) == [
            (1, "x", "y") if direction == "downstream" else (1, "y", "x"),
            (2, "y", "x") if direction == "downstream" else (2, "x", "y"),
        ]
    assert [(h.from_dataset, h.to_dataset) for h in store.trace("x")] == [("x", "y"), ("y", "x")]


def test_diamond_expands_each_column_once(store: LineageStore, build_event: Build) -> None:
    store.ingest(build_event("COMPLETE", "src", "r0", "2025-01-01T00:00:00Z", tags={"k": ["t"]}))
    for name in ("left", "right"):
        store.ingest(
            build_event(
                "COMPLETE",
                name,
                f"r-{name}",
                "2025-01-01T00:00:01Z",
                inputs=("src",),
                lineage={"k": [("src", "k", "IDENTITY")]},
            )
        )
    store.ingest(
        build_event(
            "COMPLETE",
            "sink",
            "r-sink",
            "2025-01-01T00:00:02Z",
            inputs=("left", "right"),
            lineage={"k": [("left", "k", "IDENTITY"), ("right", "k", "IDENTITY")]},
        )
    )
    hops = store.trace("src", "k")
    assert [(h.depth, h.from_dataset, h.to_dataset) for h in hops] == [
        (1, "src", "left"),
        (1, "src", "right"),
        (2, "left", "sink"),
        (2, "right", "sink"),
    ]


def test_unknown_names_suggest_close_matches(chain: LineageStore) -> None:
    with pytest.raises(UnknownNameError) as raised:
        chain.trace("care_package", "nhs_number")
    assert raised.value.kind == "dataset"
    assert raised.value.close_matches[0] == "care_packages"
    assert "unknown dataset 'care_package'" in str(raised.value)
    assert "did you mean 'care_packages'" in str(raised.value)
    with pytest.raises(UnknownNameError) as raised:
        chain.trace("care_packages", "nhs_numbr")
    assert (raised.value.kind, raised.value.name) == ("column", "care_packages.nhs_numbr")
    assert raised.value.close_matches == ["care_packages.nhs_number"]
    with pytest.raises(UnknownNameError):
        chain.columns("nothing_like_it")
    with pytest.raises(UnknownNameError):
        chain.runs("care_statistic")
    assert chain.dataset("care_statistic") is None


def test_qualified_and_ambiguous_names(loaded: LineageStore, build_event: Build) -> None:
    loaded.ingest(
        build_event(
            "COMPLETE",
            "care_packages",
            "dup",
            "2025-12-01T00:00:00Z",
            tags={"nhs_number": ["person.id.direct"]},
            namespace="tagtrail.health",
        )
    )
    with pytest.raises(AmbiguousNameError) as raised:
        loaded.dataset("care_packages")
    assert raised.value.close_matches == [
        "tagtrail.health/care_packages",
        "tagtrail.social_care/care_packages",
    ]
    assert "several namespaces" in str(raised.value)
    record = loaded.dataset("tagtrail.social_care/care_packages")
    assert record is not None and record.department == "social_care"
    assert len(loaded.trace("tagtrail.social_care/care_packages", "nhs_number")) == 2


def test_every_hop_carries_the_receiving_datasets_legal_basis(chain: LineageStore) -> None:
    for column, direction in (("nhs_number", "downstream"), (None, "downstream")):
        hops = chain.trace("care_packages", column, direction)  # type: ignore[arg-type]
        assert hops
        for hop in hops:
            record = chain.dataset(hop.to_dataset)
            assert record is not None and record.legal_basis
            assert hop.legal_basis == record.legal_basis
    upstream = chain.trace("care_statistics", "people", "upstream")
    assert {h.legal_basis for h in upstream} == {
        chain.dataset(h.to_dataset).legal_basis  # type: ignore[union-attr]
        for h in upstream
    }


def test_trace_and_tags_print_the_legal_basis(chain: LineageStore) -> None:
    from lineage.render import render_tags, render_trace

    hops = chain.trace("care_packages", "nhs_number", "downstream")
    text = render_trace("care_packages.nhs_number", "downstream", hops)
    assert text.count("legal basis: Art. 6(1)(e)") == len(hops)
    record = chain.dataset("care_research_extract")
    assert record is not None
    tags = render_tags(record, chain.columns("care_research_extract"))
    assert f"legal basis: {record.legal_basis}" in tags
