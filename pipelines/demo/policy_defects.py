"""Documented policy breaches ``tagtrail demo --defect`` can make in a copy of the demo estate.

Each edits the declarations (or swaps in a transform with a known bug) so that one flow breaks
its data-sharing agreement; the named control halts it and everything downstream. The demo's own
estate files are never touched: the edits go into a copy under the tagtrail home.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.manifest import copy_estate
from pipelines.policy.result import (
    AGREEMENT_IN_FORCE,
    DISCLOSURE_CONTROL,
    MINIMISATION,
    PSEUDONYMISATION,
)

DEFECT_TRANSFORMS = "flows.defects"
_TRANSFORM = "transform: flows.care_research_extract:transform"
# Transforms are modules of the estate, so the copy gets one that brings in the buggy ones.
_SHIM = (
    '"""Transforms with known bugs, for the demo\'s policy defects."""\n\n'
    "from pipelines.demo.defect_transforms import *  # noqa: F403\n"
)


@dataclass(frozen=True)
class Edit:
    """Replace the first ``old`` after ``anchor`` in ``file`` (a path inside the estate folder)."""

    file: str
    old: str
    new: str
    anchor: str = ""

    def apply(self, root: Path) -> None:
        """Make the edit; fail loudly if the estate no longer has the text it expects."""
        path = root / self.file
        text = path.read_text(encoding="utf-8")
        start = text.index(self.anchor) if self.anchor else 0
        at = text.find(self.old, start)
        if at < 0:
            raise ValueError(f"{path}: expected text {self.old!r} not found after {self.anchor!r}")
        path.write_text(text[:at] + self.new + text[at + len(self.old) :], encoding="utf-8")


@dataclass(frozen=True)
class PolicyDefect:
    """A policy breach: which flow it affects, what it does and which control halts it."""

    name: str
    dataset: str
    description: str
    check: str
    edits: tuple[Edit, ...]

    def estate_copy(self, source: Path, home: Path) -> Path:
        """A copy of the estate in ``source`` under ``home`` with this breach made in it."""
        dest = home / "estates" / self.name
        if dest.exists():
            shutil.rmtree(dest)
        copy_estate(source, dest)
        (dest / "flows" / "defects.py").write_text(_SHIM, encoding="utf-8")
        for edit in self.edits:
            edit.apply(dest)
        return dest


_CARE_FLOW = "flows/care_research_extract.yaml"
_AGREEMENT = "id: DSA-ASC-RES-03"

POLICY_DEFECTS: dict[str, PolicyDefect] = {
    d.name: d
    for d in (
        PolicyDefect(
            "expired-agreement",
            "care_research_extract",
            "DSA-ASC-RES-03 ended on 2026-06-30, but the care extract still runs under it",
            AGREEMENT_IN_FORCE,
            (Edit("agreements.yaml", "end: 2030-12-31", "end: 2026-06-30", _AGREEMENT),),
        ),
        PolicyDefect(
            "purpose-not-permitted",
            "care_research_extract",
            "the care extract is declared for debt recovery, a purpose DSA-ASC-RES-03 does not permit",
            AGREEMENT_IN_FORCE,
            (Edit(_CARE_FLOW, "purpose: service_evaluation", "purpose: debt_recovery"),),
        ),
        PolicyDefect(
            "unpermitted-column",
            "care_research_extract",
            "DSA-ASC-RES-03 no longer lists ethnicity, but the care extract still sends it",
            MINIMISATION,
            (
                Edit(
                    "agreements.yaml",
                    "postcode_district, ethnicity,",
                    "postcode_district,",
                    _AGREEMENT,
                ),
            ),
        ),
        PolicyDefect(
            "identifier-unpseudonymised",
            "care_research_extract",
            "a transform bug sends NHS numbers to research in the clear while the declaration "
            "still says keyed_hash",
            PSEUDONYMISATION,
            (Edit(_CARE_FLOW, _TRANSFORM, f"transform: {DEFECT_TRANSFORMS}:care_unhashed"),),
        ),
        PolicyDefect(
            "k-below-threshold",
            "care_research_extract",
            "the care extract's k-anonymising step was removed, so rare combinations of age "
            "band, sex and district single people out",
            DISCLOSURE_CONTROL,
            (Edit(_CARE_FLOW, _TRANSFORM, f"transform: {DEFECT_TRANSFORMS}:care_unsuppressed"),),
        ),
    )
}
