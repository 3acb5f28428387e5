"""NHS number check digit validation (no Great Expectations import): one value, or a whole
column at once with NumPy and Arrow."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_WEIGHTS_ARRAY = np.array(_WEIGHTS, dtype=np.int64)


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


def valid_nhs_array(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """:func:`is_valid_nhs_number` on a whole Arrow string array (null: False)."""
    text = pc.fill_null(values, "")
    shaped = np.asarray(pc.match_substring_regex(text, r"^[0-9]{10}$"), dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    if shaped.any():
        chosen = pc.filter(text, pa.array(shaped)).to_numpy(zero_copy_only=False).astype("S10")
        digits = np.frombuffer(chosen.tobytes(), dtype=np.uint8).reshape(-1, 10) - ord("0")
        check = 11 - (digits[:, :9].astype(np.int64) @ _WEIGHTS_ARRAY) % 11
        check[check == 11] = 0
        out[shaped] = (check != 10) & (check == digits[:, 9])
    return out


def valid_nhs_numbers(values: Iterable[object]) -> np.ndarray:
    """:func:`is_valid_nhs_number` of each value (a value that is not a string: False)."""
    items = values if hasattr(values, "__len__") else list(values)
    try:
        arr = pa.array(items, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all strings: each value on its own
        return np.fromiter(
            (isinstance(v, str) and is_valid_nhs_number(v) for v in items), dtype=bool
        )
    return valid_nhs_array(arr)
