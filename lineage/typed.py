"""Serialised OpenLineage events read back into openlineage-python's typed classes.

openlineage-python builds and serialises events but does not read them, so this is the reader:
a RunEvent as data becomes an ``event_v2.RunEvent`` of ``Run``, ``Job`` and datasets, each facet
an instance of the class its ``_schemaURL`` names, the client's generated facets and tagtrail's
own (matched exactly, then with the version left out). A facet no class is known for (another
producer's custom facet), or one whose shape its class no longer fits (an earlier version), is
kept as data: the base facet of its place with its fields as additional properties, the way the
client's ``with_additional_properties`` holds them. Fields a class does not declare are kept the
same way, so nothing is lost: serialising the result gives the data back.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import types
from collections.abc import Mapping
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

import attr
from openlineage.client import generated
from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated.base import BaseFacet
from openlineage.client.utils import add_additional_properties

from lineage.control_facets import TagtrailAuditRunFacet, TagtrailControlsDatasetFacet
from lineage.disposal import TagtrailDisposalDatasetFacet
from lineage.facets import TagtrailPrivacyDatasetFacet

_TAGTRAIL_FACETS: tuple[type[BaseFacet], ...] = (
    TagtrailAuditRunFacet,
    TagtrailControlsDatasetFacet,
    TagtrailDisposalDatasetFacet,
    TagtrailPrivacyDatasetFacet,
)
_VERSION = re.compile(r"/\d+-\d+-\d+/")


def run_event(data: Mapping[str, Any]) -> RunEvent:
    """``data`` (a serialised RunEvent) as the client's ``RunEvent``.

    Raises ``TypeError`` or ``ValueError`` when the event itself (not a facet) does not fit.
    """
    event: RunEvent = _structure(RunEvent, data)
    return event


def facet_class(schema_url: str) -> type[BaseFacet] | None:
    """The class of the facet a ``_schemaURL`` names, if the client or tagtrail has one."""
    classes = _facet_classes()
    return classes.get(schema_url) or classes.get(_unversioned(schema_url))


@functools.cache
def _facet_classes() -> dict[str, type[BaseFacet]]:
    modules = [
        importlib.import_module(f"{generated.__name__}.{m.name}")
        for m in pkgutil.iter_modules(generated.__path__)
    ]
    found: dict[str, type[BaseFacet]] = {}
    for cls in [c for m in modules for c in vars(m).values() if _is_facet(c)] + [*_TAGTRAIL_FACETS]:
        url = cls._get_schema()
        found[url] = cls
        found.setdefault(_unversioned(url), cls)
    return found


def _is_facet(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseFacet) and attr.has(value)


def _unversioned(url: str) -> str:
    return _VERSION.sub("/", url, count=1)


def _structure(cls: Any, data: Mapping[str, Any]) -> Any:
    hints = _hints(cls)
    fields = attr.fields(cls)
    given = [f for f in fields if f.init and f.name in data]
    built = cls(**{f.alias: _value(hints[f.name], data[f.name]) for f in given})
    extra = {k: v for k, v in data.items() if k not in {f.name for f in fields}}
    if extra:
        built = add_additional_properties(built, **extra)
    for f in fields:
        if not f.init and f.name in data:
            setattr(built, f.name, data[f.name])
    return built


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _value(options[0], value) if len(options) == 1 else value
    if origin is list and isinstance(value, list):
        return [_value(args[0], v) for v in value]
    if origin is dict and isinstance(value, Mapping):
        if isinstance(args[1], type) and issubclass(args[1], BaseFacet):
            return {k: _facet(args[1], v) for k, v in value.items()}
        return {k: _value(args[1], v) for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if isinstance(hint, type) and attr.has(hint) and isinstance(value, Mapping):
        return _structure(hint, value)
    return value


def _facet(base: type[BaseFacet], data: Any) -> Any:
    if not isinstance(data, Mapping):
        return data
    url = data.get("_schemaURL")
    cls = facet_class(url) if isinstance(url, str) else None
    if cls is not None:
        try:
            return _structure(cls, data)
        except (TypeError, ValueError):
            pass  # an earlier shape of the facet: kept as data below
    return _structure(base, data)
