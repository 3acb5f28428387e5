"""Least privilege in the dataset warehouse, computed from the declarations.

Each department's datasets live in a PostgreSQL schema named after it, one table per dataset.
Every department gets one NOLOGIN role, ``<prefix><department>`` (prefix ``tagtrail_`` unless
given), that may:

- use its own schema and read every table in it, today's and (through default privileges of the
  role that creates the tables) tomorrow's;
- read exactly what each agreement in force on the reference date lists in ``data_items`` for a
  party that does not own the dataset: the whole table when the agreement lists every declared
  column, else SELECT on the listed columns alone; and use the owning schema for that.

Nothing else: no other privilege of a tagtrail role on a department schema or table survives, and
PUBLIC has none. This module computes the wanted privileges from an estate alone (no database);
:mod:`pipelines.warehouse.grants_plan` compares them with a database's catalogs and
:mod:`pipelines.warehouse.grants_apply` changes the database to match.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

from pipelines.estate import Estate
from pipelines.model import Agreement
from pipelines.partitions import split_period_table
from pipelines.policy.agreement import Term

ROLE_PREFIX: Final = "tagtrail_"
MAX_IDENTIFIER: Final = 63
_PREFIX = re.compile(r"^[a-z_][a-z0-9_]*$")


class GrantsError(ValueError):
    """A setting the grants cannot be computed with (a bad role prefix, a name too long)."""


@dataclass(frozen=True)
class Access:
    """SELECT a department's role is to hold on one dataset.

    ``columns`` is None for the whole table, else exactly the columns it may read.
    ``agreements`` are those in force that permit it (empty for the owner's own datasets).
    """

    department: str
    role: str
    owner: str
    dataset: str
    columns: tuple[str, ...] | None
    agreements: tuple[str, ...]
    reason: str

    @property
    def own(self) -> bool:
        """Whether the role's department owns the dataset."""
        return self.department == self.owner


@dataclass(frozen=True)
class Lapsed:
    """An agreement that lists a dataset for a party but is not in force on the date."""

    agreement: str
    why: str


@dataclass(frozen=True)
class DesiredGrants:
    """What every tagtrail role may do, on one reference date (see the module docstring)."""

    as_of: dt.date
    role_prefix: str
    roles: Mapping[str, str]
    access: tuple[Access, ...]
    declared: Mapping[str, tuple[str, tuple[str, ...]]]
    lapsed: Mapping[tuple[str, str], tuple[Lapsed, ...]] = field(default_factory=dict)
    partitioned: frozenset[tuple[str, str]] = frozenset()

    def dataset_of(self, schema: str, table: str) -> str:
        """The dataset a table of ``schema`` holds: itself, or the dataset whose period it is
        (``<dataset>__2026_10`` of a partitioned flow's output)."""
        split = split_period_table(table)
        if split is not None and (schema, split[0]) in self.partitioned:
            return split[0]
        return table

    @property
    def schemas(self) -> tuple[str, ...]:
        """The department schemas, sorted."""
        return tuple(sorted(self.roles))

    def department_of(self, role: str) -> str | None:
        """The department a tagtrail role is named after (None for any other role)."""
        if not role.startswith(self.role_prefix):
            return None
        name = role.removeprefix(self.role_prefix)
        return name if self.roles.get(name) == role else None

    def readable(self, department: str) -> dict[str, tuple[str, ...] | None]:
        """``owner.dataset`` -> columns (None: the whole table) that ``department`` may read."""
        return {
            f"{a.owner}.{a.dataset}": a.columns for a in self.access if a.department == department
        }

    def granted(self, department: str, owner: str, dataset: str) -> Access | None:
        """The access ``department`` has to ``owner.dataset`` (or to a period table of it);
        None when it has none."""
        return self._index.get((department, owner, self.dataset_of(owner, dataset)))

    @cached_property
    def _index(self) -> dict[tuple[str, str, str], Access]:
        return {(a.department, a.owner, a.dataset): a for a in self.access}


def role_name(department: str, role_prefix: str = ROLE_PREFIX) -> str:
    """The role of ``department``: ``<prefix><department>``, checked to fit PostgreSQL's names."""
    check_prefix(role_prefix)
    role = f"{role_prefix}{department}"
    if len(role.encode()) > MAX_IDENTIFIER:
        raise GrantsError(
            f"the role of department '{department}' would be '{role}', longer than PostgreSQL's "
            f"{MAX_IDENTIFIER} characters; use a shorter role prefix or department name"
        )
    return role


def check_prefix(role_prefix: str) -> str:
    """``role_prefix`` if it can start a role name (lowercase letters, digits, underscores)."""
    if not _PREFIX.match(role_prefix) or len(role_prefix) >= MAX_IDENTIFIER:
        raise GrantsError(
            f"role prefix {role_prefix!r} is not allowed: use lowercase letters, digits and "
            f"underscores, not starting with a digit, shorter than {MAX_IDENTIFIER} characters "
            f"(default {ROLE_PREFIX!r})"
        )
    return role_prefix


def in_force(agreement: Agreement, as_of: dt.date) -> str | None:
    """None when ``agreement`` is in force on ``as_of``, else why not (started? ended?).

    The dates are judged as the ``agreement_in_force`` control judges them
    (:class:`~pipelines.policy.agreement.Term`); a passed review date does not end it.
    """
    term = Term(agreement, as_of, warning_days=0)
    if term.ended:
        return f"{agreement.id} ended on {agreement.end}"
    if as_of < agreement.start:
        return f"{agreement.id} starts on {agreement.start}"
    return None


def desired_grants(estate: Estate, as_of: dt.date, role_prefix: str = ROLE_PREFIX) -> DesiredGrants:
    """The privileges every department's role should hold on ``as_of`` (no database needed)."""
    roles = {name: role_name(name, role_prefix) for name in sorted(estate.departments)}
    declared = {
        name: (estate.dataset_owner[name], ds.column_names) for name, ds in estate.datasets.items()
    }
    access: list[Access] = [
        Access(
            department=owner,
            role=roles[owner],
            owner=owner,
            dataset=name,
            columns=None,
            agreements=(),
            reason=f"{owner} owns schema {owner} and reads every table in it",
        )
        for name, (owner, _) in sorted(declared.items())
    ]
    permitted: dict[tuple[str, str], dict[str, list[str]]] = {}
    lapsed: dict[tuple[str, str], list[Lapsed]] = {}
    for agr in sorted(estate.agreements.values(), key=lambda a: a.id):
        why_not = in_force(agr, as_of)
        for dataset, items in sorted(agr.data_items.items()):
            owner = estate.dataset_owner.get(dataset)
            if owner is None:
                continue
            for party in agr.parties:
                if party == owner or party not in roles:
                    continue
                if why_not is not None:
                    lapsed.setdefault((party, dataset), []).append(Lapsed(agr.id, why_not))
                    continue
                by_agreement = permitted.setdefault((party, dataset), {})
                by_agreement.setdefault(agr.id, []).extend(items)
    for (party, dataset), by_agreement in sorted(permitted.items()):
        owner, all_columns = declared[dataset]
        listed = {c for cols in by_agreement.values() for c in cols}
        whole = set(all_columns) <= listed
        columns: tuple[str, ...] | None = (
            None if whole else tuple(c for c in all_columns if c in listed)
        )
        ids = tuple(sorted(by_agreement))
        what = "every column" if columns is None else "columns " + ", ".join(columns)
        access.append(
            Access(
                department=party,
                role=roles[party],
                owner=owner,
                dataset=dataset,
                columns=columns,
                agreements=ids,
                reason=f"{' and '.join(ids)} in force on {as_of}: {party} reads {what} of "
                f"{owner}.{dataset}",
            )
        )
    return DesiredGrants(
        as_of=as_of,
        role_prefix=role_prefix,
        roles=roles,
        access=tuple(access),
        declared=declared,
        lapsed={key: tuple(found) for key, found in lapsed.items()},
        partitioned=frozenset(
            (estate.dataset_owner[f.output], f.output)
            for f in estate.flows.values()
            if f.partitions
        ),
    )
