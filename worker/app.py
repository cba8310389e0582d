"""The Celery application. `celery -A worker.app worker` (or `telemed worker`) runs it.

Embedded mode needs no broker server: kombu's filesystem transport keeps the queue in the data
directory. Production and tests use Redis (TELEMED_BROKER_URL=redis://...).

Importing this module does nothing: the app is made from the settings on first use (`current()`,
or the `app` attribute Celery's `-A worker.app` looks up). Tasks are `shared_task`s, bound to
whichever app includes their module, and the API server sends them by name only
(`server.core.tasks`), never importing this package.
"""

from __future__ import annotations

from celery import Celery

from server.core.config import Settings, load_settings
from server.core.tasks import celery_client

TASK_MODULES = [
    "worker.tasks",
    "worker.sweeps",
    "worker.workflow_tasks",
    "worker.ecg_tasks",
    "worker.slide_tasks",
    "worker.recording_tasks",
    "worker.teaching_tasks",
]

# The periodic sweeps; exactly one beat per deployment sends them (`celery -A worker.app beat`).
BEAT_SCHEDULE = {
    "workflow.flag_overdue": {"task": "workflow.flag_overdue", "schedule": 60.0},
    "imaging.requeue_missing_previews": {"task": "imaging.requeue_missing_previews", "schedule": 300.0},
    "uploads.expire_stale hourly": {"task": "uploads.expire_stale", "schedule": 3600.0},
}


def make_celery(settings: Settings) -> Celery:
    app = celery_client(settings)
    app.conf.update(
        include=TASK_MODULES,
        beat_schedule=BEAT_SCHEDULE,
        # A task is acknowledged only after it finished, so a worker that dies mid-task leaves it queued.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
    )
    app.conf.telemed_settings = settings
    app.set_current()
    return app


_current: Celery | None = None


def current() -> Celery:
    """This process's worker app, made from the environment's settings on first use."""
    global _current
    if _current is None:
        _current = make_celery(load_settings())
    return _current


def __getattr__(name: str) -> Celery:
    if name == "app":  # what `celery -A worker.app` asks for
        return current()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
