"""What an edit weakens: an estate's declarations against their last committed version.

``tagtrail validate`` warns about every change that gives less protection than the version of
the same file at ``HEAD`` of the git checkout holding the estate: an opt-out or disclosure rule
removed, a threshold lowered, a masking removed or changed, tags dropped, retention lengthened,
a floor lowered, an agreement widened. A file git does not know (or a checkout without git) is
not compared: nothing there was committed to weaken.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.crosscheck_floors import span_days
from pipelines.manifest import MANIFEST, Floors, Manifest
from pipelines.model import AgreementFile, DatasetFile, Disclosure, Flow
from pipelines.yamlfile import SourceFile, read_yaml

if TYPE_CHECKING:
    from pipelines.estate import Estate

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Weakening:
    """One change that gives less protection than the committed version."""

    where: str
    change: str

    def __str__(self) -> str:
        return f"{self.where}: {self.change}"


def weakenings(estate: Estate, revision: str = "HEAD") -> list[Weakening] | None:
    """Every weakening of ``estate`` relative to ``revision``; None outside a git checkout."""
    top = _git(estate.root, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    manifest = estate.root / MANIFEST
    files = {d.file.path: d.file for d in estate.declared_in.values()}
    old = _Committed(Path(top.strip()), revision, [manifest, *files])
    found: list[Weakening] = []
    before = old.parse(manifest, Manifest)
    if before is not None and estate.manifest is not None:
        found += _manifest(read_yaml(manifest), before, estate.manifest)
    defaults = before.policy.disclosure if before is not None else Disclosure()
    for path, src in sorted(files.items()):
        if path.parent.name == "flows":
            flow = old.parse(path, Flow)
            if flow is not None and flow.name in estate.flows:
                found += _flow(src, flow, estate.flows[flow.name])
        elif path.name == "agreements.yaml" and (agrs := old.parse(path, AgreementFile)):
            found += _agreements(src, agrs, estate, defaults)
        elif path.parent.name == "datasets" and (dsf := old.parse(path, DatasetFile)):
            found += _datasets(src, dsf, estate)
    return found


class _Committed:
    """The committed text of the estate's files, read with one ``git cat-file --batch``."""

    def __init__(self, top: Path, revision: str, paths: list[Path]) -> None:
        self.top = top.resolve()
        wanted: dict[str, Path] = {}
        for path in paths:
            try:
                wanted[path.resolve().relative_to(self.top).as_posix()] = path
            except ValueError:
                continue
        self.texts = dict(zip(wanted.values(), _cat(self.top, revision, list(wanted)), strict=True))

    def parse(self, path: Path, model: type[M]) -> M | None:
        text = self.texts.get(path)
        if text is None:
            return None
        try:
            return model.model_validate(yaml.load(text, Loader=_LOADER) or {})
        except (yaml.YAMLError, ValidationError):
            return None


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _cat(top: Path, revision: str, rels: list[str]) -> list[str | None]:
    """Each file's text at ``revision`` (None where it is missing), in one git process."""
    if not rels:
        return []
    request = "".join(f"{revision}:{rel}\n" for rel in rels).encode()
    try:
        done = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=top,
            input=request,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return [None] * len(rels)
    out, at = done.stdout, 0
    texts: list[str | None] = []
    for _ in rels:
        end = out.find(b"\n", at)
        header = out[at:end].split()
        if end < 0 or len(header) != 3 or header[1] != b"blob":
            texts.append(None)
            at = end + 1 if end >= 0 else len(out)
            continue
        size = int(header[2])
        texts.append(out[end + 1 : end + 1 + size].decode("utf-8", errors="replace"))
        at = end + 1 + size + 1
    return texts


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _manifest(src: SourceFile, old: Manifest, new: Manifest) -> list[Weakening]:
    out: list[Weakening] = []
    was, now = old.policy.floors, new.policy.floors
    for field in ("k_anonymity", "l_diversity", "min_cell_count"):
        before, after = getattr(was, field), getattr(now, field)
        if before is not None and (after is None or after < before):
            what = "removed" if after is None else f"lowered from {before} to {after}"
            out.append(_at(src, ("policy", "floors", field), f"floor {what}"))
    out += _floor_lists(src, was, now)
    if was.retention_longest and (
        now.retention_longest is None
        or span_days(now.retention_longest) > span_days(was.retention_longest)
    ):
        out.append(
            _at(
                src,
                ("policy", "floors", "retention_longest"),
                f"longest retention raised from {was.retention_longest} to "
                f"{now.retention_longest or 'no limit'}",
            )
        )
    out += _thresholds(src, ("policy", "disclosure"), old.policy.disclosure, new.policy.disclosure)
    if old.policy.review_overdue == "halt" and new.policy.review_overdue == "warn":
        out.append(_at(src, ("policy", "review_overdue"), "an overdue review no longer halts"))
    if old.policy.on_agreement_end == "destroy" and new.policy.on_agreement_end == "archive":
        out.append(
            _at(src, ("policy", "on_agreement_end"), "data is archived, not destroyed, at the end")
        )
    for field in ("max_drop", "register_max_drop"):
        if getattr(new.policy, field) > getattr(old.policy, field):
            out.append(
                _at(
                    src,
                    ("policy", field),
                    f"raised from {getattr(old.policy, field)} to {getattr(new.policy, field)}",
                )
            )
    return out


def _floor_lists(src: SourceFile, was: Floors, now: Floors) -> list[Weakening]:
    out = []
    for field in ("opt_out_required_for", "disclosure_required_for"):
        dropped = sorted(set(getattr(was, field)) - set(getattr(now, field)))
        if dropped:
            out.append(
                _at(src, ("policy", "floors", field), f"no longer lists {', '.join(dropped)}")
            )
    return out


def _thresholds(src: SourceFile, loc: Loc, old: Disclosure, new: Disclosure) -> list[Weakening]:
    out = []
    for field in ("k_anonymity", "min_cell_count"):
        before, after = getattr(old, field), getattr(new, field)
        if after < before:
            out.append(_at(src, (*loc, field), f"lowered from {before} to {after}"))
    return out


def _flow(src: SourceFile, old: Flow, new: Flow) -> list[Weakening]:
    out: list[Weakening] = []
    if old.opt_out and not new.opt_out:
        out.append(_at(src, ("name",), f"opt_out removed (was register {old.opt_out.register})"))
    elif old.opt_out and new.opt_out and old.opt_out.person_index and not new.opt_out.person_index:
        out.append(_at(src, ("opt_out",), "opt_out.person_index removed"))
    out += _disclosure(src, old, new)
    for name, was in old.columns.items():
        now = new.columns.get(name)
        if was.masking is None or now is None or now.masking == was.masking:
            continue
        change = "removed" if now.masking is None else f"changed to {now.masking.value}"
        out.append(_at(src, ("columns", name), f"masking {was.masking.value} {change}"))
    return out


def _disclosure(src: SourceFile, old: Flow, new: Flow) -> list[Weakening]:
    was = old.disclosure.k_anonymity if old.disclosure else None
    now = new.disclosure.k_anonymity if new.disclosure else None
    out = []
    if (
        old.disclosure
        and old.disclosure.small_cells
        and not (new.disclosure and new.disclosure.small_cells)
    ):
        out.append(_at(src, ("name",), "disclosure.small_cells rule removed"))
    if was is None:
        return out
    if now is None:
        return [*out, _at(src, ("name",), "disclosure.k_anonymity rule removed")]
    loc: Loc = ("disclosure", "k_anonymity")
    dropped = [q for q in was.quasi_identifiers if q not in now.quasi_identifiers]
    if dropped:
        out.append(_at(src, (*loc, "quasi_identifiers"), f"no longer lists {', '.join(dropped)}"))
    if was.unit and not now.unit:
        out.append(_at(src, loc, f"unit {was.unit} removed (rows would count as people)"))
    if was.l_diversity and (now.l_diversity is None or now.l_diversity < was.l_diversity):
        what = "removed" if now.l_diversity is None else f"lowered to {now.l_diversity}"
        out.append(_at(src, loc, f"l_diversity {was.l_diversity} {what}"))
    return out


def _agreements(
    src: SourceFile, old: AgreementFile, estate: Estate, defaults: Disclosure
) -> list[Weakening]:
    out: list[Weakening] = []
    raw = {a.get("id"): i for i, a in enumerate(src.data.get("agreements") or [])}
    for was in old.agreements:
        now = estate.agreements.get(was.id)
        if now is None or was.id not in raw:
            continue
        loc: Loc = ("agreements", raw[was.id])
        effective = was if "disclosure" in was.model_fields_set else None
        before = effective.disclosure if effective else defaults
        out += _thresholds(src, (*loc, "disclosure"), before, now.disclosure)
        if span_days(now.retention.period) > span_days(was.retention.period):
            out.append(
                _at(
                    src,
                    (*loc, "retention", "period"),
                    f"retention lengthened from {was.retention.period} to {now.retention.period}",
                )
            )
        if now.identified_sharing and not was.identified_sharing:
            out.append(_at(src, (*loc, "identified_sharing"), "now allows identified sharing"))
        added = sorted(
            f"{ds}.{c}"
            for ds, cols in now.data_items.items()
            for c in cols
            if c not in was.data_items.get(ds, ())
        )
        if added:
            out.append(_at(src, (*loc, "data_items"), f"now also shares {', '.join(added)}"))
    return out


def _datasets(src: SourceFile, old: DatasetFile, estate: Estate) -> list[Weakening]:
    out: list[Weakening] = []
    for was in old.datasets:
        now = estate.datasets.get(was.name)
        declared = estate.declared_in.get(f"dataset:{was.name}")
        if now is None or declared is None or declared.file.path != src.path:
            continue
        loc = declared.loc
        if was.retention and (
            now.retention is None
            or span_days(now.retention.period) > span_days(was.retention.period)
        ):
            to = now.retention.period if now.retention else "removed"
            out.append(_at(src, (*loc, "retention"), f"retention {was.retention.period} → {to}"))
        for col in was.columns:
            if not now.has_column(col.name):
                continue
            lost = [t for t in col.tags if t not in now.column(col.name).tags]
            if lost:
                idx = now.column_names.index(col.name)
                out.append(_at(src, (*loc, "columns", idx, "tags"), f"lost {', '.join(lost)}"))
    return out


def _at(src: SourceFile, loc: Loc, change: str) -> Weakening:
    return Weakening(src.where(loc), change)
