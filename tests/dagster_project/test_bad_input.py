"""Bad deliveries in a real run: held back by the gate with the file and the problem named, and
the previously published version left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from dagster_project.gate import GATE_CHECK
from dagster_project.instance import dagster_home
from dagster_project.run import run_estate
from pipelines.estate import Estate, load_estate
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path

from .conftest import AS_OF
from .runs import check_evaluations

SAMPLE = Path("sample_data/health/referrals.csv")


@pytest.fixture
def published(tmp_path: Path) -> tuple[Estate, Path]:
    init_estate(tmp_path / "estate")
    estate = load_estate(tmp_path / "estate")
    home = tmp_path / "home"
    assert run_estate(estate, home, as_of=AS_OF).success
    return estate, home


def _lines(estate: Estate) -> list[str]:
    return (estate.root / SAMPLE).read_text().splitlines()


@pytest.mark.parametrize(
    ("corrupt", "expectation", "message"),
    [
        (lambda lines: b"", "tagtrail_readable_delivery", "is empty (0 bytes)"),
        (
            lambda lines: b"PK\x03\x04\x00\x00binary",
            "tagtrail_readable_delivery",
            "is not a text file (a NUL byte at offset 4)",
        ),
        (
            lambda lines: ("\n".join(lines[:3]) + "\n").encode() + b"REF9,\xff\n",
            "tagtrail_readable_delivery",
            "is not utf-8 text: byte 0xFF at offset",
        ),
        (
            lambda lines: "\n".join(
                [
                    lines[0],
                    *[
                        f"{v}{line[line.index(',') :]}"
                        for v, line in zip(
                            ["NaN", "NULL", "None", "N/A", " null "], lines[1:6], strict=True
                        )
                    ],
                    *lines[6:],
                ]
            ).encode(),
            "expect_column_values_to_not_match_regex",
            "must not hold a null-like text",
        ),
    ],
    ids=["empty", "binary", "not-utf8", "null-like-keys"],
)
def test_bad_delivery_is_held_back_and_named(
    published: tuple[Estate, Path], corrupt: object, expectation: str, message: str
) -> None:
    estate, home = published
    stored = {
        d: dataset_path(home, estate.dataset_owner[d], d).read_bytes() for d in estate.datasets
    }
    path = estate.root / SAMPLE
    path.write_bytes(corrupt(_lines(estate)))  # type: ignore[operator]
    report = run_estate(estate, home, as_of=AS_OF)
    status = {o.dataset: o.status for o in report.outcomes}
    assert status == {"referrals": "held back", "referrals_by_area": "not run"}
    with dg.DagsterInstance.from_config(str(dagster_home(home))) as inst:
        check = check_evaluations(inst, report.run_id)[("referrals", GATE_CHECK)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    failures = check.metadata["failures"].value
    assert expectation in failures and message in failures
    if expectation == "tagtrail_readable_delivery":
        assert str(path) in failures
    for d, content in stored.items():
        assert dataset_path(home, estate.dataset_owner[d], d).read_bytes() == content
