"""``tagtrail audit``: filters, table and JSON output, and user mistakes (exit 2, one line)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dagster_project import cli
from lineage.store import AUDIT_KINDS, default_url, open_store

FIXTURES = Path(__file__).parent / "store" / "fixtures"
AGREEMENT_ENDED = {
    "control": "agreement_in_force",
    "passed": False,
    "severity": "error",
    "rule": "DSA-HOU-ASC-02: in force 2025-01-01 to 2025-06-30",
    "summary": "the agreement ended on 2025-06-30",
    "counts": {"days_past_end": 143},
}
PURGE = {"rule": "keep P1Y", "cutoff": "2024-11-20", "purged": 12, "purgedKeysSha256": "ab12cd34ef"}
OPT_OUT = {
    "register": "national_data_opt_out",
    "registerVersion": "3f9a0c1d2e4b5a6c",
    "registerSize": 45,
    "excluded": 3,
}


def audited(stem: str, department: str, agreement: str | None, **controls: Any) -> dict[str, Any]:
    """A fixture event with a tagtrail_audit facet (and tagtrail_controls when given)."""
    event = json.loads((FIXTURES / f"{stem}.json").read_text(encoding="utf-8"))
    event["run"]["facets"]["tagtrail_audit"] = {
        "launchedBy": "alice",
        "launchedVia": "os_user",
        "launchedAt": "2025-11-20T09:59:00+00:00",
        "dagsterRunId": "8c1f0000-0000-4000-8000-000000000001",
        "department": department,
        **({"agreement": agreement, "purpose": "research"} if agreement else {}),
    }
    if controls:
        facets = event["outputs"][0]["facets"]
        facets["tagtrail_controls"] = {"asOf": "2025-11-20", **copy.deepcopy(controls)}
    return dict(event)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tagtrail home whose lineage store holds audited runs of three datasets."""
    monkeypatch.delenv("TAGTRAIL_LINEAGE_URL", raising=False)
    with open_store(default_url(tmp_path)) as store:
        store.ingest_many(
            [
                audited("01_care_packages_start", "social_care", None),
                audited(
                    "02_care_packages_complete",
                    "social_care",
                    None,
                    controls=[],
                    retention=PURGE,
                    optOut=OPT_OUT,
                ),
                audited("04_care_research_extract_complete", "research", "DSA-ASC-RES-03"),
                audited(
                    "08_households_at_risk_fail",
                    "social_care",
                    "DSA-HOU-ASC-02",
                    controls=[AGREEMENT_ENDED],
                ),
            ]
        )
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    """``tagtrail audit ARGS --home HOME``: exit code, stdout, stderr."""
    code = cli.main(["audit", *args, "--home", str(home)])
    out, err = capsys.readouterr()
    return code, out, err


def records(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> list[dict[str, Any]]:
    """The ``--json`` records for ``args``."""
    code, out, err = run(capsys, home, "--json", *args)
    assert (code, err) == (0, "")
    return [json.loads(line) for line in out.splitlines()]


def kinds(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, dataset) of each JSON record."""
    return [(r["kind"], r["dataset"]) for r in found]


def test_table_lists_every_record_with_summaries(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, out, err = run(capsys, home)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["time", "(UTC)", "kind", "dataset"]
    assert len(lines) == 2 + 7
    assert "purged 12 rows dated before 2024-11-20 (keys sha256 ab12cd34\u2026)" in out
    assert "excluded 3 of register national_data_opt_out v3f9a0c1d\u2026 (45 people)" in out
    assert "agreement_in_force failed: the agreement ended on 2025-06-30" in out
    assert "completed, 1,200 rows" in out and "(controls failed: agreement_in_force)" in out


def test_json_records(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    [failed] = records(capsys, home, "--kind", "control_failed")
    assert failed == {
        "kind": "control_failed",
        "at": "2025-11-20T11:00:02+00:00",
        "run_id": "0c1e0000-0000-4000-8000-00000000000f",
        "dagster_run_id": "8c1f0000-0000-4000-8000-000000000001",
        "namespace": "tagtrail.housing",
        "dataset": "households_at_risk",
        "department": "social_care",
        "agreement": "DSA-HOU-ASC-02",
        "purpose": "research",
        "launched_by": "alice",
        "observed_by": None,  # the fixture events predate the audit facet's observedBy
        "launched_at": "2025-11-20T09:59:00+00:00",
        "details": AGREEMENT_ENDED,
    }


def test_filters(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert kinds(records(capsys, home, "--dataset", "tagtrail.research/care_research_extract")) == [
        ("run_completed", "care_research_extract")
    ]
    assert kinds(records(capsys, home, "--department", "social_care", "--kind", "run_failed")) == [
        ("run_failed", "households_at_risk")
    ]
    assert kinds(records(capsys, home, "--agreement", "DSA-HOU-ASC-02")) == [
        ("run_failed", "households_at_risk"),
        ("control_failed", "households_at_risk"),
    ]
    assert kinds(records(capsys, home, "--since", "2025-11-20T10:00:03.5Z")) == [
        ("run_completed", "care_research_extract"),
        ("run_failed", "households_at_risk"),
        ("control_failed", "households_at_risk"),
    ]
    assert kinds(records(capsys, home, "--until", "2025-11-20T11:00:01+01:00")) == [
        ("run_started", "care_packages")
    ]
    window = ("--since", "2025-11-20T10:00:01.250", "--until", "2025-11-20T10:00:03.5")
    assert [k for k, _ in kinds(records(capsys, home, *window))] == [
        "run_completed",
        "retention_purge",
        "opt_out_exclusion",
    ]
    assert records(capsys, home, "--since", "2025-11-21") == []
    assert len(records(capsys, home, "--since", "2025-11-20", "--until", "2025-11-21")) == 7


def test_nothing_matching_says_so(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert run(capsys, home, "--department", "public_reporting") == (
        0,
        "no audit records match\n",
        "",
    )


def test_store_url_option(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    code = cli.main(["audit", "--json", "--home", str(elsewhere), "--store-url", default_url(home)])
    assert code == 0 and len(capsys.readouterr().out.splitlines()) == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2025-13-01"), "tagtrail: --since '2025-13-01' is not a date (YYYY-MM-DD)"),
        (("--until", "yesterday"), "tagtrail: --until 'yesterday' is not a date (YYYY-MM-DD)"),
        (("--since", "2025-11-21", "--until", "2025-11-20"), "must be before --until"),
        (("--dataset", "care_pakages"), "unknown dataset 'care_pakages'; did you mean"),
    ],
)
def test_mistakes_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], home: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, home, *args)
    assert (code, out) == (2, "")
    assert message in err and len(err.splitlines()) == 1


def test_unknown_kind_and_missing_store_exit_2(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["audit", "--kind", "exploded", "--home", str(home)])
    assert caught.value.code == 2 and "invalid choice" in capsys.readouterr().err
    empty = tmp_path_factory.mktemp("empty")
    code, _, err = run(capsys, empty)
    assert code == 2 and "no lineage store" in err


def test_no_traceback_from_the_console(home: Path) -> None:
    command = [sys.executable, "-m", "dagster_project.cli", "audit", "--home", str(home)]
    done = subprocess.run(
        [*command, "--dataset", "care_pakages"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'care_packages'" in done.stderr


def test_kind_choices_are_the_store_kinds() -> None:
    assert cli.AUDIT_KINDS == AUDIT_KINDS
