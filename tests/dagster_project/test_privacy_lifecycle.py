"""Pseudonym stability, retention purges, opt-out register changes and the audit trail, in real runs."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project import cli
from dagster_project.demo import run_demo
from dagster_project.instance import dagster_home
from dagster_project.lineage import launch_of
from dagster_project.resources import default_key_file
from dagster_project.run import RunReport
from pipelines.extracts import extract_path
from pipelines.masking import keyed_hash
from pipelines.store import dataset_path, read_dataset

from .conftest import AS_OF, PEOPLE
from .runs import ESTATE, events, store

_CANDIDATES = re.compile(rb"\d{10,12}|[A-Z]{2}\d{6}[A-D]|[A-Z][a-z]+ [A-Z][a-z]+|[0-9a-f]{64}")


def _stored(home: Path, name: str) -> pd.DataFrame:
    return read_dataset(dataset_path(home, ESTATE.dataset_owner[name], name))


def _extract(home: Path, name: str) -> pd.DataFrame:
    path = extract_path(home, ESTATE.dataset_owner[name], name)
    return pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])


def _key(home: Path) -> bytes:
    return default_key_file(home).read_bytes().strip()


def _identifiers(home: Path) -> set[str]:
    """Every direct-identifier value of every source extract."""
    out: set[str] = set()
    for name, ds in ESTATE.datasets.items():
        if ds.source_system:
            frame = _extract(home, name)
            for c in ds.columns:
                if "person.id.direct" in c.tags:
                    out |= set(frame[c.name].dropna())
    return out


def _audit(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> list[dict[str, object]]:
    assert cli.main(["audit", "--home", str(home), "--json", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_pseudonyms_link_across_flows_and_runs_and_never_leak(
    home_after_clean_run: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = home_after_clean_run
    key = _key(home)
    care, admissions = (
        _stored(home, "care_research_extract"),
        _stored(home, "admissions_research_extract"),
    )
    packages, spells = _extract(home, "care_packages"), _extract(home, "inpatient_episodes")
    for frame, source, record in (
        (care, packages, "package_id"),
        (admissions, spells, "episode_id"),
    ):
        expected = dict(
            zip(keyed_hash(source[record], key), keyed_hash(source["nhs_number"], key), strict=True)
        )
        assert [expected[r] for r in frame["record_id"]] == list(frame["person_key"])
    linked = set(care["person_key"]) & set(admissions["person_key"])
    both = set(packages["nhs_number"]) & set(spells["nhs_number"])
    assert linked and linked <= set(keyed_hash(pd.Series(sorted(both)), key))

    again = run_demo(home, people=PEOPLE, as_of=AS_OF, regenerate=False)
    assert again.success
    pd.testing.assert_frame_equal(_stored(home, "care_research_extract"), care)

    monkeypatch.setenv("TAGTRAIL_PSEUDONYM_KEY", "another-custodian-key")
    other = run_demo(home, people=PEOPLE, as_of=AS_OF, regenerate=False)
    assert other.success
    rekeyed = _stored(home, "care_research_extract")
    assert len(rekeyed) == len(care)
    assert not set(rekeyed["person_key"]) & set(care["person_key"])
    monkeypatch.delenv("TAGTRAIL_PSEUDONYM_KEY")

    logs = capfd.readouterr()
    identifiers = _identifiers(home)
    secrets = identifiers | {key.decode(), "another-custodian-key"}
    delivered = b"".join(p.read_bytes() for p in (home / "extracts").rglob("*.csv"))
    findable = {m.decode() for m in _CANDIDATES.findall(delivered)} & identifiers
    assert len(findable) > 0.9 * len(identifiers), "the search must be able to find identifiers"
    blobs = [
        p.read_bytes()
        for p in [*dagster_home(home).rglob("*"), *home.glob("lineage.db*")]
        if p.is_file()
    ]
    blobs.append((logs.out + logs.err).encode())
    found = {m.decode() for blob in blobs for m in _CANDIDATES.findall(blob)}
    assert b"another-custodian-key" not in b"".join(blobs)
    assert not found & secrets, sorted(found & secrets)[:5]
    for name, owner in ESTATE.dataset_owner.items():
        if owner in ("research", "public_reporting"):
            values = {str(v) for v in _stored(home, name).astype("string").stack().dropna()}
            assert not values & secrets, name


def test_retention_purges_rows_past_the_agreement_and_is_audited(
    home_after_clean_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_after_clean_run
    before = _stored(home, "admissions_research_extract")
    later = dt.date(2027, 2, 1)
    cutoff_month = "2026-02"
    expiring = before.loc[before["admission_month"] < cutoff_month, "record_id"]
    assert len(expiring) > 0 and len(before) > len(expiring)

    report = run_demo(
        home, people=PEOPLE, as_of=later, regenerate=False, launched_by="retention-test"
    )

    status = {o.dataset: o.status for o in report.outcomes}
    assert status["admissions_research_extract"] == "published", status
    after = _stored(home, "admissions_research_extract")
    assert not (after["admission_month"] < cutoff_month).any()
    assert not set(expiring) & set(after["record_id"])
    purges = _audit(
        capsys, home, "--kind", "retention_purge", "--dataset", "admissions_research_extract"
    )
    latest = [p for p in purges if p["launched_by"] == "retention-test"]
    assert len(latest) == 1 and len(purges) == 2, purges
    details = latest[0]["details"]
    assert isinstance(details, dict)
    assert details["cutoff"] == "2026-02-01"
    assert details["previouslyStored"] == len(expiring)
    assert details["purged"] >= len(expiring)
    assert re.fullmatch(r"[0-9a-f]{64}", str(details["purgedKeysSha256"]))
    complete = [
        e
        for e in events(home, report.run_id)
        if e["job"]["name"] == "admissions_research_extract" and e["eventType"] == "COMPLETE"
    ]
    facets = complete[0]["outputs"][0]["facets"]
    assert facets["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"
    assert facets["tagtrail_controls"]["retention"]["purged"] == details["purged"]
    text = cli.main(
        ["audit", "--home", str(home), "--kind", "retention_purge", "--since", "2000-01-01"]
    )
    assert text == 0 and "admissions_research_extract" in capsys.readouterr().out


def test_opt_out_register_change_removes_people_downstream(
    home_after_clean_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_after_clean_run
    key = _key(home)
    care = _stored(home, "care_research_extract")
    packages = _extract(home, "care_packages")
    register = _extract(home, "national_data_opt_out")
    pseudonyms = dict(
        zip(keyed_hash(packages["nhs_number"], key), packages["nhs_number"], strict=True)
    )
    person = next(
        pseudonyms[k]
        for k in care["person_key"]
        if pseudonyms[k] not in set(register["nhs_number"])
    )
    their_packages = int((packages["nhs_number"] == person).sum())
    stats_before = _stored(home, "care_statistics")
    total_before = int(
        stats_before.loc[
            (stats_before["postcode_district"] == "Total") & (stats_before["age_band"] == "Total"),
            "people",
        ].iloc[0]
    )
    extra = pd.DataFrame(
        {"opt_out_id": ["OO999999"], "nhs_number": [person], "recorded_on": ["2026-10-30"]}
    )
    pd.concat([register, extra]).to_csv(
        extract_path(home, "health", "national_data_opt_out"), index=False
    )

    report = run_demo(
        home, people=PEOPLE, as_of=AS_OF, regenerate=False, launched_by="opt-out-test"
    )

    assert report.success
    gone = keyed_hash(pd.Series([person]), key).iloc[0]
    for name in ("care_research_extract", "admissions_research_extract"):
        assert gone not in set(_stored(home, name)["person_key"]), name
    stats = _stored(home, "care_statistics")
    total = int(
        stats.loc[
            (stats["postcode_district"] == "Total") & (stats["age_band"] == "Total"), "people"
        ].iloc[0]
    )
    assert total <= total_before - 1
    records = _audit(
        capsys, home, "--kind", "opt_out_exclusion", "--dataset", "care_research_extract"
    )
    first, second = (r["details"] for r in records)
    assert isinstance(first, dict) and isinstance(second, dict)
    assert second["registerSize"] == first["registerSize"] + 1
    assert second["registerVersion"] != first["registerVersion"]
    assert second["excluded"] == first["excluded"] + their_packages
    assert records[1]["launched_by"] == "opt-out-test"


def test_audit_trail_says_who_ran_what_when_and_why(
    clean_home: tuple[Path, RunReport], capsys: pytest.CaptureFixture[str]
) -> None:
    home, report = clean_home
    with store(home) as s:
        started = [a for a in s.audit(kind="run_started") if a.dagster_run_id == report.run_id]
    assert {a.dataset for a in started} == set(ESTATE.datasets)
    assert {a.launched_by for a in started} == {getpass.getuser()}
    assert len({a.launched_at for a in started}) == 1
    for a in started:
        flow = ESTATE.producer(a.dataset)
        assert (a.agreement, a.purpose) == (
            (flow.agreement, flow.purpose) if flow else (None, None)
        )
        assert a.department == ESTATE.dataset_owner[a.dataset]
    research = _audit(capsys, home, "--agreement", "DSA-ASC-RES-03", "--kind", "run_completed")
    assert {r["dataset"] for r in research} == {"care_research_extract"}
    assert _audit(capsys, home, "--department", "public_reporting", "--since", "2000-01-01")
    assert not _audit(capsys, home, "--until", "2000-01-01")


def test_launcher_comes_from_run_tags_or_the_os_user() -> None:
    @dg.asset
    def probe(context) -> tuple[str, str]:  # type: ignore[no-untyped-def]
        launch = launch_of(context)
        return launch.by, launch.via

    assert dg.materialize([probe]).output_for_node("probe") == (getpass.getuser(), "os_user")
    tagged = dg.materialize([probe], tags={"user": "jo@example.org"})
    assert tagged.output_for_node("probe") == ("jo@example.org", "run_tag")
