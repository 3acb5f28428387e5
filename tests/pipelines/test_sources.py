"""Source datasets read where they live: files under the extracts folder, SQL tables and queries.

The SQL tests run on SQLite always, and on real PostgreSQL and MariaDB servers where
TAGTRAIL_TEST_PG_URL / TAGTRAIL_TEST_MARIADB_URL are set.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pandas as pd
import pytest

from pipelines.estate import Estate, load_estate
from pipelines.extracts import conform
from pipelines.manifest import MANIFEST
from pipelines.scaffold import init_estate
from pipelines.sources import (
    SourceError,
    check_source,
    extracts_dir,
    fingerprint,
    read_source,
)

from ..conftest import SqlDatabase

SAMPLE = "sample_data/health/referrals.csv"


@pytest.fixture
def estate_root(tmp_path: Path) -> Path:
    """A new estate (as `tagtrail init` writes it): one CSV source, ``referrals``."""
    root = tmp_path / "estate"
    init_estate(root)
    return root


def _source(root: Path, yaml_value: str) -> Estate:
    """The estate with its ``referrals`` source replaced by ``yaml_value``."""
    path = root / MANIFEST
    text = path.read_text()
    path.write_text(re.sub(r"(?m)^  referrals: \{file: .*\}$", f"  referrals: {yaml_value}", text))
    return load_estate(root)


def _sample(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / SAMPLE, dtype="string")


def test_csv_source_reads_text_and_conforms(estate_root: Path) -> None:
    estate = load_estate(estate_root)
    extracts = extracts_dir(estate, estate_root / "home")
    assert extracts == (estate_root / "sample_data").resolve()
    raw = read_source(estate, "referrals", extracts)
    assert len(raw) == 240 and raw["nhs_number"].dtype == "string"
    frame, conformance = conform(raw, estate.datasets["referrals"])
    assert conformance.ok and str(frame["referral_date"].dtype).startswith("datetime64")


def test_parquet_source(estate_root: Path) -> None:
    table = _sample(estate_root).assign(referral_date=lambda f: pd.to_datetime(f.referral_date))
    table.to_parquet(estate_root / "sample_data" / "referrals.parquet", index=False)
    estate = _source(estate_root, "{file: referrals.parquet}")
    frame, conformance = conform(
        read_source(estate, "referrals", extracts_dir(estate, estate_root)),
        estate.datasets["referrals"],
    )
    assert conformance.ok and len(frame) == 240


def test_extracts_setting_beats_the_manifest(estate_root: Path, tmp_path: Path) -> None:
    estate = load_estate(estate_root)
    elsewhere = tmp_path / "delivered"
    assert extracts_dir(estate, tmp_path, str(elsewhere)) == elsewhere.resolve()
    with pytest.raises(SourceError, match=r"file .*delivered/health/referrals\.csv not found"):
        check_source(estate, "referrals", elsewhere)


def _sql_estate(root: Path, db: SqlDatabase, env: str = "CLINIC_DB_URL", **extra: str) -> Estate:
    fields = {"url_env": env, "table": "referrals", **extra}
    if db.schema:
        fields["schema"] = db.schema
    return _source(root, "{sql: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}}")


def _typed(root: Path) -> pd.DataFrame:
    """The sample as a department's database would hold it: typed columns plus bookkeeping."""
    frame = _sample(root)
    return frame.assign(
        date_of_birth=pd.to_datetime(frame.date_of_birth).dt.date,
        referral_date=pd.to_datetime(frame.referral_date).dt.date,
        updated_at=pd.Timestamp("2026-10-01 09:00"),
        internal_note="not declared, never read",
    )


def test_sql_table_is_read_with_its_declared_columns(
    estate_root: Path, sql_database: SqlDatabase
) -> None:
    sql_database.load("referrals", _typed(estate_root))
    estate = _sql_estate(estate_root, sql_database)
    env = {"CLINIC_DB_URL": sql_database.url}
    check_source(estate, "referrals", estate_root, env)
    raw = read_source(estate, "referrals", estate_root, env)
    assert list(raw.columns) == list(estate.datasets["referrals"].column_names)
    frame, conformance = conform(raw, estate.datasets["referrals"])
    assert conformance.ok, conformance.failures
    expected, _ = conform(_sample(estate_root), estate.datasets["referrals"])
    ordered = frame.sort_values("referral_id", ignore_index=True)
    pd.testing.assert_frame_equal(ordered, expected.sort_values("referral_id", ignore_index=True))


def test_sql_query_source(estate_root: Path, sql_database: SqlDatabase) -> None:
    sql_database.load("referrals", _typed(estate_root))
    table = f"{sql_database.schema}.referrals" if sql_database.schema else "referrals"
    columns = "referral_id, nhs_number, date_of_birth, postcode, referral_date, service"
    estate = _source(
        estate_root,
        f"{{sql: {{url_env: CLINIC_DB_URL, query: 'SELECT {columns} FROM {table} "
        "WHERE service LIKE ''memory%'';'}}",
    )
    env = {"CLINIC_DB_URL": sql_database.url}
    check_source(estate, "referrals", estate_root, env)
    raw = read_source(estate, "referrals", estate_root, env)
    assert len(raw) == int((_sample(estate_root).service == "memory_clinic").sum())


def test_fingerprint_follows_the_updated_column(
    estate_root: Path, sql_database: SqlDatabase
) -> None:
    frame = _typed(estate_root)
    sql_database.load("referrals", frame)
    estate = _sql_estate(estate_root, sql_database, updated_column="updated_at")
    env = {"CLINIC_DB_URL": sql_database.url}
    before = fingerprint(estate, "referrals", estate_root, env)
    assert fingerprint(estate, "referrals", estate_root, env) == before
    frame.loc[0, "updated_at"] = pd.Timestamp("2026-11-02 08:30")
    sql_database.load("referrals", frame)
    assert fingerprint(estate, "referrals", estate_root, env) != before


def test_fingerprint_of_content(estate_root: Path, sql_database: SqlDatabase) -> None:
    frame = _typed(estate_root)
    sql_database.load("referrals", frame)
    estate = _sql_estate(estate_root, sql_database)
    env = {"CLINIC_DB_URL": sql_database.url}
    before = fingerprint(estate, "referrals", estate_root, env)
    frame.loc[3, "service"] = (
        "physiotherapy" if frame.loc[3, "service"] != "physiotherapy" else "memory_clinic"
    )
    sql_database.load("referrals", frame)
    assert fingerprint(estate, "referrals", estate_root, env) != before


def test_file_fingerprint_is_the_content(estate_root: Path) -> None:
    estate = load_estate(estate_root)
    extracts = extracts_dir(estate, estate_root)
    before = fingerprint(estate, "referrals", extracts)
    path = estate_root / SAMPLE
    path.write_text(path.read_text())  # same bytes, new modification time
    assert fingerprint(estate, "referrals", extracts) == before
    path.write_text(path.read_text().replace("REF10001", "REF90001"))
    assert fingerprint(estate, "referrals", extracts) != before


def test_missing_table_names_the_tables_there(estate_root: Path, sql_database: SqlDatabase) -> None:
    sql_database.load("referral", _typed(estate_root))
    estate = _sql_estate(estate_root, sql_database)
    with pytest.raises(SourceError) as info:
        check_source(estate, "referrals", estate_root, {"CLINIC_DB_URL": sql_database.url})
    assert not info.value.transient
    assert "table 'referrals' not found" in info.value.problem
    assert "did you mean 'referral'" in info.value.problem


def test_missing_declared_column(estate_root: Path, sql_database: SqlDatabase) -> None:
    sql_database.load("referrals", _typed(estate_root).drop(columns=["postcode"]))
    estate = _sql_estate(estate_root, sql_database)
    with pytest.raises(SourceError, match="table 'referrals' has no column postcode"):
        read_source(estate, "referrals", estate_root, {"CLINIC_DB_URL": sql_database.url})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "environment variable CLINIC_DB_URL is not set"),
        ("not a url", r"\$CLINIC_DB_URL does not hold a SQLAlchemy URL"),
        ("nosuchdb+driver://u@h/db", "names a database driver that is not installed"),
        ("mysql+mysqldb://root@127.0.0.1:3306/test", r"not installed \(MySQLdb\)"),
    ],
    ids=["unset", "not-a-url", "unknown-dialect", "driver-missing"],
)
def test_connection_settings_mistakes_are_terminal(
    estate_root: Path, url: str | None, expected: str
) -> None:
    estate = _source(estate_root, "{sql: {url_env: CLINIC_DB_URL, table: referrals}}")
    env = {"CLINIC_DB_URL": url} if url else {}
    with pytest.raises(SourceError) as info:
        check_source(estate, "referrals", estate_root, env)
    assert re.search(expected, info.value.problem), info.value.problem
    assert not info.value.transient
    assert "secret" not in str(info.value)


def test_a_password_in_the_url_never_appears(estate_root: Path) -> None:
    estate = _source(estate_root, "{sql: {url_env: CLINIC_DB_URL, table: referrals}}")
    port = _free_port()
    env = {"CLINIC_DB_URL": f"postgresql+psycopg://reader:s3cr3t@127.0.0.1:{port}/clinic"}
    with pytest.raises(SourceError) as info:
        check_source(estate, "referrals", estate_root, env)
    assert "s3cr3t" not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_a_server_that_refuses_is_transient(estate_root: Path) -> None:
    estate = _source(estate_root, "{sql: {url_env: CLINIC_DB_URL, table: referrals}}")
    env = {"CLINIC_DB_URL": f"mysql+pymysql://root@127.0.0.1:{_free_port()}/test"}
    with pytest.raises(SourceError) as info:
        read_source(estate, "referrals", estate_root, env)
    assert info.value.transient
    assert "did not answer" in info.value.problem


def _free_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
