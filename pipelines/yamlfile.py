"""Reading declaration files: strict YAML (no duplicate keys) and error locations with line numbers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class DeclarationError(ValueError):
    """A mistake in the declarations. ``str()`` names the file, the field and what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class SourceFile:
    """A declaration file as read: where it is, its hash and its parsed content."""

    path: Path
    sha256: str
    data: Any
    node: yaml.Node | None

    def where(self, loc: tuple[str | int, ...] = ()) -> str:
        """``file, line N: field.path`` for a location in this file."""
        line = _line_of(self.node, loc)
        field = _readable(self.data, loc)
        place = f"{self.path}, line {line}" if line else str(self.path)
        return f"{place}: {field}" if field else place


# libyaml's parser where it is installed (it is, with PyYAML's wheels): about 14x faster.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_Base):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' appears twice", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> SourceFile:
    """Parse ``path`` once, strictly, keeping each node's line for error messages.

    A file that is not UTF-8, a syntax error or a repeated key raises :class:`DeclarationError`.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = raw[: exc.start].count(b"\n") + 1
        raise DeclarationError(
            [
                f"{path}, line {at}: not UTF-8 text (byte 0x{raw[exc.start]:02X} at offset "
                f"{exc.start}); save the file as UTF-8"
            ]
        ) from None
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DeclarationError([f"{path}{line}: not valid YAML: {problem}"]) from None
    finally:
        loader.dispose()
    return SourceFile(path, hashlib.sha256(raw).hexdigest(), data, node)


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    best = node
    for part in loc:
        if isinstance(best, yaml.MappingNode):
            nxt = next((v for k, v in best.value if k.value == part), None)
        elif (
            isinstance(best, yaml.SequenceNode) and isinstance(part, int) and part < len(best.value)
        ):
            nxt = best.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        best = nxt
    return best.start_mark.line + 1 if best is not None else None


def _readable(data: Any, loc: tuple[str | int, ...]) -> str:
    """``datasets[inpatient_episodes].columns[nhs_number].tags`` rather than ``datasets.0.columns.3``."""
    out: list[str] = []
    cur = data
    for part in loc:
        if isinstance(part, int) and isinstance(cur, list) and part < len(cur):
            item = cur[part]
            label = item.get("name") or item.get("id") if isinstance(item, dict) else None
            out[-1:] = [f"{out[-1] if out else ''}[{label if label else part}]"]
            cur = item
        else:
            out.append(str(part))
            cur = cur.get(part) if isinstance(cur, dict) else None
    return ".".join(out)
