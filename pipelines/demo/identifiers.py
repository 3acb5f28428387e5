"""Fake but realistic identifiers. NHS numbers use the 999 range the NHS reserves for testing."""

from __future__ import annotations

import numpy as np

NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
NI_SUFFIX = "ABCD"
DISTRICTS = tuple(f"TT{i}" for i in range(1, 9))


def nhs_check_digit(nine: str) -> int | None:
    """Modulus-11 check digit for nine digits; None where the number cannot be issued (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else None if check == 10 else check


def nhs_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct valid NHS numbers in the 999 test range."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        nine = "999" + f"{int(rng.integers(0, 1_000_000)):06d}"
        check = nhs_check_digit(nine)
        if check is not None and (num := nine + str(check)) not in seen:
            seen.add(num)
            out.append(num)
    return out


def ni_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct National Insurance numbers in the standard format (AB123456C)."""
    out: set[str] = set()
    while len(out) < n:
        prefix = NI_FIRST[rng.integers(len(NI_FIRST))] + NI_SECOND[rng.integers(len(NI_SECOND))]
        if prefix in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            continue
        out.add(f"{prefix}{int(rng.integers(0, 1_000_000)):06d}{NI_SUFFIX[rng.integers(4)]}")
    return sorted(out, key=lambda _: rng.random())


def postcode(rng: np.random.Generator, district: str) -> str:
    """A postcode in ``district`` (the fictional TT area)."""
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{district} {rng.integers(1, 10)}{letters[rng.integers(20)]}{letters[rng.integers(20)]}"


def uprns(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 12-digit Unique Property Reference Numbers."""
    picked = rng.choice(9_000_000, size=n, replace=False)
    return [f"1000{int(v):08d}" for v in picked]
