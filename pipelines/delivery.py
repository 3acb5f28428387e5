"""Reading a delivered extract file, and naming exactly what is wrong with one that cannot be read.

A delivery that is empty, binary, not in its declared encoding, not well-formed CSV or not a
Parquet file is bad data, not a mistake in the declarations: the quality gate holds it back with
a message naming the file and the problem (for an encoding error, the byte and its offset).
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd

_SNIFF = 1 << 16
_BLOCK = 1 << 20


class DeliveryError(ValueError):
    """A delivered file that cannot be read as what it claims to be."""


def read_csv(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Every value as text, exactly as delivered (only an empty field is missing)."""
    _not_empty(path)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
    if (nul := head.find(b"\x00")) >= 0 and not encoding.lower().startswith("utf-16"):
        raise DeliveryError(
            f"{path} is not a text file (a NUL byte at offset {nul}); a CSV extract is text"
        )
    try:
        return pd.read_csv(
            path,
            dtype="string",
            keep_default_na=False,
            na_values=[""],
            encoding=encoding,
            encoding_errors="strict",
        )
    except UnicodeDecodeError:
        raise DeliveryError(_encoding_problem(path, encoding)) from None
    except pd.errors.EmptyDataError:
        raise DeliveryError(f"{path} holds no header row") from None
    except pd.errors.ParserError as exc:
        raise DeliveryError(f"{path} is not well-formed CSV: {_first_line(exc)}") from None


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet extract, with its own types."""
    _not_empty(path)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DeliveryError(f"{path} is not a readable Parquet file: {_first_line(exc)}") from None


def _not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise DeliveryError(f"{path} is empty (0 bytes): nothing was delivered, not even a header")


def _encoding_problem(path: Path, encoding: str) -> str:
    """Where the first byte that is not ``encoding`` sits in the file."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset, line = 0, 1  # offset: bytes before ``block``
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            held = decoder.getstate()[0]  # the start of a character split across blocks
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                seen = held + block
                at = offset - len(held) + exc.start
                line += seen[: exc.start].count(b"\n")
                return (
                    f"{path} is not {encoding} text: byte 0x{seen[exc.start]:02X} at offset {at} "
                    f"(line {line}); deliver it as {encoding} or declare its encoding"
                )
            offset += len(block)
            line += text.count("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"{path} is not {encoding} text: it ends inside a character (offset {offset})"
    return f"{path} is not {encoding} text; deliver it as {encoding} or declare its encoding"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
