"""Linking a person's identifiers across datasets: by scheme, after normalising, vectorised.

A dataset column declaring ``identifier: <scheme>`` holds that scheme's identifier of the person
its row is about. Starting from a set of people (an opt-out register), every row of a *linking*
dataset that holds one of their identifiers contributes the row's other identifiers (a person
index holding an NHS and a National Insurance number a row; any input row that holds two), until
nothing new is found. Rows about two people at once would link them both: the error is to leave
out too many, never too few.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.model import Dataset
from pipelines.policy.digests import DigestIndex
from pipelines.policy.issued import Issued
from pipelines.policy.recognise import SCHEMES, Known, Scheme

PSEUDONYMOUS = "person.id.pseudonymous"
_LONG = ["row", "scheme", "value"]

Pseudonymise = Callable[[pd.Series], pd.Series]


def identifier_columns(dataset: Dataset, frame: pd.DataFrame) -> list[tuple[str, Scheme]]:
    """The columns of ``frame`` that ``dataset`` declares as identifiers, with their schemes."""
    return [
        (c.name, SCHEMES[c.identifier])
        for c in dataset.columns
        if c.identifier is not None and c.name in frame.columns
    ]


def pseudonym_columns(dataset: Dataset, frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that ``dataset`` tags as keyed pseudonyms of a person."""
    return [c.name for c in dataset.columns if PSEUDONYMOUS in c.tags and c.name in frame.columns]


def long_ids(frame: pd.DataFrame, columns: Sequence[tuple[str, Scheme]]) -> pd.DataFrame:
    """One row per identifier present: the frame row, the scheme, the normalised value."""
    parts = []
    for column, scheme in columns:
        normal = scheme.normalise(frame[column])
        present = (normal.notna() & (normal != "")).to_numpy(dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "row": np.flatnonzero(present),
                    "scheme": scheme.name,
                    "value": normal[present].to_numpy(dtype=object),
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _LONG})
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class People:
    """The identifiers of a set of people: one row per (scheme, normalised value), with the
    number of the person it belongs to (the first person it was linked to)."""

    ids: pd.DataFrame  # scheme, value, person

    @classmethod
    def seed(cls, values: pd.Series, scheme: Scheme) -> People:
        """The people identified by ``values`` in ``scheme``: one person per distinct value."""
        normal = scheme.normalise(values).dropna()
        unique = pd.unique(normal[normal != ""].to_numpy(dtype=object))
        return cls(
            pd.DataFrame({"scheme": scheme.name, "value": unique, "person": np.arange(len(unique))})
        )

    @property
    def count(self) -> int:
        """How many people (register entries) the set started from."""
        return int(self.ids["person"].nunique())

    def link(self, linkers: Iterable[pd.DataFrame], max_rounds: int = 50) -> People:
        """Every identifier the ``linkers`` (frames from :func:`long_ids`) tie to these people."""
        chosen = [frame for frame in linkers if frame["scheme"].nunique() > 1]
        ids = self.ids
        for _ in range(max_rounds):
            found = [ids]
            for frame in chosen:
                owner = self.owners(frame, ids)
                rows = frame["row"].to_numpy(dtype=np.int64)
                by_row = np.full(int(rows.max(initial=-1)) + 1, -1, dtype=np.int64)
                by_row[owner.index.to_numpy(dtype=np.int64)] = owner.to_numpy(dtype=np.int64)
                person = by_row[rows]
                tied = frame.loc[person >= 0, ["scheme", "value"]].assign(
                    person=person[person >= 0]
                )
                found.append(tied)
            grown = pd.concat(found, ignore_index=True).drop_duplicates(["scheme", "value"])
            if len(grown) == len(ids):
                break
            ids = grown.reset_index(drop=True)
        return People(ids)

    @staticmethod
    def owners(frame: pd.DataFrame, ids: pd.DataFrame) -> pd.Series:
        """For each row of ``frame`` (from :func:`long_ids`) holding a known identifier: its person."""
        person = person_of(frame["scheme"], frame["value"], ids)
        hit = person >= 0
        rows = pd.Index(frame["row"].to_numpy(dtype=np.int64)[hit], name="row")
        return pd.Series(person[hit], index=rows, name="person").groupby(level=0).min()

    def matched(self, frame: pd.DataFrame) -> pd.Series:
        """The person of each row of ``frame`` (from :func:`long_ids`) that holds one of theirs."""
        return self.owners(frame, self.ids)

    def by_scheme(self) -> dict[str, list[str]]:
        """The normalised identifiers, by scheme."""
        return {
            str(scheme): group["value"].tolist()
            for scheme, group in self.ids.groupby("scheme", sort=False)
        }

    @cached_property
    def known(self) -> Known:
        """These people's identifiers as a :class:`~pipelines.policy.recognise.Known` to search."""
        return Known(by_scheme=self.by_scheme())


def person_of(schemes: pd.Series, values: pd.Series, ids: pd.DataFrame) -> np.ndarray:
    """For each (scheme, normalised value), the person ``ids`` gives it, else -1 (a null never
    matches). ``ids`` holds each (scheme, value) once."""
    if not len(ids) or not len(values):
        return np.full(len(values), -1, dtype=np.int64)
    table = _keys(ids["scheme"], ids["value"])
    at = pc.fill_null(pc.index_in(_keys(schemes, values), value_set=table), -1)
    found = np.asarray(at, dtype=np.int64)
    persons = ids["person"].to_numpy(dtype=np.int64)
    return np.where(found >= 0, persons[np.maximum(found, 0)], -1)


def _keys(schemes: pd.Series, values: pd.Series) -> pa.Array:
    """One text key per (scheme, value): a scheme name holds no U+001F, so the key is unique."""
    scheme = pa.array(schemes, type=pa.string(), from_pandas=True)
    value = pa.array(values, type=pa.string(), from_pandas=True)
    return pc.binary_join_element_wise(scheme, value, "\x1f")


def written_forms(
    frame: pd.DataFrame, columns: Sequence[tuple[str, Scheme]], people: People
) -> pd.DataFrame:
    """How ``frame`` writes these people's identifiers: each raw value as text, and its person.

    A keyed pseudonym is a hash of whatever text the transform hashed; hashing the forms the
    inputs hold (beside the normal and display forms) finds it however the input wrote the
    identifier.
    """
    parts = [_FORMS]
    for column, scheme in columns:
        values = frame[column]
        normal = scheme.normalise(values)
        person = person_of(pd.Series(scheme.name, index=values.index), normal, people.ids)
        hit = (person >= 0) & values.notna().to_numpy(dtype=bool)
        forms = values[hit].astype(object).map(str).to_numpy(dtype=object)
        parts.append(pd.DataFrame({"form": forms, "person": person[hit]}))
    return pd.concat(parts, ignore_index=True).drop_duplicates("form")


def display_forms(people: People) -> pd.DataFrame:
    """Each identifier in its normal form and as people usually write it, and its person."""
    ids = people.ids
    v = ids["value"].astype("string")
    nhs = (ids["scheme"] == "nhs_number") & (v.str.len() == 10)
    ni = (ids["scheme"] == "ni_number") & (v.str.len() == 9)
    written = [
        v,
        (v.str[:3] + " " + v.str[3:6] + " " + v.str[6:])[nhs],
        (v.str[:3] + "-" + v.str[3:6] + "-" + v.str[6:])[nhs],
        (v.str[:2] + " " + v.str[2:4] + " " + v.str[4:6] + " " + v.str[6:8] + " " + v.str[8:])[ni],
        v.str.lower()[ni],
    ]
    return pd.concat(
        [
            pd.DataFrame({"form": w.astype(object), "person": ids["person"][w.index]})
            for w in written
        ],
        ignore_index=True,
    )


_FORMS = pd.DataFrame({"form": pd.Series(dtype=object), "person": pd.Series(dtype="int64")})


@dataclass(frozen=True)
class Pseudonyms:
    """Keyed pseudonyms of people's identifiers in every form, and whose each is."""

    index: DigestIndex
    persons: np.ndarray
    hexes: pa.Array  # entry i is the pseudonym of persons[i], lower-case hex

    @classmethod
    def of(cls, forms: pd.DataFrame, pseudonymise: Pseudonymise | None) -> Pseudonyms:
        """The pseudonyms of ``forms`` (``form``, ``person``); none without a key."""
        forms = forms.drop_duplicates("form")
        if pseudonymise is None or forms.empty:
            empty = pa.array([], type=pa.string())
            return cls(DigestIndex.of_hex([]), np.zeros(0, dtype=np.int64), empty)
        hashed = pseudonymise(forms["form"].astype("string")).astype("string").str.lower()
        hexes = hashed.fillna("").tolist()
        return cls(
            DigestIndex.of_hex(hexes),
            forms["person"].to_numpy(dtype=np.int64),
            pa.array(hexes, type=pa.string()),
        )

    def find(self, values: pd.Series, issued: Issued | None = None) -> np.ndarray:
        """The person each value is a pseudonym of, else -1.

        Values the run ``issued`` came from the same keyed hash as these pseudonyms, at the
        same length, so they are compared exactly; any other value is compared in every form
        (case, base64, either one a 16+ character prefix of the other).
        """
        exact = issued.mask(values) if issued is not None else np.zeros(len(values), bool)
        out = np.full(len(values), -1, dtype=np.int64)
        if exact.any():
            rows = np.flatnonzero(exact)
            array = pa.array(values.iloc[rows], type=pa.string(), from_pandas=True)
            at = np.asarray(pc.fill_null(pc.index_in(array, value_set=self.hexes), -1))
            out[rows[at >= 0]] = self.persons[at[at >= 0]]
        rest = np.flatnonzero(~exact)
        entries = self.index.find(values.iloc[rest] if exact.any() else values)
        hit = entries >= 0
        out[rest[hit]] = self.persons[entries[hit]]
        return out
