"""Typed declarations: departments, datasets, data-sharing agreements and flows.

These models check the shape of one file at a time; cross-references (an unknown dataset, a
derivation naming a missing column, a cycle) are checked by :mod:`pipelines.estate` once every
file has loaded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.taxonomy import GENERALISATION_LEVELS, TAGS, Masking

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
ColumnRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]
_DURATION = re.compile(r"^P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?$")


def _period(v: str) -> str:
    if not _DURATION.match(v) or v == "P":
        raise ValueError(f"'{v}' is not an ISO 8601 duration such as P6M, P2Y or P1Y6M")
    if not any(int(n) for n in re.findall(r"\d+", v)):
        raise ValueError(
            f"a retention period of '{v}' keeps nothing: every row would be purged before it "
            "is stored; give how long rows are kept, such as P6M, P2Y or P1Y6M"
        )
    return v


Period = Annotated[str, AfterValidator(_period)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ColumnType(StrEnum):
    """Column types a dataset may declare."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"


class Steward(_Strict):
    name: str
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Department(_Strict):
    """A department that owns datasets and is party to agreements."""

    name: Name
    title: str
    steward: Steward


class Retention(_Strict):
    """How long rows are kept (an ISO 8601 duration) and how they are disposed of."""

    period: Period
    disposal: str = "secure deletion"
    date_column: Name | None = None


class VolumeRule(_Strict):
    """How a dataset's row count may change from its previous published version.

    ``allow_empty`` lets a delivery hold no rows; ``max_drop`` is the largest share of rows it
    may lose (0.5: half). Unset fields take the estate policy's defaults (stricter for opt-out
    registers).
    """

    allow_empty: bool | None = None
    max_drop: float | None = Field(default=None, gt=0, le=1)


class Column(_Strict):
    """A declared column. ``identifier`` names the scheme of a direct identifier (recognised in
    any form by the controls, and used to link a person's identifiers across datasets)."""

    name: Name
    type: ColumnType
    description: str = ""
    tags: tuple[str, ...] = ()
    identifier: Literal["nhs_number", "ni_number", "email"] | None = None

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        for t in tags:
            if t not in TAGS:
                raise ValueError(f"unknown privacy tag '{t}'{_close(t, TAGS)}")
        if len(set(tags)) != len(tags):
            raise ValueError("a tag is listed twice")
        return tags

    @model_validator(mode="after")
    def _identifier_is_direct(self) -> Column:
        if self.identifier is not None and "person.id.direct" not in self.tags:
            raise ValueError(
                f"identifier: {self.identifier} is for a direct identifier; tag the column "
                "person.id.direct"
            )
        return self


class Dataset(_Strict):
    """A dataset owned by one department: a source extract or the output of one flow."""

    name: Name
    description: str
    source_system: str | None = None
    primary_key: tuple[Name, ...] = Field(min_length=1)
    retention: Retention | None = None
    volume: VolumeRule = VolumeRule()
    columns: tuple[Column, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _columns_consistent(self) -> Dataset:
        names = [c.name for c in self.columns]
        dupes = sorted(n for n, count in Counter(names).items() if count > 1)
        if dupes:
            raise ValueError(f"column names must be unique; repeated: {', '.join(dupes)}")
        for key in self.primary_key:
            if key not in names:
                raise ValueError(
                    f"primary_key names '{key}', which is not a column{_close(key, names)}"
                )
            tagged = [t for t in self.column(key).tags if t.startswith("person.")]
            if tagged:
                raise ValueError(
                    f"primary_key column '{key}' carries person tags ({', '.join(tagged)}); "
                    "primary keys are shown to stewards in check results, so use an untagged "
                    "record identifier"
                )
        if (
            self.retention
            and self.retention.date_column
            and self.retention.date_column not in names
        ):
            raise ValueError(
                f"retention.date_column '{self.retention.date_column}' is not a column"
            )
        return self

    def column(self, name: str) -> Column:
        """The column called ``name`` (KeyError if absent)."""
        return self._by_name[name]

    def has_column(self, name: str) -> bool:
        """Whether the dataset declares a column called ``name``."""
        return name in self._by_name

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        """The declared column names, in order."""
        return tuple(c.name for c in self.columns)


class DatasetFile(_Strict):
    """One ``datasets/*.yaml`` file: the datasets a department owns."""

    department: Name
    datasets: tuple[Dataset, ...]


class LegalBasis(_Strict):
    """GDPR Art. 6 basis, plus the Art. 9 / Art. 10 condition where special categories are shared."""

    article_6: Literal["6(1)(a)", "6(1)(b)", "6(1)(c)", "6(1)(d)", "6(1)(e)", "6(1)(f)"]
    article_9: (
        Literal[
            "9(2)(a)",
            "9(2)(b)",
            "9(2)(c)",
            "9(2)(d)",
            "9(2)(e)",
            "9(2)(f)",
            "9(2)(g)",
            "9(2)(h)",
            "9(2)(i)",
            "9(2)(j)",
        ]
        | None
    ) = None
    article_10: str | None = None
    statute: str = ""

    def summary(self) -> str:
        """One line for metadata: ``Art. 6(1)(e); Art. 9(2)(h); Care Act 2014 s.74``."""
        parts = [f"Art. {self.article_6}"]
        parts += [f"Art. {self.article_9}"] if self.article_9 else []
        parts += [f"Art. 10: {self.article_10}"] if self.article_10 else []
        parts += [self.statute] if self.statute else []
        return "; ".join(parts)


class Disclosure(_Strict):
    """Disclosure-control thresholds an agreement sets for its outputs."""

    k_anonymity: int = Field(default=5, ge=2)
    min_cell_count: int = Field(default=10, ge=1)


class Agreement(_Strict):
    """A data-sharing agreement between departments."""

    id: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9-]{2,62}$")]
    title: str
    parties: tuple[Name, ...] = Field(min_length=2)
    purposes: tuple[Name, ...] = Field(min_length=1)
    legal_basis: LegalBasis
    data_items: dict[Name, tuple[Name, ...]]
    identified_sharing: bool = False
    retention: Retention
    start: dt.date
    end: dt.date
    review: dt.date
    review_overdue: Literal["warn", "halt"] = "warn"
    on_end: Literal["destroy", "archive"] = "destroy"
    disclosure: Disclosure = Disclosure()

    @model_validator(mode="after")
    def _dates_in_order(self) -> Agreement:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must come after start ({self.start})")
        return self


class AgreementFile(_Strict):
    agreements: tuple[Agreement, ...]


class DepartmentFile(_Strict):
    departments: tuple[Department, ...]


class Derivation(StrEnum):
    """How an output column derives from its inputs (OpenLineage DIRECT subtypes)."""

    IDENTITY = "identity"
    TRANSFORMATION = "transformation"
    AGGREGATION = "aggregation"


class IndirectKind(StrEnum):
    """Input columns that shape every output row without flowing into it (OpenLineage INDIRECT)."""

    JOIN = "join"
    FILTER = "filter"
    GROUP_BY = "group_by"
    SORT = "sort"
    WINDOW = "window"
    CONDITIONAL = "conditional"


class ColumnDerivation(_Strict):
    """How one output column is computed: from which input columns, by which kind of step."""

    from_: tuple[ColumnRef, ...] = Field(alias="from", default=())
    derivation: Derivation
    masking: Masking | None = None
    level: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _masking_consistent(self) -> ColumnDerivation:
        if self.masking is Masking.GENERALISE and self.level not in GENERALISATION_LEVELS:
            allowed = ", ".join(GENERALISATION_LEVELS)
            raise ValueError(f"masking 'generalise' needs a level, one of: {allowed}")
        if self.masking is not Masking.GENERALISE and self.level is not None:
            raise ValueError("level is only used with masking 'generalise'")
        if (
            self.masking is Masking.SUPPRESS_SMALL_CELLS
            and self.derivation is not Derivation.AGGREGATION
        ):
            raise ValueError("masking 'suppress_small_cells' needs derivation 'aggregation'")
        if self.derivation is Derivation.IDENTITY and (self.masking or len(self.from_) != 1):
            raise ValueError("derivation 'identity' takes exactly one input column and no masking")
        return self


class Indirect(_Strict):
    kind: IndirectKind
    columns: tuple[ColumnRef, ...] = Field(min_length=1)
    description: str = ""


class KAnonymityRule(_Strict):
    """Record-level disclosure control: every quasi-identifier combination covers at least k people.

    ``unit`` names the column identifying a person (rows of one person count once); with
    ``sensitive`` and ``l_diversity`` each class must also hold ``l`` distinct sensitive values.
    """

    quasi_identifiers: tuple[Name, ...] = Field(min_length=1)
    unit: Name | None = None
    sensitive: Name | None = None
    l_diversity: int | None = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _l_needs_sensitive(self) -> KAnonymityRule:
        if (self.sensitive is None) != (self.l_diversity is None):
            raise ValueError("sensitive and l_diversity are given together or not at all")
        return self


class SmallCellRule(_Strict):
    """Aggregate disclosure control: the published table's count column and its dimensions."""

    count: Name
    dimensions: tuple[Name, ...] = Field(min_length=1)
    suppressed: Name = "suppressed"


class FlowDisclosure(_Strict):
    """Which disclosure control a flow's output must meet (thresholds come from the agreement)."""

    k_anonymity: KAnonymityRule | None = None
    small_cells: SmallCellRule | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FlowDisclosure:
        if (self.k_anonymity is None) == (self.small_cells is None):
            raise ValueError(
                "give exactly one of k_anonymity (record level) or small_cells (aggregate)"
            )
        return self


class OptOut(_Strict):
    """People in ``register`` are left out of every input of the flow, by every route.

    ``register_column`` holds each opted-out person's identifier and declares its scheme
    (``identifier:``). A person is matched, after normalising, in every input column declaring an
    identifier of that person the estate can link: the register's scheme directly; another scheme
    through ``person_index`` (an input holding several identifiers of one person a row) or any
    input row holding two; a keyed pseudonym of any of them. ``match``, from earlier versions,
    names one input column the register must reach; it adds nothing to the routes covered.
    """

    register_: Name = Field(alias="register")
    register_column: Name
    person_index: Name | None = None
    match: ColumnRef | None = None

    @property
    def register(self) -> str:
        """The register dataset's name."""
        return self.register_


class FlowPartitions(_Strict):
    """A flow published one reference period at a time: ``period`` daily or monthly, by the
    date ``column`` of its output, from the period holding ``start``."""

    period: Literal["daily", "monthly"]
    column: Name
    start: dt.date


class Flow(_Strict):
    """A declared inter-departmental flow: inputs, output, agreement, purpose and derivations."""

    name: Name
    description: str
    owner: Name
    recipient: Name
    agreement: str
    purpose: Name
    inputs: tuple[Name, ...] = Field(min_length=1)
    output: Name
    transform: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]
    columns: dict[Name, ColumnDerivation]
    indirect: tuple[Indirect, ...] = ()
    disclosure: FlowDisclosure | None = None
    opt_out: OptOut | None = None
    partitions: FlowPartitions | None = None

    @property
    def transform_inputs(self) -> tuple[str, ...]:
        """The inputs handed to the transform: every input but the opt-out register (a person
        index is handed over: the transform may join on it)."""
        register = self.opt_out.register if self.opt_out else None
        return tuple(d for d in self.inputs if d != register)


def listing(names: Sequence[str], limit: int = 20) -> str:
    """``a, b, c`` — at most ``limit`` names, then how many more."""
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit} more" if len(names) > limit else "")


def _close(word: str, choices: object) -> str:
    import difflib

    matches = difflib.get_close_matches(word, list(choices), n=3)  # type: ignore[call-overload]
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""
