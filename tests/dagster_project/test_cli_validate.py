"""``tagtrail validate`` previews the flows the privacy controls would halt on a date."""

from __future__ import annotations

import pytest

from dagster_project import cli


def test_demo_estate_passes_today(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--as-of", "2026-11-01"]) == 0
    assert "declarations valid" in capsys.readouterr().out


def test_expired_agreements_are_reported_with_a_failing_exit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["validate", "--as-of", "2029-01-01"]) == 1
    out, err = capsys.readouterr()
    assert (
        "discharge_notifications: agreement_in_force HALTS on 2029-01-01: "
        "the agreement ended on 2028-12-31" in out
    )
    assert "care_statistics: agreement_in_force warns on 2029-01-01" in out
    assert "2 flow(s) would be halted" in err and "households_at_risk" in err
