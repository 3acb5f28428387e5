"""Load an estate of declarations from a folder and check every cross-reference before anything runs.

An estate folder holds its manifest ``estate.yaml`` (name, suites folder, sources, policy),
``departments.yaml``, ``agreements.yaml``, ``datasets/*.yaml`` (one file a department),
``flows/*.yaml`` (one file a flow) and the flows' transform modules. Each dataset also needs a
Great Expectations suite, ``<suites>/<dataset>.json``, in the folder the manifest names.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from expectations import Suite
from pipelines.crosscheck import CrossCheck, unknown
from pipelines.crosscheck_partitions import check_partitions
from pipelines.heap import young_collections_only
from pipelines.manifest import MANIFEST, Manifest, Source
from pipelines.model import (
    Agreement,
    AgreementFile,
    Dataset,
    DatasetFile,
    Department,
    DepartmentFile,
    Flow,
)
from pipelines.yamlfile import DeclarationError, SourceFile, read_yaml

Transform = Callable[..., pd.DataFrame]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Declared:
    """Where a declaration came from: its file, the file's hash, and the location in it."""

    file: SourceFile
    loc: tuple[str | int, ...]

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def sha256(self) -> str:
        return self.file.sha256


@dataclass
class Estate:
    """Every declaration of an estate, cross-checked, with the files they came from."""

    root: Path
    manifest: Manifest | None = None
    suites_dir: Path | None = None
    departments: dict[str, Department] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    dataset_owner: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, Agreement] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    suites: dict[str, Suite] = field(default_factory=dict)
    transforms: dict[str, Transform] = field(default_factory=dict)
    declared_in: dict[str, Declared] = field(default_factory=dict)
    _producers: dict[str, Flow] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indexed: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    @cached_property
    def resolved_root(self) -> Path:
        """The estate folder's absolute path, symbolic links resolved (once)."""
        return self.root.resolve()

    @property
    def name(self) -> str:
        """The estate's name, from its manifest."""
        assert self.manifest is not None, "estate loaded without its manifest"
        return self.manifest.name

    @property
    def sources(self) -> dict[str, Source]:
        """Where each source dataset comes from, by dataset name."""
        assert self.manifest is not None, "estate loaded without its manifest"
        return self.manifest.sources

    def producer(self, dataset: str) -> Flow | None:
        """The flow whose output is ``dataset`` (the first declared); None for a source extract."""
        flow = self._producers.get(dataset)
        if self._indexed != (id(self.flows), len(self.flows)) or (
            flow is not None and self.flows.get(flow.name) is not flow
        ):
            self._producers = {}
            for f in self.flows.values():
                self._producers.setdefault(f.output, f)
            self._indexed = (id(self.flows), len(self.flows))
            flow = self._producers.get(dataset)
        return flow

    def topological_datasets(self) -> list[str]:
        """Dataset names, every input before the datasets made from it."""
        graph = {d: set(f.inputs) if (f := self.producer(d)) else set() for d in self.datasets}
        return list(graphlib.TopologicalSorter(graph).static_order())

    def downstream(self, dataset: str) -> set[str]:
        """Every dataset made, directly or not, from ``dataset``."""
        consumers: dict[str, list[str]] = {}
        for f in self.flows.values():
            for name in f.inputs:
                consumers.setdefault(name, []).append(f.output)
        out: set[str] = set()
        frontier = [dataset]
        while frontier:
            for made in consumers.get(frontier.pop(), ()):
                if made not in out:
                    out.add(made)
                    frontier.append(made)
        return out


def load_estate(root: Path, suites_dir: Path | None = None) -> Estate:
    """Load and cross-check the estate in ``root``; raise :class:`DeclarationError` listing every problem.

    ``suites_dir`` overrides the suites folder the manifest names.
    """
    root = Path(root)
    if not root.is_dir():
        raise DeclarationError(
            [f"{root}: estate folder not found; `tagtrail init {root}` creates a new estate"]
        )
    estate = Estate(root=root)
    problems: list[str] = []
    with young_collections_only():
        _Loader(estate, problems).load(root, suites_dir)
    if problems:
        raise DeclarationError(problems)
    return estate


class _Loader:
    def __init__(self, estate: Estate, problems: list[str]) -> None:
        self.e = estate
        self.problems = problems
        self.folders: dict[Path, Path] = {}

    def fail(self, src: SourceFile, loc: tuple[str | int, ...], msg: str) -> None:
        self.problems.append(f"{src.where(loc)}: {msg}")

    def load(self, root: Path, suites_dir: Path | None) -> None:
        manifest_src = self._manifest(root)
        for src, dept in self._items(root / "departments.yaml", DepartmentFile, "departments"):
            self._add(self.e.departments, dept.name, dept, src, "department")
        for src, agr in self._items(root / "agreements.yaml", AgreementFile, "agreements"):
            self._add(self.e.agreements, agr.id, self._with_policy(agr), src, "agreement")
        for path in sorted((root / "datasets").glob("*.yaml")):
            self._dataset_file(path)
        for path in sorted((root / "flows").glob("*.yaml")):
            flow_src = self._read(path)
            if flow_src is not None and (flow := self._parse(flow_src, Flow, ())) is not None:
                self._add(self.e.flows, flow.name, flow, flow_src, "flow")
                flow_src.release()
        if self.problems or manifest_src is None:
            return
        self.e.suites_dir = suites_dir or self._suites_dir(manifest_src)
        CrossCheck(self.e, self.problems).run(manifest_src, self.e.suites_dir)
        check_partitions(self.e, self.problems)

    def _manifest(self, root: Path) -> SourceFile | None:
        path = root / MANIFEST
        if not path.is_file():
            self.problems.append(
                f"{path}: file not found; every estate has a manifest naming it, its suites "
                f"folder, its sources and its policy (`tagtrail init` writes one)"
            )
            return None
        src = self._read(path)
        if src is not None:
            self.e.manifest = self._parse(src, Manifest, ())
        return src if self.e.manifest is not None else None

    def _with_policy(self, agr: Agreement) -> Agreement:
        """The agreement with the estate's policy defaults for what it does not set itself."""
        policy = self.e.manifest.policy if self.e.manifest else None
        if policy is None:
            return agr
        defaults = {
            "review_overdue": policy.review_overdue,
            "on_end": policy.on_agreement_end,
            "disclosure": policy.disclosure,
        }
        return agr.model_copy(
            update={k: v for k, v in defaults.items() if k not in agr.model_fields_set}
        )

    def _suites_dir(self, src: SourceFile) -> Path:
        assert self.e.manifest is not None
        suites = (self.e.root / self.e.manifest.suites).resolve()
        if not suites.is_dir():
            self.fail(
                src,
                ("suites",),
                f"suites folder {suites} does not exist; create it or name the folder that "
                "holds the estate's <dataset>.json suites",
            )
        return suites

    def _read(self, path: Path) -> SourceFile | None:
        if not path.is_file():
            self.problems.append(f"{path}: file not found")
            return None
        if path.parent not in self.folders:
            self.folders[path.parent] = path.parent.resolve()
        try:
            return read_yaml(path, self.folders[path.parent])
        except DeclarationError as exc:
            self.problems.extend(exc.problems)
            return None

    def _parse(self, src: SourceFile, model: type[M], loc: tuple[str | int, ...]) -> M | None:
        try:
            return model.model_validate(src.data if src.data is not None else {})
        except ValidationError as exc:
            for err in exc.errors():
                where = loc + tuple(p for p in err["loc"] if p not in ("function-after",))
                self.fail(src, where, _message(err))
            return None

    def _items(self, path: Path, model: type[M], key: str) -> Iterator[tuple[SourceFile, Any]]:
        src = self._read(path)
        if src is not None and (parsed := self._parse(src, model, ())) is not None:
            for item in getattr(parsed, key):
                yield src, item

    def _add(self, into: dict[str, Any], name: str, item: Any, src: SourceFile, kind: str) -> None:
        if name in into:
            first = self.e.declared_in[f"{kind}:{name}"].path
            self.fail(src, (), f"duplicate {kind} name '{name}' (first declared in {first})")
            return
        into[name] = item
        self.e.declared_in[f"{kind}:{name}"] = Declared(src, ())

    def _dataset_file(self, path: Path) -> None:
        src = self._read(path)
        parsed = self._parse(src, DatasetFile, ()) if src else None
        if src is None or parsed is None:
            return
        if parsed.department not in self.e.departments:
            self.fail(src, ("department",), unknown(self.e, "department", parsed.department))
            return
        for i, ds in enumerate(parsed.datasets):
            self._add(self.e.datasets, ds.name, ds, src, "dataset")
            self.e.declared_in[f"dataset:{ds.name}"] = Declared(src, ("datasets", i))
            self.e.dataset_owner.setdefault(ds.name, parsed.department)
        src.release()


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field; remove it or check its spelling"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] in ("literal_error", "enum"):
        return f"{msg} (got {err.get('input')!r})"
    return msg
