"""The volume guard's arithmetic, and who gets the stricter register defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.policy.volume import check_volume, limits

from ..edits import declaration_error, edit

ESTATE = load_estate(DEMO_ESTATE)


@pytest.mark.parametrize(
    ("dataset", "rows", "previous", "passes"),
    [
        ("care_packages", 100, None, True),  # a first publication
        ("care_packages", 0, None, False),  # an empty first publication
        ("care_packages", 50, 100, True),  # exactly half may go
        ("care_packages", 49, 100, False),
        ("care_packages", 500, 100, True),  # growth is not limited
        ("national_data_opt_out", 95, 100, True),
        ("national_data_opt_out", 94, 100, False),  # a register may lose 5% at most
        ("national_data_opt_out", 0, 100, False),
    ],
)
def test_volume_limits(dataset: str, rows: int, previous: int | None, passes: bool) -> None:
    result = check_volume(ESTATE, dataset, rows, previous)
    assert result.passed is passes
    assert result.halts is not passes
    assert result.counts["rows"] == rows


def test_an_acknowledged_drop_warns_and_names_who() -> None:
    result = check_volume(ESTATE, "care_packages", 5, 100, acknowledged_by="anne")
    assert not result.passed and not result.halts and result.severity == "warn"
    assert result.counts["acknowledged_by"] == "anne"
    assert "95.0% fewer" in result.summary


def test_registers_get_the_stricter_default() -> None:
    assert limits(ESTATE, "national_data_opt_out").register
    assert limits(ESTATE, "national_data_opt_out").max_drop == 0.05
    assert limits(ESTATE, "care_packages").max_drop == 0.5


def test_a_dataset_may_set_its_own_rule(estate_copy: Path) -> None:
    edit(
        estate_copy / "datasets" / "social_care.yaml",
        "    primary_key: [package_id]\n",
        "    primary_key: [package_id]\n    volume: {allow_empty: true, max_drop: 0.9}\n",
    )
    estate = load_estate(estate_copy)
    assert check_volume(estate, "care_packages", 0, 100).passed
    assert check_volume(estate, "care_packages", 11, 100).passed


def test_a_register_may_never_be_allowed_empty(estate_copy: Path) -> None:
    edit(
        estate_copy / "datasets" / "health.yaml",
        "    primary_key: [opt_out_id]\n",
        "    primary_key: [opt_out_id]\n    volume: {allow_empty: true}\n",
    )
    message = declaration_error(estate_copy)
    assert "national_data_opt_out" in message and "volume.allow_empty" in message
    assert "may never be empty" in message
