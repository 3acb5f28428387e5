"""The Celery application tagtrail's workers run: ``tagtrail worker`` (or
``celery -A dagster_project.celery_app worker``).

It is dagster-celery's step task, listening on the broker and queue the worker's environment
names (see :mod:`dagster_project.deployment`); it is read when the worker starts.
"""

from __future__ import annotations

from celery import Celery
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from dagster_project.deployment import Deployment


def worker_app(deployment: Deployment) -> Celery:
    """dagster-celery's app on ``deployment``'s broker, consuming its queue."""
    app: Celery = make_app()  # type: ignore[no-untyped-call]
    app.conf.update(
        broker_url=deployment.broker,
        result_backend="rpc://",
        task_default_queue=deployment.queue,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    create_task(app)  # type: ignore[no-untyped-call]
    return app


app = worker_app(Deployment.from_env())
