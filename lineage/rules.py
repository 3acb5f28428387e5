"""The tag-propagation rule table: what happens to a privacy tag when a column is derived.

A column derivation (see :class:`pipelines.model.ColumnDerivation`) selects one *method*:

| method | declared as |
|---|---|
| carry | identity, or transformation without masking |
| keyed_hash | masking: keyed_hash |
| unkeyed_hash | masking: unkeyed_hash |
| generalise | masking: generalise (any level) |
| aggregate_suppressed | aggregation with masking: suppress_small_cells |
| aggregate | aggregation without masking |
| undeclared | no derivation declared for the column |

The rule for an input tag is the first row of its method whose pattern matches the tag (``*``
matches every tag, ``person.*`` every row-level tag). Every row maps one tag to exactly one tag, so
no tag is ever dropped: only a declared masking step may change it.

| method | input tag | output tag | rule |
|---|---|---|---|
| carry | * | unchanged | carry |
| keyed_hash | person.id.direct | person.id.pseudonymous | keyed_hash_pseudonymises |
| keyed_hash | * | unchanged | carry |
| unkeyed_hash | * | unchanged | unkeyed_hash_lowers_nothing |
| generalise | person.quasi | person.quasi.generalised | generalise_coarsens_quasi |
| generalise | * | unchanged | carry |
| aggregate_suppressed | person.* | aggregate.* | aggregate_with_min_count |
| aggregate_suppressed | aggregate.* | unchanged | carry |
| aggregate | * | unchanged | aggregate_without_disclosure_control |
| undeclared | * | unchanged | conservative_default |

Notes:

- An unsalted hash of a national ID is still personal data: anyone can hash every candidate ID
  and match, so ``unkeyed_hash`` lowers nothing.
- ``generalise_coarsens_quasi`` records the level in the attribution's rule step:
  ``generalise_coarsens_quasi:age_band``.
- ``aggregate.*`` is :func:`pipelines.taxonomy.aggregate_tag` (``person.X`` becomes
  ``aggregate.X``).
- An aggregation that declares ``keyed_hash``, ``unkeyed_hash`` or ``generalise`` follows that
  masking's rows: without ``suppress_small_cells`` no disclosure control was declared, so no tag
  becomes an aggregate tag.
- A column with no declared derivation takes the ``undeclared`` method with every column of every
  input of its flow as inputs (the union of their tags).
- Source datasets' declared tags enter with the rule step ``declared``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pipelines.model import ColumnDerivation, Derivation
from pipelines.taxonomy import Masking, aggregate_tag

UNCHANGED: Final = "unchanged"
AGGREGATE_OF: Final = "aggregate.*"
DECLARED: Final = "declared"


class Method(StrEnum):
    """The propagation method a column derivation selects."""

    CARRY = "carry"
    KEYED_HASH = "keyed_hash"
    UNKEYED_HASH = "unkeyed_hash"
    GENERALISE = "generalise"
    AGGREGATE_SUPPRESSED = "aggregate_suppressed"
    AGGREGATE = "aggregate"
    UNDECLARED = "undeclared"


DECLARED_AS: Final[dict[Method, str]] = {
    Method.CARRY: "identity, or transformation without masking",
    Method.KEYED_HASH: "masking: keyed_hash",
    Method.UNKEYED_HASH: "masking: unkeyed_hash",
    Method.GENERALISE: "masking: generalise (any level)",
    Method.AGGREGATE_SUPPRESSED: "aggregation with masking: suppress_small_cells",
    Method.AGGREGATE: "aggregation without masking",
    Method.UNDECLARED: "no derivation declared for the column",
}


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: under ``method``, a tag matching ``match`` becomes ``output``."""

    method: Method
    match: str
    output: str
    rule_id: str

    def matches(self, tag: str) -> bool:
        """True if this row applies to ``tag``."""
        if self.match == "*":
            return True
        if self.match.endswith(".*"):
            return tag.startswith(self.match[:-1])
        return tag == self.match

    def apply(self, tag: str) -> str:
        """The tag ``tag`` becomes under this row."""
        if self.output == UNCHANGED:
            return tag
        if self.output == AGGREGATE_OF:
            return aggregate_tag(tag)
        return self.output


RULES: Final[tuple[Rule, ...]] = (
    Rule(Method.CARRY, "*", UNCHANGED, "carry"),
    Rule(
        Method.KEYED_HASH, "person.id.direct", "person.id.pseudonymous", "keyed_hash_pseudonymises"
    ),
    Rule(Method.KEYED_HASH, "*", UNCHANGED, "carry"),
    Rule(Method.UNKEYED_HASH, "*", UNCHANGED, "unkeyed_hash_lowers_nothing"),
    Rule(
        Method.GENERALISE, "person.quasi", "person.quasi.generalised", "generalise_coarsens_quasi"
    ),
    Rule(Method.GENERALISE, "*", UNCHANGED, "carry"),
    Rule(Method.AGGREGATE_SUPPRESSED, "person.*", AGGREGATE_OF, "aggregate_with_min_count"),
    Rule(Method.AGGREGATE_SUPPRESSED, "aggregate.*", UNCHANGED, "carry"),
    Rule(Method.AGGREGATE, "*", UNCHANGED, "aggregate_without_disclosure_control"),
    Rule(Method.UNDECLARED, "*", UNCHANGED, "conservative_default"),
)

RULE_IDS: Final[frozenset[str]] = frozenset(r.rule_id for r in RULES) | {DECLARED}


def method_of(derivation: ColumnDerivation | None) -> Method:
    """The method a column derivation selects (``None``: the column declares no derivation)."""
    if derivation is None:
        return Method.UNDECLARED
    masking = derivation.masking
    if masking is Masking.SUPPRESS_SMALL_CELLS:
        return Method.AGGREGATE_SUPPRESSED
    if masking is not None:
        return Method(masking.value)
    if derivation.derivation is Derivation.AGGREGATION:
        return Method.AGGREGATE
    return Method.CARRY


def rule_for(tag: str, method: Method) -> Rule:
    """The first row of the table for ``method`` that matches ``tag``."""
    for rule in RULES:
        if rule.method is method and rule.matches(tag):
            return rule
    raise LookupError(f"no propagation rule for tag '{tag}' under method '{method}'")


def apply(tag: str, method: Method, level: str | None = None) -> tuple[str, str]:
    """``(output tag, rule step)`` for ``tag`` under ``method``.

    The rule step is the rule id, with the generalisation level appended for
    ``generalise_coarsens_quasi`` (``generalise_coarsens_quasi:age_band``).
    """
    rule = rule_for(tag, method)
    step = rule.rule_id
    if rule.rule_id == "generalise_coarsens_quasi" and level:
        step = f"{step}:{level}"
    return rule.apply(tag), step


def rule_id(step: str) -> str:
    """The rule id of a rule step (``generalise_coarsens_quasi:year`` has a level after ``:``)."""
    return step.split(":", 1)[0]


def render_table() -> str:
    """The method and rule tables as Markdown, exactly as the module docstring shows them."""
    methods = ["| method | declared as |", "|---|---|"]
    methods += [f"| {m} | {text} |" for m, text in DECLARED_AS.items()]
    rules = ["| method | input tag | output tag | rule |", "|---|---|---|---|"]
    rules += [f"| {r.method} | {r.match} | {r.output} | {r.rule_id} |" for r in RULES]
    return "\n".join(methods) + "\n\n" + "\n".join(rules)
