"""The TagtrailEstate component in a user's own Dagster project, and tagtrail's own code location
pointed at an estate outside this repository with TAGTRAIL_ESTATE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster.components.testing.utils import component_defs

from dagster_project.components import EnvRef, TagtrailEstate
from pipelines.demo import DEMO_ESTATE
from pipelines.scaffold import init_estate
from pipelines.yamlfile import DeclarationError

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFINITIONS = """from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
"""


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "DAGSTER_"))}
    dagster_home = tmp / "dagster-home"
    dagster_home.mkdir(exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return env | {"DAGSTER_HOME": str(dagster_home), **extra}


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def user_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A Dagster project of the user's, scaffolded with `dg`, and an estate beside it."""
    work = tmp_path_factory.mktemp("user")
    init_estate(work / "my-estate")
    project = work / "analytics"
    package = project / "src" / "analytics"
    (package / "defs").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "analytics"\n'
    )
    (package / "definitions.py").write_text(DEFINITIONS)
    scaffold = _run(
        [
            str(BIN / "dg"),
            "scaffold",
            "defs",
            "dagster_project.components.TagtrailEstate",
            "estate",
        ],
        project,
        _env(work),
    )
    assert scaffold.returncode == 0, scaffold.stdout + scaffold.stderr
    return work, project


def _declare(project: Path, attributes: str) -> Path:
    path = project / "src" / "analytics" / "defs" / "estate" / "defs.yaml"
    path.write_text(f"type: dagster_project.components.TagtrailEstate\nattributes:\n{attributes}")
    return path


def test_dg_check_defs_passes_on_a_project_declaring_the_estate(
    user_project: tuple[Path, Path],
) -> None:
    work, project = user_project
    _declare(
        project,
        "  estate: ../../../../../my-estate\n"
        "  home: {env: TAGTRAIL_HOME}\n"
        "  lineage_url: {env: TAGTRAIL_LINEAGE_URL}\n",
    )
    done = _run([str(BIN / "dg"), "check", "defs"], project, _env(work))
    assert done.returncode == 0, done.stdout + done.stderr
    listed = _run(
        [str(BIN / "dg"), "list", "defs", "--json"], project, _env(work, PYTHONPATH="src")
    )
    assert listed.returncode == 0, listed.stderr
    assets = {a["asset_key"] for a in json.loads(listed.stdout)["assets"]}
    assert assets == {"health/referrals", "public_reporting/referrals_by_area"}


def test_dg_check_yaml_names_a_misspelled_attribute(user_project: tuple[Path, Path]) -> None:
    work, project = user_project
    path = _declare(project, "  estat: ../../../../../my-estate\n")
    done = _run([str(BIN / "dg"), "check", "yaml"], project, _env(work))
    assert done.returncode == 1
    assert f"{path}:3" in done.stdout + done.stderr
    assert "'estat' was unexpected" in done.stdout + done.stderr


def test_a_declaration_mistake_in_the_estate_fails_dg_check_defs(
    user_project: tuple[Path, Path],
) -> None:
    work, project = user_project
    _declare(project, "  estate: ../../../../../no-such-estate\n")
    done = _run([str(BIN / "dg"), "check", "defs"], project, _env(work))
    assert done.returncode != 0
    assert "no-such-estate: estate folder not found" in done.stdout + done.stderr


def test_tagtrail_estate_points_the_built_in_location_elsewhere(tmp_path: Path) -> None:
    init_estate(tmp_path / "my-estate")
    validate = [str(BIN / "dagster"), "definitions", "validate", "-w", str(REPO / "workspace.yaml")]
    ok = _run(validate, tmp_path, _env(tmp_path, TAGTRAIL_ESTATE="my-estate"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    missing = _run(validate, tmp_path, _env(tmp_path, TAGTRAIL_ESTATE="not-there"))
    assert missing.returncode != 0
    assert "not-there: estate folder not found" in missing.stdout + missing.stderr


def test_the_estate_setting_reads_the_environment_when_definitions_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_estate(tmp_path / "mine")
    component = TagtrailEstate(estate=EnvRef(env="TAGTRAIL_ESTATE", default="demo"))
    monkeypatch.delenv("TAGTRAIL_ESTATE", raising=False)
    assert component.estate_folder(tmp_path) == DEMO_ESTATE
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAGTRAIL_ESTATE", "mine")
    assert component.estate_folder(Path("/elsewhere")) == tmp_path / "mine"
    literal = TagtrailEstate(estate="../mine")
    assert literal.estate_folder(tmp_path / "defs") == tmp_path / "mine"
    monkeypatch.delenv("TAGTRAIL_ESTATE")
    unset = TagtrailEstate(estate=EnvRef(env="TAGTRAIL_ESTATE"))
    with pytest.raises(DeclarationError, match="environment variable TAGTRAIL_ESTATE is not set"):
        unset.estate_folder(tmp_path)


def test_run_time_settings_become_env_vars(tmp_path: Path) -> None:
    init_estate(tmp_path / "mine")
    component = TagtrailEstate(
        estate=str(tmp_path / "mine"),
        home=EnvRef(env="MY_HOME"),
        pseudonym_key_file=EnvRef(env="MY_KEY_FILE"),
    )
    defs = component_defs(component=component)
    resources = defs.resources or {}
    assert resources["settings"].home == dg.EnvVar("MY_HOME")
    assert resources["pseudonym_key"].key_file == dg.EnvVar("MY_KEY_FILE")
    with pytest.raises(ValueError, match="default is only allowed for estate"):
        component_defs(component=TagtrailEstate(estate="x", home=EnvRef(env="H", default="/t")))
