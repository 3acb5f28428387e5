"""The estate manifest: its sources, suites folder and policy, and transforms kept in the estate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.manifest import MANIFEST, copy_estate

from .edits import declaration_error, edit


def test_demo_manifest_names_every_source_and_the_repository_suites() -> None:
    estate = load_estate(DEMO_ESTATE)
    assert estate.name == "northfield"
    assert estate.suites_dir == (DEMO_ESTATE / "../../../expectations/suites").resolve()
    sources = {n for n, ds in estate.datasets.items() if ds.source_system}
    assert set(estate.sources) == sources
    assert estate.sources["care_packages"].describe() == "csv file social_care/care_packages.csv"


def test_an_estate_without_a_manifest_is_refused(estate_copy: Path) -> None:
    (estate_copy / MANIFEST).unlink()
    message = declaration_error(estate_copy)
    assert f"{estate_copy / MANIFEST}: file not found" in message
    assert "tagtrail init" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "  care_packages: {file: social_care/care_packages.csv}\n",
            "",
            [r"estate\.yaml, line \d+: sources", "source dataset 'care_packages' has no source"],
            id="source-missing",
        ),
        pytest.param(
            "  tenancies: {file: housing/tenancies.csv}\n",
            "  tenancies: {file: housing/tenancies.csv}\n  tenancy: {file: housing/t.csv}\n",
            [r"sources\.tenancy", "unknown dataset 'tenancy'", "did you mean 'tenancies'"],
            id="unknown-dataset",
        ),
        pytest.param(
            "  tenancies: {file: housing/tenancies.csv}\n",
            "  tenancies: {file: housing/tenancies.csv}\n  care_statistics: {file: c.csv}\n",
            ["sources.care_statistics", "output of flow 'care_statistics', not a source"],
            id="flow-output-as-source",
        ),
        pytest.param(
            "{file: housing/tenancies.csv}",
            "{file: ../housing/tenancies.csv}",
            ["sources.tenancies.file", "must be a path inside the extracts folder"],
            id="path-escapes-the-extracts-folder",
        ),
        pytest.param(
            "{file: housing/tenancies.csv}",
            "{file: housing/tenancies.txt}",
            ["sources.tenancies", "cannot tell the format", "format: csv"],
            id="unknown-file-format",
        ),
        pytest.param(
            "{file: housing/tenancies.csv}",
            "{sql: {url_env: HOUSING_DB_URL, table: tenancies, query: SELECT 1}}",
            ["sources.tenancies.sql", "give exactly one of table or query"],
            id="table-and-query",
        ),
        pytest.param(
            "{file: housing/tenancies.csv}",
            "{sql: {url_env: housing_url, table: tenancies}}",
            ["sources.tenancies.sql.url_env", "should match pattern"],
            id="url-env-not-a-variable-name",
        ),
        pytest.param(
            "{file: housing/tenancies.csv}",
            "{sql: {url_env: HOUSING_DB_URL, url: 'postgresql://u:secret@h/db', table: t}}",
            ["sources.tenancies.sql.url", "unknown field"],
            id="url-written-in-yaml",
        ),
        pytest.param(
            "{file: housing/tenancies.csv}",
            "{sql: {url_env: HOUSING_DB_URL, table: 'tenancies; DROP TABLE x'}}",
            ["sources.tenancies.sql", "not a plain SQL name"],
            id="table-not-a-name",
        ),
        pytest.param(
            "  expiry_warning_days: 30",
            "  expiry_warning_days: 0",
            ["policy.expiry_warning_days", "greater than or equal to 1"],
            id="policy-out-of-range",
        ),
    ],
)
def test_manifest_mistakes_name_file_line_and_field(
    estate_copy: Path, old: str, new: str, expected: list[str]
) -> None:
    edit(estate_copy / MANIFEST, old, new)
    message = declaration_error(estate_copy)
    for pattern in expected:
        assert re.search(pattern, message), f"{pattern!r} not in:\n{message}"


def test_missing_suites_folder_is_reported_once(estate_copy: Path) -> None:
    path = estate_copy / MANIFEST
    path.write_text(re.sub(r"(?m)^suites: .*$", "suites: nowhere", path.read_text()))
    message = declaration_error(estate_copy)
    assert re.search(
        r"estate\.yaml, line \d+: suites: suites folder .*nowhere does not exist", message
    )
    assert message.count("does not exist") == 1
    assert "has no expectation suite" not in message


def test_policy_gives_defaults_an_agreement_can_override(estate_copy: Path) -> None:
    edit(estate_copy / MANIFEST, "review_overdue: warn", "review_overdue: halt")
    edit(estate_copy / MANIFEST, "on_agreement_end: destroy", "on_agreement_end: archive")
    edit(
        estate_copy / "agreements.yaml",
        "    review: 2027-12-31\n",
        "    review: 2027-12-31\n    review_overdue: warn\n    on_end: destroy\n",
    )
    estate = load_estate(estate_copy)
    own = estate.agreements["DSA-HLT-ASC-01"]
    assert (own.review_overdue, own.on_end) == ("warn", "destroy")
    others = [a for k, a in estate.agreements.items() if k != "DSA-HLT-ASC-01"]
    assert {(a.review_overdue, a.on_end) for a in others} == {("halt", "archive")}
    # thresholds an agreement does not set come from the policy
    assert estate.agreements["DSA-HOU-BEN-ASC-02"].disclosure.min_cell_count == 10


def test_a_copied_estate_keeps_its_suites_and_its_comments(tmp_path: Path) -> None:
    dest = copy_estate(DEMO_ESTATE, tmp_path / "copy")
    text = (dest / MANIFEST).read_text()
    assert "# The demo's suites live with tagtrail's own" in text
    suites = json.loads(text.split("suites: ", 1)[1].splitlines()[0])
    assert Path(suites) == (DEMO_ESTATE / "../../../expectations/suites").resolve()
    assert load_estate(dest).suites_dir == load_estate(DEMO_ESTATE).suites_dir


@pytest.mark.parametrize(
    "reference", ["subprocess:getoutput", "os:system", "pipelines.estate:load_estate"]
)
def test_a_transform_must_live_in_the_estate(estate_copy: Path, reference: str) -> None:
    edit(
        estate_copy / "flows" / "care_statistics.yaml",
        "transform: flows.care_statistics:transform",
        f"transform: {reference}",
    )
    message = declaration_error(estate_copy)
    module = reference.split(":")[0]
    assert f"module '{module}' is not in the estate" in message
    assert re.search(r"flows/care_statistics\.yaml, line \d+: transform", message)


def test_a_broken_transform_module_names_its_file_and_line(estate_copy: Path) -> None:
    path = estate_copy / "flows" / "care_statistics.py"
    path.write_text(path.read_text() + "\nraise RuntimeError('oops')\n")
    message = declaration_error(estate_copy)
    assert "importing module 'flows.care_statistics' failed" in message
    assert re.search(r"flows/care_statistics\.py, line \d+: RuntimeError: oops", message)


def test_two_estates_with_the_same_module_names_do_not_meet(tmp_path: Path) -> None:
    first = copy_estate(DEMO_ESTATE, tmp_path / "one")
    second = copy_estate(DEMO_ESTATE, tmp_path / "two")
    marker = second / "flows" / "care_statistics.py"
    marker.write_text(marker.read_text() + "\nMARK = 'two'\n")
    one, two = load_estate(first), load_estate(second)
    f1, f2 = one.transforms["care_statistics"], two.transforms["care_statistics"]
    assert f1.__module__ != f2.__module__
    assert __import__(f2.__module__, fromlist=["MARK"]).MARK == "two"
    assert not hasattr(__import__(f1.__module__, fromlist=["x"]), "MARK")


def test_a_package_the_manifest_names_may_hold_transforms(estate_copy: Path) -> None:
    (estate_copy / "flows" / "care_statistics.yaml").write_text(
        (estate_copy / "flows" / "care_statistics.yaml")
        .read_text()
        .replace(
            "flows.care_statistics:transform",
            "pipelines.demo.defect_transforms:statistics_primary_only",
        )
    )
    assert "is not in the estate" in declaration_error(estate_copy)
    manifest = estate_copy / MANIFEST
    manifest.write_text(manifest.read_text() + "packages: [pipelines]\n")
    estate = load_estate(estate_copy)
    assert estate.transforms["care_statistics"].__name__ == "statistics_primary_only"


def test_linear_in_the_declarations_size(estate_copy: Path) -> None:
    """200,000 columns load in seconds, and a mistake among them is still named."""
    path = estate_copy / "datasets" / "health.yaml"
    extra = "".join(f"      - {{name: c{i}, type: string}}\n" for i in range(200_000))
    text = path.read_text()
    anchor = "      - {name: recorded_on, type: date, description: When the opt-out was recorded}\n"
    path.write_text(text.replace(anchor, anchor + extra + "      - {name: c7, type: string}\n"))
    message = declaration_error(estate_copy)
    assert "column names must be unique; repeated: c7" in message


def test_validation_imports_nothing_outside_the_estate(
    estate_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module a declaration names outside the estate is refused without being imported."""
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = tmp_path / "imported"
    (outside / "evil_transforms.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef run(ctx, **inputs):\n    return None\n"
    )
    monkeypatch.syspath_prepend(str(outside))
    edit(
        estate_copy / "flows" / "care_statistics.yaml",
        "transform: flows.care_statistics:transform",
        "transform: evil_transforms:run",
    )
    assert "module 'evil_transforms' is not in the estate" in declaration_error(estate_copy)
    assert not marker.exists(), "the module must not even be imported"
