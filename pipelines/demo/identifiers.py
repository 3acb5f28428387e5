"""Fake but valid-looking identifiers, from ranges that are never issued to anyone.

NHS numbers come first from the range the NHS reserves for testing, 999 000 0000 to 999 999 9999,
which holds 909,091 numbers with a valid modulus-11 check digit. A larger population continues in
the blocks 998, 997, ... 900, in that order. No NHS number is issued from 9xx: England, Wales and
the Isle of Man issue 3xx (England only), 4xx and 6xx-7xx; Scotland's CHI numbers take 010-311 and
Northern Ireland's H&C numbers 320-399; NHS England's own test environments number their synthetic
patients in 9xx (the PDS sandbox's patient is 900 000 0009). The hundred blocks hold 90.9 million
valid numbers, each passing ``expectations.nhs`` and python-stdnum's ``stdnum.gb.nhs``.

National Insurance numbers use the prefixes NC and PP, which HMRC keeps for administrative
dummies and never issues as a NINO prefix: NC dummies (stakeholder pensions) end in M or F and PP
ones read PP999999P, so with a suffix of A-D these values are neither a NINO nor a dummy anyone
holds. The prefixes HMRC never uses at all (BG, GB, KN, NK, NT, TN, ZZ) would look faker still, but
the controls' recogniser, like HMRC's validation, does not take them for NI numbers and would not
protect them. Two prefixes, a million numbers and four suffixes: 8 million values.

Everything is drawn with whole-array numpy calls, so the values depend on the seed alone.
"""

from __future__ import annotations

import numpy as np

NHS_BLOCKS = tuple(range(999, 899, -1))
NI_PREFIXES = ("NC", "PP")
NI_SUFFIX = "ABCD"
NI_CAPACITY = len(NI_PREFIXES) * 1_000_000 * len(NI_SUFFIX)
UPRN_CAPACITY = 9_000_000
CAPACITY = NI_CAPACITY
"""People these identifiers can number distinctly: NI numbers bind first (NHS numbers: 90.9M)."""
DISTRICTS = tuple(f"TT{i}" for i in range(1, 9))
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(nine: str) -> int | None:
    """Modulus-11 check digit for nine digits; None where the number cannot be issued (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else None if check == 10 else check


def valid_nhs_block(block: int) -> np.ndarray:
    """Every valid NHS number whose first three digits are ``block``, ascending, as integers."""
    tail = np.arange(1_000_000, dtype=np.int64)
    total = np.full(
        len(tail), sum(int(d) * w for d, w in zip(f"{block:03d}", _NHS_WEIGHTS[:3], strict=True))
    )
    rest = tail.copy()
    for weight in _NHS_WEIGHTS[:2:-1]:
        total += rest % 10 * weight
        rest //= 10
    check = (11 - total % 11) % 11
    valid = check != 10
    numbers: np.ndarray = (block * 1_000_000 + tail[valid]) * 10 + check[valid]
    return numbers


def nhs_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct valid NHS numbers: the 999 test range first, then 998, 997 ... 900."""
    out: list[str] = nhs_number_array(rng, n).tolist()
    return out


def nhs_number_array(rng: np.random.Generator, n: int) -> np.ndarray:
    """:func:`nhs_numbers` as a numpy array of ten-character strings."""
    parts: list[np.ndarray] = []
    left = n
    for block in NHS_BLOCKS:
        if left <= 0:
            break
        valid = valid_nhs_block(block)
        take = min(left, len(valid))
        parts.append(valid[rng.choice(len(valid), size=take, replace=False)])
        left -= take
    if left > 0:
        raise ValueError(f"{n:,} NHS numbers asked for: the blocks 900-999 hold {n - left:,}")
    numbers = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    if len(parts) > 1:
        numbers = rng.permutation(numbers)
    text: np.ndarray = numbers.astype("U10")
    return text


def ni_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct National Insurance numbers (AB123456C) on the never-issued NC and PP prefixes."""
    out: list[str] = ni_number_array(rng, n).tolist()
    return out


def ni_number_array(rng: np.random.Generator, n: int) -> np.ndarray:
    """:func:`ni_numbers` as a numpy array of nine-character strings."""
    if n > NI_CAPACITY:
        raise ValueError(f"{n:,} NI numbers asked for: the fake prefixes hold {NI_CAPACITY:,}")
    code = rng.choice(NI_CAPACITY, size=n, replace=False)
    body, suffix = np.divmod(code, len(NI_SUFFIX))
    prefix, digits = np.divmod(body, 1_000_000)
    text = np.char.add(np.asarray(NI_PREFIXES)[prefix], np.char.zfill(digits.astype("U6"), 6))
    out: np.ndarray = np.char.add(text, np.asarray(list(NI_SUFFIX))[suffix])
    return out


def postcodes(rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
    """A postcode in each of ``districts`` (the fictional TT area), e.g. ``TT3 4BX``."""
    letters = np.asarray(list(POSTCODE_LETTERS))
    n = len(districts)
    sector = rng.integers(1, 10, size=n).astype("U1")
    unit = np.char.add(letters[rng.integers(20, size=n)], letters[rng.integers(20, size=n)])
    out: np.ndarray = np.char.add(np.char.add(districts.astype(str), " "), sector)
    return np.char.add(out, unit)


def uprns(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 12-digit Unique Property Reference Numbers (1000 followed by 8 digits)."""
    if n > UPRN_CAPACITY:
        raise ValueError(f"{n:,} UPRNs asked for: the range holds {UPRN_CAPACITY:,}")
    picked = rng.choice(UPRN_CAPACITY, size=n, replace=False)
    out: np.ndarray = (100_000_000_000 + picked).astype("U12")
    return out
