"""Importing an estate's own transform modules, which live in the estate folder.

A flow names its transform ``flows.care_statistics:transform``: the module is the file
``<estate>/flows/care_statistics.py``. Each estate folder is mounted as a package of its own
(``tagtrail_estate_<hash of its path>``), so two estates can both have a ``flows`` folder, modules
inside an estate can import each other relatively, and nothing outside the estate is importable
through a declaration.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE_PREFIX = "tagtrail_estate_"


class TransformImportError(LookupError):
    """A transform reference that does not resolve to a function in the estate."""


def estate_package(root: Path) -> str:
    """The package name the estate at ``root`` is mounted as (mounted on first use)."""
    root = root.resolve()
    name = PACKAGE_PREFIX + hashlib.sha256(str(root).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(root)]
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
    return name


def module_file(root: Path, module: str) -> Path | None:
    """The file that ``module`` (dotted, relative to the estate) is, if it exists."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def resolve_transform(root: Path, reference: str, packages: Sequence[str] = ()) -> object:
    """The function named by ``module:function``: a module of the estate at ``root``, or of one
    of the installed ``packages`` the estate's manifest names."""
    module_name, _, func_name = reference.partition(":")
    if module_name.split(".")[0] in packages:
        module = _import_installed(module_name)
    elif module_file(root, module_name) is None:
        expected = root.joinpath(*module_name.split(".")).with_suffix(".py")
        raise TransformImportError(
            f"module '{module_name}' is not in the estate: expected the file {expected}; "
            "a transform lives in the estate folder, e.g. flows/<flow>.py named "
            "'flows.<flow>:transform', or in a package the manifest lists under packages"
        )
    else:
        module = _import(root, module_name)
    func = getattr(module, func_name, None)
    if not callable(func):
        raise TransformImportError(f"module '{module_name}' has no function '{func_name}'")
    return func


def _import(root: Path, module_name: str) -> ModuleType:
    package = estate_package(root)
    try:
        return importlib.import_module(f"{package}.{module_name}")
    except (Exception, SystemExit) as exc:
        raise TransformImportError(
            f"importing module '{module_name}' failed: {_where(exc, root)}"
            f"{type(exc).__name__}: {exc}"
        ) from None


def _import_installed(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise TransformImportError(
            f"importing module '{module_name}' failed: {type(exc).__name__}: {exc}"
        ) from None


def _where(exc: BaseException, root: Path) -> str:
    """``flows/x.py, line 3: `` for the innermost frame inside the estate, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _inside(f.filename, root)]
    if isinstance(exc, SyntaxError) and exc.filename and _inside(exc.filename, root):
        return f"{Path(exc.filename).relative_to(root.resolve())}, line {exc.lineno}: "
    if not frames:
        return ""
    last = frames[-1]
    return f"{Path(last.filename).relative_to(root.resolve())}, line {last.lineno}: "


def _inside(filename: str, root: Path) -> bool:
    try:
        Path(filename).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
