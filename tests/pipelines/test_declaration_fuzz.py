"""Fuzzing the declarations: every mutation that makes an estate invalid is refused by
``tagtrail validate`` with exit 2 and a message naming the file: no traceback, no silent acceptance.

Each mutation operator is chosen so that its result is always invalid (an unknown field, a value
of the wrong shape, a name that breaks its pattern, a repeated key, broken YAML, a missing file,
an impossible date, a byte that is not UTF-8), applied at a random place of a random file.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagster_project import cli
from pipelines.demo import DEMO_ESTATE
from pipelines.manifest import copy_estate

FREE_TEXT = {"description", "title", "statute", "source_system", "disposal", "name", "email"}
NAME = r"[a-z][a-z0-9_]*"
OPERATORS = (
    "unknown_field",
    "wrong_shape",
    "bad_name",
    "repeated_key",
    "broken_yaml",
    "missing_file",
    "impossible_date",
    "not_utf8",
)
_TEMPLATE = Path(tempfile.mkdtemp(prefix="tagtrail-fuzz-")) / "estate"
copy_estate(DEMO_ESTATE, _TEMPLATE)
FILES = sorted(p.relative_to(_TEMPLATE) for p in _TEMPLATE.rglob("*.yaml"))


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in parsed YAML data (mappings' keys and lists' indexes)."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _mutate(root: Path, rel: Path, operator: str, draw: st.DrawFn) -> str:
    """Apply ``operator`` somewhere in ``root/rel``; describe what was done."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    if operator == "missing_file":
        path.unlink()
        return f"deleted {rel}"
    if operator == "broken_yaml":
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines)))
        lines.insert(
            at, draw(st.sampled_from(["key: [unclosed", "\tindented: with a tab", "- {a: 1"]))
        )
        path.write_text("\n".join(lines))
        return f"broke YAML at line {at + 1} of {rel}"
    if operator == "not_utf8":
        raw = path.read_bytes()
        at = draw(st.integers(0, len(raw)))
        path.write_bytes(raw[:at] + b"\xff" + raw[at:])
        return f"byte 0xFF at {at} of {rel}"
    data = yaml.safe_load(text)
    spots = _paths(data)
    if operator == "unknown_field":
        maps = [p for p in spots if isinstance(_get(data, p), dict)]
        where = draw(st.sampled_from(maps))
        _get(data, where)["zz_not_a_field"] = "x"
    elif operator == "repeated_key":
        lines = text.splitlines()
        keyed = [i for i, line in enumerate(lines) if line and not line.startswith((" ", "#", "-"))]
        i = draw(st.sampled_from(keyed))
        path.write_text(
            "\n".join([*lines[: i + 1], lines[i].split(":")[0] + ": again", *lines[i + 1 :]])
        )
        return f"repeated the key on line {i + 1} of {rel}"
    elif operator == "wrong_shape":
        scalars = [p for p in spots if p and not isinstance(_get(data, p), dict | list)]
        where = draw(st.sampled_from(scalars))
        _set(data, where, {"zz": [1, 2]})
    elif operator == "bad_name":
        names = [
            p
            for p in spots
            if p
            and isinstance(_get(data, p), str)
            and p[-1] not in FREE_TEXT
            and _fullmatch(NAME, _get(data, p))
        ]
        if not names:
            return _mutate(root, rel, "unknown_field", draw)
        where = draw(st.sampled_from(names))
        _set(data, where, "Not A Name!")
    elif operator == "impossible_date":
        dates = [p for p in spots if p and type(_get(data, p)).__name__ == "date"]
        if not dates:
            return _mutate(root, rel, "unknown_field", draw)
        _set(data, draw(st.sampled_from(dates)), "2026-13-45")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return f"{operator} in {rel}"


def _fullmatch(pattern: str, value: str) -> bool:
    import re

    return re.fullmatch(pattern, value) is not None


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_invalid_mutation_is_refused_with_a_named_file(
    data: st.DataObject, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "estate"
        shutil.copytree(_TEMPLATE, root)
        rel = data.draw(st.sampled_from(FILES))
        operator = data.draw(st.sampled_from(OPERATORS))
        what = _mutate(root, rel, operator, data.draw)
        capsys.readouterr()
        code = cli.main(["validate", str(root), "--as-of", "2026-11-01"])
        err = capsys.readouterr().err
    assert code == 2, f"accepted silently: {what}"
    assert "Traceback" not in err
    assert str(root) in err, f"{what}: the message names no file of the estate:\n{err}"
