"""Where runs execute and where Dagster keeps its records, chosen by configuration.

One machine (the default): Dagster's instance is SQLite under the home and a run executes in the
process that launched it. A team sets, where runs are launched and where workers start:

``TAGTRAIL_EXECUTOR=celery``
    each step of a run goes to whichever Celery worker takes it (``dagster-celery``);
``TAGTRAIL_CELERY_BROKER``
    the broker the workers listen on (default ``pyamqp://guest:guest@127.0.0.1:5672//``);
``TAGTRAIL_CELERY_QUEUE``
    the queue on that broker (default ``tagtrail``), so several estates can share a broker;
``TAGTRAIL_DAGSTER_URL``
    a PostgreSQL URL for Dagster's runs, event log and schedules (``dagster-postgres``, which
    speaks through psycopg2: ``postgresql+psycopg2://user@host:5432/db``; a plain
    ``postgresql://`` URL is taken to mean that); required with Celery, because workers in other
    processes or on other machines write to the same instance.

Variables are read when a command runs, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from dagster_project.cli_errors import UsageError

EXECUTOR_ENV: Final = "TAGTRAIL_EXECUTOR"
BROKER_ENV: Final = "TAGTRAIL_CELERY_BROKER"
QUEUE_ENV: Final = "TAGTRAIL_CELERY_QUEUE"
DAGSTER_URL_ENV: Final = "TAGTRAIL_DAGSTER_URL"
DEFAULT_BROKER: Final = "pyamqp://guest:guest@127.0.0.1:5672//"
DEFAULT_QUEUE: Final = "tagtrail"
EXECUTORS: Final = ("in_process", "celery")
MARKER: Final = "# Written by tagtrail from its settings"
_PG_SCHEMES: Final = ("postgresql", "postgres", "postgresql+psycopg2")

_LOCAL_YAML: Final = """\
telemetry:
  enabled: false
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_resume_run_attempts: 0
"""
_POSTGRES_YAML: Final = f"""\
storage:
  postgres:
    postgres_url:
      env: {DAGSTER_URL_ENV}
"""


@dataclass(frozen=True)
class Deployment:
    """How runs execute (``executor``) and where Dagster's instance stores its records."""

    executor: Literal["in_process", "celery"] = "in_process"
    dagster_url: str | None = None
    broker: str = DEFAULT_BROKER
    queue: str = DEFAULT_QUEUE
    broker_from_env: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Deployment:
        """The deployment the environment selects; a :class:`UsageError` naming every bad variable."""
        env = os.environ if environ is None else environ
        problems = []
        executor = env.get(EXECUTOR_ENV, "").strip() or "in_process"
        if executor not in EXECUTORS:
            problems.append(f"{EXECUTOR_ENV}={executor!r} is not one of {', '.join(EXECUTORS)}")
        dagster_url = env.get(DAGSTER_URL_ENV, "").strip() or None
        if dagster_url:
            scheme, sep, rest = dagster_url.partition("://")
            if not sep or scheme not in _PG_SCHEMES:
                problems.append(
                    f"{DAGSTER_URL_ENV} must be a PostgreSQL URL such as "
                    "postgresql+psycopg2://user@127.0.0.1:5432/dagster"
                )
            dagster_url = f"postgresql+psycopg2://{rest}"
        if executor == "celery" and not dagster_url:
            problems.append(
                f"{EXECUTOR_ENV}=celery needs {DAGSTER_URL_ENV} (a PostgreSQL URL): Celery "
                "workers record their steps in the same Dagster instance as the launcher"
            )
        queue = env.get(QUEUE_ENV, "").strip() or DEFAULT_QUEUE
        if problems:
            raise UsageError("; ".join(problems))
        broker = env.get(BROKER_ENV, "").strip()
        return cls(
            executor="celery" if executor == "celery" else "in_process",
            dagster_url=dagster_url,
            broker=broker or DEFAULT_BROKER,
            queue=queue,
            broker_from_env=bool(broker),
        )

    def export(self) -> None:
        """Put the normalised Dagster URL in this process's environment, where the instance (and
        every worker this process starts) reads it."""
        if self.dagster_url:
            os.environ[DAGSTER_URL_ENV] = self.dagster_url

    @property
    def distributed(self) -> bool:
        """Whether steps run on Celery workers."""
        return self.executor == "celery"

    def instance_yaml(self) -> str:
        """The ``dagster.yaml`` for this deployment (the URL stays a variable reference)."""
        storage = _POSTGRES_YAML if self.dagster_url else ""
        return f"{MARKER}; edit the variables it names, not this file.\n{_LOCAL_YAML}{storage}"

    def executor_config(self) -> dict[str, object]:
        """Run config for ``dagster-celery``'s executor (the broker stays a variable if it is one,
        so a password never lands in the run's stored config)."""
        broker: object = {"env": BROKER_ENV} if self.broker_from_env else self.broker
        return {
            "broker": broker,
            "backend": "rpc://",
            "config_source": {"task_default_queue": self.queue, "worker_prefetch_multiplier": 1},
        }


def is_ours(text: str) -> bool:
    """Whether a ``dagster.yaml`` was written by tagtrail (so it may be rewritten)."""
    return text.startswith(MARKER) or text == _LOCAL_YAML
