"""Masking primitives used by transforms: keyed hashing and generalisations."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

AGE_BANDS: tuple[tuple[int, str], ...] = ((18, "0-17"), (65, "18-64"), (75, "65-74"), (85, "75-84"))
OLDEST_BAND = "85+"


def keyed_hash(values: pd.Series, key: bytes, length: int = 32) -> pd.Series:
    """HMAC-SHA-256 of each value's text (``str(value)``), hex, first ``length`` characters;
    nulls stay null.

    Each distinct text is hashed once (a person appears in many rows), from a copy of one HMAC
    already keyed (keying OpenSSL's HMAC costs more than hashing a short value).
    """
    text = _texts(values)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    keyed = hmac.new(key, digestmod="sha256")

    def one(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()[:length]

    hashed = np.array([*map(one, uniques.tolist()), None], dtype=object)
    return pd.Series(hashed[codes], index=values.index, dtype="string")


def _texts(values: pd.Series) -> pd.Series:
    """Each value as ``str()`` writes it (nulls and NaN as null), as one string column."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return values.astype("string")
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return values.astype("string")  # the digits str() writes
    text = np.array([None if _null(v) else str(v) for v in values.tolist()], dtype=object)
    return pd.Series(text, index=values.index, dtype="string")


def _null(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def age_band(dates_of_birth: pd.Series, as_of: dt.date) -> pd.Series:
    """Age bands (0-17, 18-64, 65-74, 75-84, 85+) at ``as_of``."""
    dob = pd.to_datetime(dates_of_birth)
    ref = pd.Timestamp(as_of)
    had_birthday = (dob.dt.month < ref.month) | (
        (dob.dt.month == ref.month) & (dob.dt.day <= ref.day)
    )
    age = ref.year - dob.dt.year - (~had_birthday).astype(int)
    out = pd.Series(OLDEST_BAND, index=dates_of_birth.index, dtype="string")
    for upper, label in reversed(AGE_BANDS):
        out = out.mask(age < upper, label)
    return out.mask(dob.isna())


_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"  # what str.strip() removes, in ASCII


def postcode_district(postcodes: pd.Series) -> pd.Series:
    """The outward code of a UK postcode: ``TT3 4AB`` becomes ``TT3``.

    Surrounding whitespace is dropped, then everything from the first space; the rest is
    upper-cased. ASCII columns (every real postcode) are done in Arrow.
    """
    text = postcodes.astype("string")
    array = pa.array(text, type=pa.string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pc.all(pc.string_is_ascii(array)).as_py() is not False:
        trimmed = pc.replace_substring_regex(array, rf"^{_SPACE}+|{_SPACE}+$", "")
        outward = pc.replace_substring_regex(trimmed, r"(?s) .*$", "")
        return pd.Series(pc.ascii_upper(outward), index=postcodes.index, dtype="string")
    return text.str.strip().str.split(" ").str[0].str.upper()


def month(dates: pd.Series) -> pd.Series:
    """``YYYY-MM``."""
    return pd.to_datetime(dates).dt.strftime("%Y-%m").astype("string")


def band(values: pd.Series, edges: list[float], labels: list[str]) -> pd.Series:
    """Values cut into labelled bands (left-closed)."""
    return pd.cut(values, bins=[-np.inf, *edges, np.inf], labels=labels, right=False).astype(
        "string"
    )


_ICD10_CHAPTERS: tuple[tuple[str, str], ...] = (
    ("B99", "I Infectious"),
    ("D48", "II Neoplasms"),
    ("D89", "III Blood"),
    ("E90", "IV Endocrine"),
    ("F99", "V Mental"),
    ("G99", "VI Nervous"),
    ("H59", "VII Eye"),
    ("H95", "VIII Ear"),
    ("I99", "IX Circulatory"),
    ("J99", "X Respiratory"),
    ("K93", "XI Digestive"),
    ("L99", "XII Skin"),
    ("M99", "XIII Musculoskeletal"),
    ("N99", "XIV Genitourinary"),
    ("O99", "XV Pregnancy"),
    ("P96", "XVI Perinatal"),
    ("Q99", "XVII Congenital"),
    ("R99", "XVIII Symptoms"),
    ("T98", "XIX Injury"),
    ("Y98", "XX External causes"),
    ("Z99", "XXI Health status"),
)


def icd10_chapter(codes: pd.Series) -> pd.Series:
    """The ICD-10 chapter of each code, by its first three characters."""

    def one(code: object) -> object:
        if not isinstance(code, str) or len(code) < 3:
            return pd.NA
        stem = code[:3].upper()
        return next((name for last, name in _ICD10_CHAPTERS if stem <= last), pd.NA)

    return codes.map(one).astype("string")


def class_sizes(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], unit: str | None = None
) -> pd.Series:
    """For each row, how many rows (or distinct ``unit`` values) share its quasi-identifiers."""
    qis = list(quasi_identifiers)
    keys = frame[qis].astype("string").fillna("\x00")
    if unit is None:
        return keys.groupby(qis, dropna=False)[qis[0]].transform("size")
    grouped = keys.assign(_unit=frame[unit].to_numpy()).groupby(qis, dropna=False)["_unit"]
    return grouped.transform("nunique")


def local_suppression(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    suppress: Sequence[str] = (),
    unit: str | None = None,
    stored: pd.Series | None = None,
) -> pd.DataFrame:
    """Make ``frame`` k-anonymous on ``quasi_identifiers`` with as little loss as this simple rule allows.

    For rows in classes smaller than ``k`` the ``suppress`` columns are blanked one at a time, in
    order (a blank is a class value of its own), then any row still in a small class is dropped.
    ``stored`` marks the rows that will be kept (say, those inside the retention period); only
    they count towards class sizes, and the others are left for the rule that removes them.
    """
    out = frame.copy()
    kept = (
        pd.Series(True, index=out.index)
        if stored is None
        else stored.reindex(out.index, fill_value=True).astype(bool)
    )

    def small() -> pd.Series:
        sizes = class_sizes(out.loc[kept], quasi_identifiers, unit)
        return (sizes < k).reindex(out.index, fill_value=False).astype(bool)

    for column in suppress:
        rows = small()
        if not rows.any():
            break
        out[column] = out[column].convert_dtypes()
        out.loc[rows, column] = pd.NA
    return out.loc[~small()].reset_index(drop=True)
