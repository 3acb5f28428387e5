""":func:`pipelines.extracts.conform` as SQL: a source column cast to its declared type.

Each supported pair of (declared type, source column type) gives the value as the declared type,
null where pandas' conversion gives null, and a predicate that is true exactly where pandas
reports an unreadable value (a non-null source value whose conversion is null). The rules follow
pandas on the Python objects psycopg returns:

- text read as a number must look like one (``[+-]digits[.digits][e[+-]digits]``, spaces
  around allowed; ``inf``/``infinity`` for floats; ``nan`` and ``''`` are unreadable); an
  integer must be whole. A floating-point ``NaN`` in the source is a null, as pandas sees it.
- a boolean reads ``true/t/yes/y/1`` and ``false/f/no/n/0`` (any case, trimmed), the text of a
  number included (``1.0`` is unreadable, as in pandas).
- a date from a date or timestamp is its day (UTC for a timestamp with time zone); a date from
  text is parsed by pandas itself, one distinct value at a time (see :mod:`.load`).

Where pandas returns wrong numbers instead of a failure (an integer column of ``inf``, or of
whole values beyond the 64-bit range), the value is reported unreadable instead. A pair not
listed (e.g. a timestamp declared as a string) is not supported here: :func:`conversion` returns
None and the caller validates in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pipelines.model import ColumnType

TEXT, INT, DEC, FLT, BOOL, DATE, TS, TSTZ = (
    "text",
    "int",
    "numeric",
    "float",
    "bool",
    "date",
    "timestamp",
    "timestamptz",
)
FAMILIES = {
    "text": TEXT,
    "varchar": TEXT,
    "int2": INT,
    "int4": INT,
    "int8": INT,
    "numeric": DEC,
    "float4": FLT,
    "float8": FLT,
    "bool": BOOL,
    "date": DATE,
    "timestamp": TS,
    "timestamptz": TSTZ,
}
NUMBER = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?\s*$"
INFINITE = r"^\s*[+-]?(inf|infinity)\s*$"
TRUE = ("true", "t", "yes", "y", "1")
FALSE = ("false", "f", "no", "n", "0")
MAX_FLOAT = "1.7976931348623157e308"


@dataclass(frozen=True)
class Conversion:
    """A source column as its declared type, and where its values are unreadable."""

    value: sql.Composable
    bad: sql.Composable | None


def _f(template: str, **parts: sql.Composable) -> sql.Composed:
    return sql.SQL(template).format(**parts)


def _lit(text: str) -> sql.Literal:
    return sql.Literal(text)


def _bad(value: sql.Composable, raw: sql.Composable) -> sql.Composed:
    return _f("({raw} IS NOT NULL AND {value} IS NULL)", raw=raw, value=value)


def _trimmed(raw: sql.Composable) -> sql.Composed:
    return _f("regexp_replace({r}, '^\\s+|\\s+$', '', 'g')", r=raw)


def _not_nan(raw: sql.Composable) -> sql.Composed:
    """``raw`` with NaN as null (pandas sees a float NaN as missing)."""
    return _f("NULLIF({r}, 'NaN')", r=raw)


def _whole(number: sql.Composable) -> sql.Composed:
    """A float or numeric as bigint if whole and in range, else null."""
    return _f(
        "(CASE WHEN {n} = trunc({n}) AND abs({n}) < 9223372036854775807 THEN {n}::bigint END)",
        n=number,
    )


def _text_number(raw: sql.Composable) -> sql.Composed:
    """Text that looks like a finite number, as numeric (null otherwise)."""
    return _f(
        "(CASE WHEN {r} ~ {pattern} THEN {t}::numeric END)",
        r=raw,
        pattern=_lit(NUMBER),
        t=_trimmed(raw),
    )


def _to_float(number: sql.Composable) -> sql.Composed:
    """A numeric as double precision, overflowing to infinity and underflowing to zero."""
    return _f(
        "(CASE WHEN {n} > {m} THEN 'Infinity'::float8 WHEN {n} < -{m} THEN '-Infinity'::float8 "
        "WHEN abs({n}) < 1e-307 THEN 0::float8 ELSE {n}::float8 END)",
        n=number,
        m=sql.SQL(MAX_FLOAT),
    )


def _boolean_text(text: sql.Composable) -> sql.Composed:
    return _f(
        "(CASE WHEN lower({t}) IN ({yes}) THEN true WHEN lower({t}) IN ({no}) THEN false END)",
        t=text,
        yes=sql.SQL(", ").join(map(sql.Literal, TRUE)),
        no=sql.SQL(", ").join(map(sql.Literal, FALSE)),
    )


def conversion(
    kind: ColumnType, family: str, raw: sql.Composable, parsed_date: sql.Composable | None = None
) -> Conversion | None:
    """How ``raw`` (a source column of ``family``) converts to ``kind``; None if unsupported.

    ``parsed_date`` is the pandas-parsed day of a text value (for text declared as a date).
    """
    value: sql.Composable | None = None
    if kind is ColumnType.STRING:
        if family in (TEXT, INT, DATE):
            return Conversion(_f("{r}::text", r=raw), None)
        if family == BOOL:
            return Conversion(
                _f("(CASE {r} WHEN true THEN 'True' WHEN false THEN 'False' END)", r=raw), None
            )
        return None
    if kind is ColumnType.INTEGER:
        if family == INT:
            return Conversion(_f("{r}::bigint", r=raw), None)
        if family == BOOL:
            return Conversion(_f("({r})::int::bigint", r=raw), None)
        if family in (DEC, FLT):
            number = _not_nan(_f("{r}::float8", r=raw))
            value = _whole(number)
            return Conversion(value, _bad(value, number))
        if family == TEXT:
            value = _whole(_text_number(raw))
    elif kind is ColumnType.FLOAT:
        if family in (INT, DEC, FLT):
            return Conversion(_not_nan(_f("{r}::float8", r=raw)), None)
        if family == BOOL:
            return Conversion(_f("({r})::int::float8", r=raw), None)
        if family == TEXT:
            value = _f(
                "(CASE WHEN {r} ~* {inf} THEN (CASE WHEN left({t}, 1) = '-' THEN '-Infinity' "
                "ELSE 'Infinity' END)::float8 ELSE {n} END)",
                r=raw,
                inf=_lit(INFINITE),
                t=_trimmed(raw),
                n=_to_float(_text_number(raw)),
            )
    elif kind is ColumnType.BOOLEAN:
        if family == BOOL:
            return Conversion(raw, None)
        if family in (TEXT, INT, DEC):
            raw = _not_nan(raw) if family == DEC else raw
            text: sql.Composable = _trimmed(raw) if family == TEXT else _f("{r}::text", r=raw)
            value = _boolean_text(text)
        elif family == FLT:
            value = sql.SQL("NULL::boolean")
            raw = _not_nan(raw)
    elif kind is ColumnType.DATE:
        if family == DATE:
            day: sql.Composable = _f("{r}::timestamp", r=raw)
        elif family == TS:
            day = _f("date_trunc('day', {r})", r=raw)
        elif family == TSTZ:
            day = _f("date_trunc('day', {r} AT TIME ZONE 'UTC')", r=raw)
        elif family == TEXT and parsed_date is not None:
            return Conversion(parsed_date, _bad(parsed_date, raw))  # pandas' own reading
        else:
            return None
        return Conversion(day, None)
    if value is None:
        return None
    return Conversion(value, _bad(value, raw))


def key_text(kind: ColumnType, value: sql.Composable) -> sql.Composed:
    """A converted value as Python's ``str`` shows it (how failing row keys are reported)."""
    if kind is ColumnType.BOOLEAN:
        return _f("(CASE {v} WHEN true THEN 'True' WHEN false THEN 'False' END)", v=value)
    if kind is ColumnType.DATE:
        return _f("to_char({v}, 'YYYY-MM-DD HH24:MI:SS')", v=value)
    if kind is ColumnType.FLOAT:
        return _f(
            "(CASE WHEN {v} = trunc({v}) AND abs({v}) < 1e16 THEN trunc({v})::numeric::text || '.0' "
            "ELSE {v}::text END)",
            v=value,
        )
    return _f("{v}::text", v=value)
