"""Privacy tags computed through the declared flows, with the attribution of every tag.

Source datasets keep the tags they declare. Every other dataset is the output of one flow; each of
its columns gets, for each tag of each of its input columns, the tag the rule table
(:mod:`lineage.rules`) maps it to. An attribution records where a tag came from and how it got
here, hop by hop, so a steward can see why a column carries it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineage.rules import DECLARED, apply, method_of
from pipelines.estate import Estate
from pipelines.model import Flow
from pipelines.taxonomy import Identifiability, identifiability


@dataclass(frozen=True, order=True)
class Attribution:
    """Why a column carries ``tag``: the declared origin and every hop from there to here.

    ``path`` lists ``dataset.column`` from the origin to this column inclusive; ``rules`` has one
    rule step per entry of ``path`` (the origin's is ``declared``) and ``flows`` one flow per hop.
    """

    tag: str
    origin_dataset: str
    origin_column: str
    origin_tag: str
    path: tuple[str, ...]
    rules: tuple[str, ...]
    flows: tuple[str, ...]

    @property
    def depth(self) -> int:
        """The number of flows between the origin and this column."""
        return len(self.flows)

    def describe(self) -> str:
        """One line: ``person.id.direct at a.x -> b.y (flow f: keyed_hash_pseudonymises)``."""
        parts = [f"{self.origin_tag} at {self.path[0]}"]
        parts += [
            f"{ref} ({flow}: {step})"
            for ref, step, flow in zip(self.path[1:], self.rules[1:], self.flows, strict=True)
        ]
        return " -> ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (lists for tuples)."""
        return {
            "tag": self.tag,
            "origin_dataset": self.origin_dataset,
            "origin_column": self.origin_column,
            "origin_tag": self.origin_tag,
            "path": list(self.path),
            "rules": list(self.rules),
            "flows": list(self.flows),
        }


@dataclass(frozen=True)
class ColumnTags:
    """The computed tags of one column (sorted) and their attributions (sorted)."""

    dataset: str
    column: str
    tags: tuple[str, ...]
    attributions: tuple[Attribution, ...]

    @property
    def identifiability(self) -> Identifiability:
        """The identifiability state these tags put the column in."""
        return identifiability(frozenset(self.tags))

    def attributions_of(self, tag: str) -> tuple[Attribution, ...]:
        """The attributions of one tag of this column."""
        return tuple(a for a in self.attributions if a.tag == tag)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "dataset": self.dataset,
            "column": self.column,
            "tags": list(self.tags),
            "identifiability": self.identifiability.value,
            "attributions": [a.to_dict() for a in self.attributions],
        }


Computed = dict[tuple[str, str], ColumnTags]


def propagate(estate: Estate) -> Computed:
    """Compute every column's tags, keyed by ``(dataset, column)``, inputs before outputs."""
    computed: Computed = {}
    for name in estate.topological_datasets():
        flow = estate.producer(name)
        for col in estate.datasets[name].columns:
            if flow is None:
                here = (f"{name}.{col.name}",)
                atts = {Attribution(t, name, col.name, t, here, (DECLARED,), ()) for t in col.tags}
            else:
                atts = _derive(estate, flow, col.name, computed)
            computed[(name, col.name)] = _column_tags(name, col.name, atts)
    return computed


def input_refs(estate: Estate, flow: Flow, column: str) -> tuple[str, ...]:
    """The ``dataset.column`` inputs of an output column; every input column if none is declared."""
    derivation = flow.columns.get(column)
    if derivation is not None:
        return tuple(dict.fromkeys(derivation.from_))
    return tuple(f"{d}.{c}" for d in flow.inputs for c in estate.datasets[d].column_names)


def _derive(estate: Estate, flow: Flow, column: str, computed: Computed) -> set[Attribution]:
    derivation = flow.columns.get(column)
    method = method_of(derivation)
    level = derivation.level if derivation else None
    here = f"{flow.output}.{column}"
    out: set[Attribution] = set()
    for ref in input_refs(estate, flow, column):
        dataset, col = ref.split(".", 1)
        for a in computed[(dataset, col)].attributions:
            tag, step = apply(a.tag, method, level)
            out.add(
                Attribution(
                    tag=tag,
                    origin_dataset=a.origin_dataset,
                    origin_column=a.origin_column,
                    origin_tag=a.origin_tag,
                    path=(*a.path, here),
                    rules=(*a.rules, step),
                    flows=(*a.flows, flow.name),
                )
            )
    return out


def _column_tags(dataset: str, column: str, atts: Iterable[Attribution]) -> ColumnTags:
    ordered = tuple(sorted(set(atts)))
    return ColumnTags(dataset, column, tuple(sorted({a.tag for a in ordered})), ordered)


def dataset_tags(computed: Mapping[tuple[str, str], ColumnTags], dataset: str) -> frozenset[str]:
    """Every computed tag on any column of ``dataset``."""
    return frozenset(t for (ds, _), ct in computed.items() if ds == dataset for t in ct.tags)


def check_declared(estate: Estate, computed: Mapping[tuple[str, str], ColumnTags]) -> list[str]:
    """One readable problem for each column whose declared tags differ from the computed ones."""
    problems: list[str] = []
    for name in estate.topological_datasets():
        decl = estate.declared_in[f"dataset:{name}"]
        flow = estate.producer(name)
        for i, col in enumerate(estate.datasets[name].columns):
            got = computed.get((name, col.name))
            if got is not None and set(col.tags) == set(got.tags):
                continue
            where = decl.file.where((*decl.loc, "columns", i, "tags"))
            if got is None:
                problems.append(f"{where}: no tags were computed for {name}.{col.name}")
                continue
            problems.append(f"{where}: {_mismatch(estate, flow, got, col.tags)}")
    return problems


def _mismatch(estate: Estate, flow: Flow | None, got: ColumnTags, declared: Iterable[str]) -> str:
    dec = sorted(declared)
    ref = f"{got.dataset}.{got.column}"
    made_by = f"flow '{flow.name}'" if flow else "its declaration"
    lines = [f"column {ref} declares {_tags(dec)} but {made_by} computes {_tags(got.tags)}"]
    if missing := sorted(set(dec) - set(got.tags)):
        lines.append(f"declared but not computed (no input tag maps to it): {', '.join(missing)}")
    if extra := sorted(set(got.tags) - set(dec)):
        lines.append(f"computed but not declared: {', '.join(extra)}")
    for tag in got.tags:
        steps = sorted({(a.path[-2], a.rules[-1]) for a in got.attributions_of(tag) if a.flows})
        via = "; ".join(f"from {src} by rule {step}" for src, step in steps)
        lines.append(f"  {tag}: {via or 'declared'}")
    if flow is not None:
        flow_file = estate.declared_in[f"flow:{flow.name}"].path
        lines.append(
            f"declare the computed tags, or change the derivation of '{got.column}' in {flow_file}"
        )
    return "\n    ".join(lines)


def _tags(tags: Iterable[str]) -> str:
    listed = ", ".join(tags)
    return f"tags [{listed}]" if listed else "no tags"
