"""The privacy-tag taxonomy: the one place tags and masking methods are defined.

Tags are short dotted paths. A tag is a *row-level* tag (``person.*``) or an *aggregate* tag
(``aggregate.*``), the form a row-level category takes once it has been aggregated with disclosure
control. Every tag maps to the vocabularies governance teams already use (fideslang data categories
and GDPR articles) so a reviewer can read a declaration without learning ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Identifiability(StrEnum):
    """The states a column moves through; only a declared, checked transformation moves it down."""

    IDENTIFIED = "identified"
    PSEUDONYMISED = "pseudonymised"
    DE_IDENTIFIED = "de-identified"
    AGGREGATE = "aggregate"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class TagInfo:
    """What a tag means and what it maps to."""

    name: str
    description: str
    maps_to: tuple[str, ...]
    special_category: bool = False
    criminal: bool = False


def _tag(name: str, description: str, *maps_to: str, special: bool = False) -> TagInfo:
    return TagInfo(name, description, maps_to, special_category=special)


# GDPR Art. 9 categories: (description, fideslang data category). The fideslang keys are those of
# its default taxonomy (checked by a test against the installed package); fideslang has no
# trade-union category, so that one maps to its parent, user.demographic, beside gdpr:art9.
_SPECIAL = {
    "health": ("physical or mental health, diagnosis, disability", "user.health_and_medical"),
    "genetic": ("genetic data", "user.health_and_medical.genetic"),
    "biometric": ("biometric data used to identify a person", "user.biometric"),
    "ethnicity": ("racial or ethnic origin", "user.demographic.race_ethnicity"),
    "religion": ("religious or philosophical beliefs", "user.demographic.religious_belief"),
    "politics": ("political opinions", "user.demographic.political_opinion"),
    "sexual_orientation": ("sex life or sexual orientation", "user.demographic.sexual_orientation"),
    "trade_union": ("trade union membership", "user.demographic"),
}

_ROW_LEVEL: tuple[TagInfo, ...] = (
    _tag(
        "person.id.direct",
        "directly identifies a person: name, address, NHS or NI number, e-mail",
        "fideslang:user.name",
        "fideslang:user.contact",
        "fideslang:user.government_id",
    ),
    _tag(
        "person.id.pseudonymous",
        "a keyed pseudonym: links one person's records; the key stays with a custodian",
        "fideslang:user.unique_id.pseudonymous",
    ),
    _tag(
        "person.quasi",
        "a quasi-identifier: date of birth, postcode, sex",
        "fideslang:user.demographic",
        "fideslang:user.contact.address.postal_code",
    ),
    _tag(
        "person.quasi.generalised",
        "a quasi-identifier coarsened by a declared generalisation (year, age band, district)",
        "fideslang:user.demographic",
    ),
    *(
        _tag(f"person.special.{k}", text, "gdpr:art9", f"fideslang:{key}", special=True)
        for k, (text, key) in _SPECIAL.items()
    ),
    TagInfo(
        "person.criminal",
        "criminal convictions and offences",
        ("gdpr:art10", "fideslang:user.criminal_history"),
        criminal=True,
    ),
    _tag("person.financial", "income, debts, payments", "fideslang:user.financial"),
    _tag("person.financial.tax", "tax records", "fideslang:user.financial"),
    _tag("person.financial.benefits", "benefit claims and awards", "fideslang:user.financial"),
    _tag("person.financial.bank", "bank account details", "fideslang:user.financial.bank_account"),
    _tag("person.employment", "employment history and status", "fideslang:user.workplace"),
    _tag("person.housing", "tenancy, homelessness, housing need", "policy:extra-protection"),
    _tag(
        "person.social_care", "social care needs, assessments, packages", "policy:extra-protection"
    ),
    _tag("person.child", "data about a child", "policy:extra-protection"),
)


def _aggregate_of(info: TagInfo) -> TagInfo:
    return TagInfo(
        name=aggregate_tag(info.name),
        description=f"aggregate statistics over {info.description}",
        maps_to=("gdpr:recital26-aggregate",),
        special_category=info.special_category,
        criminal=info.criminal,
    )


def aggregate_tag(tag: str) -> str:
    """The aggregate counterpart of a row-level tag: ``person.X`` becomes ``aggregate.X``."""
    return "aggregate." + tag.removeprefix("person.")


TAGS: Final[dict[str, TagInfo]] = {
    t.name: t for t in (*_ROW_LEVEL, *(_aggregate_of(t) for t in _ROW_LEVEL))
}


class Masking(StrEnum):
    """Masking methods a column derivation may declare (the rules live in ``lineage``)."""

    KEYED_HASH = "keyed_hash"
    UNKEYED_HASH = "unkeyed_hash"
    GENERALISE = "generalise"
    SUPPRESS_SMALL_CELLS = "suppress_small_cells"


GENERALISATION_LEVELS: Final[tuple[str, ...]] = (
    "year",
    "month",
    "age_band",
    "postcode_district",
    "icd10_chapter",
    "band",
)


def is_special_category(tag: str) -> bool:
    """True for GDPR Art. 9 categories, row-level or aggregate."""
    return TAGS[tag].special_category


def is_criminal(tag: str) -> bool:
    """True for GDPR Art. 10 data."""
    return TAGS[tag].criminal


def is_personal(tag: str) -> bool:
    """True for row-level tags: data about an identifiable or pseudonymous person."""
    return tag.startswith("person.")


def identifiability(tags: set[str] | frozenset[str]) -> Identifiability:
    """The identifiability state of a column or dataset carrying ``tags``."""
    if "person.id.direct" in tags:
        return Identifiability.IDENTIFIED
    if "person.id.pseudonymous" in tags:
        return Identifiability.PSEUDONYMISED
    if any(is_personal(t) for t in tags):
        return Identifiability.DE_IDENTIFIED
    if tags:
        return Identifiability.AGGREGATE
    return Identifiability.ANONYMOUS
