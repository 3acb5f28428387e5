"""``TagtrailEstate``: a Dagster component that loads a tagtrail estate into any Dagster project.

Declared in a project's ``defs.yaml``::

    type: dagster_project.components.TagtrailEstate
    attributes:
      estate: ../../../my-estate          # relative to this defs.yaml
      home: {env: TAGTRAIL_HOME}          # read when a run starts; the UI shows only the name
      lineage_url: {env: TAGTRAIL_LINEAGE_URL}
      datasets_url: {env: TAGTRAIL_DATASETS_URL}   # optional: publish to PostgreSQL tables
      executor: celery                           # optional: steps on Celery workers

Settings given as ``{env: NAME}`` become ``dg.EnvVar(NAME)`` on the resources, so Dagster reads
them at run time and its UI shows the variable's name, never the value. ``estate`` decides which
assets exist, so it is read when the definitions load; ``{env: NAME, default: demo}`` takes it from
the environment (a relative path is then taken from the working directory, as in a shell).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dagster as dg
from pydantic import Field

from dagster_project.factory import build_definitions
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, PseudonymKey, TagtrailSettings
from pipelines.estate import load_estate
from pipelines.home import estate_dir
from pipelines.yamlfile import DeclarationError


class EnvRef(dg.Model):
    """``{env: NAME}``: the value of environment variable NAME, read when it is needed."""

    env: str = Field(description="the environment variable's name")
    default: str | None = Field(
        default=None, description="only for estate: used when the variable is unset"
    )


Setting = str | EnvRef | None
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TagtrailEstate(dg.Component, dg.Model, dg.Resolvable):
    """A tagtrail estate: each dataset an asset behind its quality gate and privacy controls,
    with the estate's automation (source sensor, flow conditions, agreement review)."""

    estate: str | EnvRef = Field(
        description="the estate folder (relative to this defs.yaml), 'demo', or {env: NAME, "
        "default: ...}"
    )
    home: Setting = Field(default=None, description="TAGTRAIL_HOME: extracts, datasets, keys")
    extracts: Setting = Field(default=None, description="folder file sources are read from")
    lineage_url: Setting = Field(default=None, description="lineage store SQLAlchemy URL")
    datasets_url: Setting = Field(
        default=None,
        description="PostgreSQL URL to publish datasets to, a schema a department (default: "
        "Parquet files under home)",
    )
    pseudonym_key_file: Setting = Field(default=None, description="file holding the key")
    executor: str | EnvRef = Field(
        default="in_process",
        description="where steps run: in_process, or celery (workers on TAGTRAIL_CELERY_BROKER; "
        "needs TAGTRAIL_DAGSTER_URL); {env: NAME, default: ...} reads it when definitions load",
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """Load the estate (every declaration problem is reported at once) and build its defs."""
        home = _run_time(self.home, "home")
        settings = TagtrailSettings(home=home, extracts=_run_time(self.extracts, "extracts"))
        return build_definitions(
            load_estate(self.estate_folder(context.path)),
            resources={
                "settings": settings,
                "io_manager": self.io_manager(home),
                "lineage": LineageResource(
                    home=home, url=_run_time(self.lineage_url, "lineage_url")
                ),
                "pseudonym_key": PseudonymKey(
                    key_file=_run_time(self.pseudonym_key_file, "pseudonym_key_file")
                ),
            },
            executor=self.executor_def(context.path),
        )

    def io_manager(self, home: str | None) -> dg.ConfigurableIOManager:
        """Tables in PostgreSQL when ``datasets_url`` is given, else files under the home."""
        if self.datasets_url is None:
            return DatasetIOManager(home=home)
        from dagster_project.warehouse_io import WarehouseIOManager

        url = _run_time(self.datasets_url, "datasets_url")
        assert url is not None
        return WarehouseIOManager(url=url)

    def executor_def(self, here: Path) -> dg.ExecutorDefinition | None:
        """Dagster's default executor, or Celery's on the deployment's broker and queue (a broker
        URL given as a variable stays one, read where the run starts)."""
        value = self.executor
        if isinstance(value, EnvRef):
            value = os.environ.get(value.env) or value.default or "in_process"
        if value == "in_process":
            return None
        if value != "celery":
            raise DeclarationError(
                [
                    f"{here / 'defs.yaml'}: attributes.executor: {value!r} is not in_process or celery"
                ]
            )
        from dagster_celery import celery_executor

        from dagster_project.deployment import Deployment

        return celery_executor.configured(Deployment.from_env().executor_config())

    def estate_folder(self, here: Path) -> Path:
        """The estate's folder: from the environment (relative to the working directory) or
        relative to the folder of the ``defs.yaml`` that declares it."""
        if isinstance(self.estate, EnvRef):
            value = os.environ.get(self.estate.env) or self.estate.default
            if not value:
                raise DeclarationError(
                    [
                        f"{here / 'defs.yaml'}: attributes.estate: environment variable "
                        f"{self.estate.env} is not set; set it to the estate folder, or give "
                        "a default (e.g. default: demo)"
                    ]
                )
            return estate_dir(value)
        if self.estate == "demo":
            return estate_dir("demo")
        path = Path(self.estate).expanduser()
        return path if path.is_absolute() else (here / path).resolve()


def _run_time(value: Setting, field: str) -> str | None:
    """A resource setting: a plain value, or ``dg.EnvVar`` read when a run starts."""
    if not isinstance(value, EnvRef):
        return value
    if not _ENV_NAME.match(value.env):
        raise ValueError(f"{field}: '{value.env}' is not an environment variable name")
    if value.default is not None:
        raise ValueError(
            f"{field}: default is only allowed for estate; a run-time setting {{env: "
            f"{value.env}}} must be set where runs execute"
        )
    return dg.EnvVar(value.env)
