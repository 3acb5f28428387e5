"""`tagtrail validate` in a git checkout warns about every change that weakens protection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.estate import load_estate
from pipelines.weakening import weakenings

from .edits import edit

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org"]


@pytest.fixture
def committed(estate_copy: Path) -> Path:
    """The demo estate's copy, committed as the only revision of a new git repository."""
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "estate"]):
        subprocess.run([*GIT, *args], cwd=estate_copy, check=True)
    return estate_copy


def _changes(root: Path) -> list[str]:
    found = weakenings(load_estate(root))
    assert found is not None
    return [str(w) for w in found]


def test_outside_git_nothing_is_compared(estate_copy: Path) -> None:
    assert weakenings(load_estate(estate_copy)) is None


def test_an_unchanged_estate_has_no_weakening(committed: Path) -> None:
    assert _changes(committed) == []


def test_dropping_a_research_opt_out_and_its_floor_is_reported_twice(committed: Path) -> None:
    edit(committed / "estate.yaml", "opt_out_required_for: [research]", "opt_out_required_for: []")
    flow = committed / "flows" / "care_research_extract.yaml"
    text = flow.read_text()
    flow.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("opt_out:")))
    changes = _changes(committed)
    assert len(changes) == 2
    assert any("policy.floors.opt_out_required_for" in c and "research" in c for c in changes)
    assert any("care_research_extract.yaml" in c and "opt_out removed" in c for c in changes)


def test_lowered_thresholds_and_longer_retention_are_reported(committed: Path) -> None:
    edit(committed / "estate.yaml", "k_anonymity: 5", "k_anonymity: 3")
    edit(
        committed / "agreements.yaml",
        "disclosure: {k_anonymity: 5}",
        "disclosure: {k_anonymity: 3}",
    )
    edit(committed / "agreements.yaml", "retention: {period: P5Y", "retention: {period: P6Y")
    changes = _changes(committed)
    assert len(changes) == 3, changes
    assert any("policy.floors.k_anonymity" in c and "lowered from 5 to 3" in c for c in changes)
    assert any(
        "agreements[DSA-ASC-RES-03].disclosure.k_anonymity" in c and "from 5 to 3" in c
        for c in changes
    )
    assert any("retention lengthened from P5Y to P6Y" in c for c in changes)


def test_lost_tags_and_a_dropped_quasi_identifier_are_reported(
    committed: Path,
) -> None:
    edit(
        committed / "flows" / "admissions_research_extract.yaml",
        "quasi_identifiers: [age_band, sex]",
        "quasi_identifiers: [age_band]",
    )
    edit(
        committed / "datasets" / "health.yaml",
        "Treating specialty, tags: [person.special.health]}",
        "Treating specialty}",
    )
    changes = _changes(committed)
    assert any("quasi_identifiers" in c and "no longer lists sex" in c for c in changes)
    assert any(
        "columns[specialty].tags" in c and "lost person.special.health" in c for c in changes
    )


def test_strengthening_is_not_reported(committed: Path) -> None:
    edit(
        committed / "agreements.yaml",
        "disclosure: {k_anonymity: 5}",
        "disclosure: {k_anonymity: 8}",
    )
    edit(committed / "agreements.yaml", "retention: {period: P5Y", "retention: {period: P4Y")
    assert _changes(committed) == []


def test_cli_validate_warns_and_still_succeeds(committed: Path) -> None:
    edit(committed / "agreements.yaml", "retention: {period: P5Y", "retention: {period: P6Y")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_project.cli",
            "validate",
            str(committed),
            "--as-of",
            "2026-06-01",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warnings = [ln for ln in done.stdout.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "P5Y to P6Y" in warnings[0]
    assert "Traceback" not in done.stderr
