"""The team deployment is chosen by configuration: variables checked as a whole, Dagster's
``dagster.yaml`` written for them, the component's executor, and a broker that is down."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from dagster.components.testing.utils import component_defs

from dagster_project.cli_errors import UsageError
from dagster_project.components import EnvRef, TagtrailEstate
from dagster_project.deployment import Deployment
from dagster_project.instance import dagster_home
from dagster_project.team_demo import team_environment

from .test_cli_run import tagtrail

PG = "postgresql://postgres@127.0.0.1:5432/team"


def test_default_is_one_machine() -> None:
    deployment = Deployment.from_env({})
    assert not deployment.distributed
    assert deployment.dagster_url is None
    assert "postgres" not in deployment.instance_yaml()


def test_celery_needs_a_shared_instance_and_names_every_problem() -> None:
    with pytest.raises(UsageError) as caught:
        Deployment.from_env({"TAGTRAIL_EXECUTOR": "celery"})
    assert "TAGTRAIL_DAGSTER_URL" in str(caught.value)
    with pytest.raises(UsageError) as caught:
        Deployment.from_env({"TAGTRAIL_EXECUTOR": "k8s", "TAGTRAIL_DAGSTER_URL": "sqlite:///x"})
    assert "TAGTRAIL_EXECUTOR" in str(caught.value)
    assert "TAGTRAIL_DAGSTER_URL" in str(caught.value)


def test_dagster_url_is_normalised_for_dagster_postgres() -> None:
    deployment = Deployment.from_env({"TAGTRAIL_EXECUTOR": "celery", "TAGTRAIL_DAGSTER_URL": PG})
    assert deployment.distributed
    assert deployment.dagster_url == "postgresql+psycopg2://postgres@127.0.0.1:5432/team"
    assert "env: TAGTRAIL_DAGSTER_URL" in deployment.instance_yaml()
    assert PG not in deployment.instance_yaml(), "the URL stays in the variable"


def test_broker_password_stays_out_of_run_config() -> None:
    secret = "pyamqp://svc:s3cret@broker:5672//"
    config = Deployment.from_env({"TAGTRAIL_CELERY_BROKER": secret}).executor_config()
    assert config["broker"] == {"env": "TAGTRAIL_CELERY_BROKER"}
    assert "s3cret" not in str(config)
    assert Deployment.from_env({}).executor_config()["broker"].startswith("pyamqp://")  # type: ignore[union-attr]


def test_dagster_yaml_follows_the_settings_unless_someone_else_wrote_it(tmp_path: Path) -> None:
    team = Deployment.from_env({"TAGTRAIL_DAGSTER_URL": PG})
    settings = dagster_home(tmp_path, Deployment()) / "dagster.yaml"
    assert "postgres" not in settings.read_text()
    dagster_home(tmp_path, team)
    assert "postgres" in settings.read_text()
    dagster_home(tmp_path, Deployment())
    assert "postgres" not in settings.read_text()
    settings.write_text("telemetry:\n  enabled: false\n")
    dagster_home(tmp_path, team)
    assert settings.read_text() == "telemetry:\n  enabled: false\n"


def test_component_selects_the_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGTRAIL_DAGSTER_URL", PG)
    component = TagtrailEstate(
        estate="demo", executor=EnvRef(env="TAGTRAIL_EXECUTOR", default="in_process")
    )
    local = component_defs(component=component)
    assert local.resolve_job_def("all_flows").executor_def.name != "celery"
    monkeypatch.setenv("TAGTRAIL_EXECUTOR", "celery")
    team = component_defs(component=component)
    assert team.resolve_job_def("all_flows").executor_def.name == "celery"


def test_team_demo_keeps_what_the_user_set() -> None:
    env = team_environment({"TAGTRAIL_DAGSTER_URL": PG})
    assert env["TAGTRAIL_EXECUTOR"] == "celery"
    assert env["TAGTRAIL_LINEAGE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/team"
    assert env["TAGTRAIL_DATASETS_URL"] == env["TAGTRAIL_LINEAGE_URL"]
    mine = "sqlite:////tmp/mine.db"
    assert team_environment({"TAGTRAIL_LINEAGE_URL": mine})["TAGTRAIL_LINEAGE_URL"] == mine


def _refusing_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_broker_down_refuses_the_run_and_writes_nothing(tmp_path: Path, team_database: str) -> None:
    home = tmp_path / "home"
    done = tagtrail(
        "demo",
        "--people",
        "200",
        home=home,
        cwd=tmp_path,
        TAGTRAIL_EXECUTOR="celery",
        TAGTRAIL_DAGSTER_URL=team_database,
        TAGTRAIL_CELERY_BROKER=f"pyamqp://guest:guest@127.0.0.1:{_refusing_port()}//",
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "TAGTRAIL_CELERY_BROKER" in done.stderr
    assert not (home / "datasets").exists()


def test_missing_instance_database_is_a_named_mistake(tmp_path: Path, team_database: str) -> None:
    done = tagtrail(
        "demo",
        "--people",
        "200",
        home=tmp_path / "home",
        cwd=tmp_path,
        TAGTRAIL_EXECUTOR="celery",
        TAGTRAIL_DAGSTER_URL=team_database + "_absent",
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "TAGTRAIL_DAGSTER_URL" in done.stderr
