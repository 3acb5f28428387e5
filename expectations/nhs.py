"""NHS number check digit validation (pure Python, no Great Expectations import)."""

from __future__ import annotations

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def is_valid_nhs_number(s: str) -> bool:
    """Return True if ``s`` is a 10-digit NHS number with a correct modulus-11 check digit.

    The first nine digits are weighted 10..2 and summed; the check digit is
    ``11 - (sum % 11)``, where 11 becomes 0 and 10 means the number is invalid.
    Only plain ASCII digits are accepted: no spaces, separators or signs.
    """
    if not isinstance(s, str) or len(s) != 10 or not (s.isascii() and s.isdigit()):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(s[:9], _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(s[9])
