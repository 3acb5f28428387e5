"""Reading declaration files: strict YAML (no duplicate keys) and error locations with line numbers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
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
    """A declaration file as read: where it is, its hash, its text and its parsed content."""

    path: Path
    sha256: str
    text: str = field(repr=False, compare=False)
    folder: Path | None = field(default=None, repr=False, compare=False)

    @cached_property
    def data(self) -> Any:
        """The parsed content (parsed again if :meth:`release` forgot it)."""
        return _parse(self.path, self.text)

    def release(self) -> None:
        """Forget the parsed content once it has been validated: it is parsed again if asked
        for, and a large estate keeps fewer objects alive."""
        self.__dict__.pop("data", None)

    @cached_property
    def node(self) -> yaml.Node | None:
        """The file's node tree, with each node's line; composed only when a location is asked."""
        loader = _UniqueKeyLoader(self.text)
        try:
            node: yaml.Node | None = loader.get_single_node()
        finally:
            loader.dispose()
        return node

    @cached_property
    def resolved(self) -> Path:
        """The file's absolute path, symbolic links resolved (once; ``folder``, if given, is
        its folder's)."""
        if self.folder is not None and not self.path.is_symlink():
            return self.folder / self.path.name
        return self.path.resolve()

    def where(self, loc: tuple[str | int, ...] = ()) -> str:
        """``file, line N: field.path`` for a location in this file."""
        line = _line_of(self.node, loc)
        dotted = _readable(self.data, loc)
        place = f"{self.path}, line {line}" if line else str(self.path)
        return f"{place}: {dotted}" if dotted else place


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


_STR = "tag:yaml.org,2002:str"
_SIMPLE = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")
)
_MEMO = 100_000
_UNUSUAL = object()
_plain: dict[str, Any] = {}


class _Unusual(Exception):
    """Something :func:`fast_load` leaves to PyYAML: tags, anchors, merges, a repeated key."""


def fast_load(text: str) -> Any:
    """The data of a YAML document of plain mappings, sequences and scalars, built from libyaml's
    events with PyYAML's safe tag resolution and constructors; raises :class:`_Unusual` for
    anything else, so PyYAML loads (or rejects) that file as it always did."""
    loader = _UniqueKeyLoader(text)
    try:
        get = loader.get_event
        get()
        if type(get()) is yaml.StreamEndEvent:
            return None
        data = _node(loader, get, get())
        get()
        if type(get()) is not yaml.StreamEndEvent:
            raise _Unusual
        return data
    finally:
        loader.dispose()


_SCALAR, _MAP, _MAP_END = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQ, _SEQ_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent


def _node(loader: Any, get: Any, event: Any) -> Any:
    kind = type(event)
    if kind is _SCALAR:
        return _scalar(loader, event)
    if (kind is not _MAP and kind is not _SEQ) or event.anchor is not None:
        raise _Unusual
    if event.tag is not None and event.tag != "!":
        raise _Unusual
    if kind is _MAP:
        mapping: dict[Any, Any] = {}
        while (kind := type(event := get())) is not _MAP_END:
            if kind is not _SCALAR:
                raise _Unusual
            key = _scalar(loader, event)
            if key in mapping:
                raise _Unusual
            event = get()
            mapping[key] = (
                _scalar(loader, event) if type(event) is _SCALAR else _node(loader, get, event)
            )
        return mapping
    items: list[Any] = []
    while (kind := type(event := get())) is not _SEQ_END:
        items.append(_scalar(loader, event) if kind is _SCALAR else _node(loader, get, event))
    return items


def _scalar(loader: Any, event: Any) -> Any:
    """A scalar as PyYAML's composer and safe constructor make it (see ``Resolver.resolve``)."""
    if event.anchor is not None or (event.tag is not None and event.tag != "!"):
        raise _Unusual
    value: str = event.value
    if not event.implicit[0]:
        return value
    built = _plain.get(value, _plain)
    if built is _plain:
        built = _resolve(loader, value)
    if built is _UNUSUAL:
        raise _Unusual
    return built


def _resolve(loader: Any, value: str) -> Any:
    if len(_plain) > _MEMO:
        _plain.clear()
    tag = loader.resolve(yaml.ScalarNode, value, (True, False))
    built: Any = value
    if tag != _STR:
        node = yaml.ScalarNode(tag, value)
        built = loader.yaml_constructors[tag](loader, node) if tag in _SIMPLE else _UNUSUAL
    _plain[value] = built
    return built


def read_yaml(path: Path, folder: Path | None = None) -> SourceFile:
    """Parse ``path`` once, strictly, keeping each node's line for error messages.

    A file that is not UTF-8, a syntax error or a repeated key raises :class:`DeclarationError`.
    ``folder`` is the resolved path of ``path``'s folder, when the caller already knows it.
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
    src = SourceFile(path, hashlib.sha256(raw).hexdigest(), text, folder)
    src.__dict__["data"] = _parse(path, text)
    return src


def _parse(path: Path, text: str) -> Any:
    try:
        return fast_load(text)
    except (_Unusual, yaml.YAMLError, RecursionError):
        return _load(path, text)


def _load(path: Path, text: str) -> Any:
    """PyYAML's own composer and constructor: every feature, and its error messages."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DeclarationError([f"{path}{line}: not valid YAML: {problem}"]) from None
    finally:
        loader.dispose()


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
