"""The Celery application. `celery -A worker.app worker` (or `telemed worker`) runs it.

Embedded mode needs no broker server: kombu's filesystem transport keeps the queue in the data
directory. Production and tests use Redis (TELEMED_BROKER_URL=redis://...).
"""

from __future__ import annotations

from celery import Celery

from server.core.config import Settings, load_settings


def broker_transport_options(settings: Settings) -> dict[str, object]:
    if not settings.broker_url.startswith("filesystem://"):
        return {"visibility_timeout": 3600}
    queue = settings.broker_folder / "queue"
    control = settings.broker_folder / "control"
    for folder in (queue, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(control),
        "store_processed": False,
    }


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "telemed",
        broker=settings.broker_url,
        include=[
            "worker.tasks",
            "worker.sweeps",
            "worker.workflow_tasks",
            "worker.ecg_tasks",
            "worker.slide_tasks",
            "worker.recording_tasks",
            "worker.teaching_tasks",
        ],
    )
    app.conf.update(
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        # One queue name per installation, so installations sharing a Redis never take each other's tasks.
        task_default_queue=settings.task_queue,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        # A task is acknowledged only after it finished, so a worker that dies mid-task leaves it queued.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Outcomes are recorded in our own `task_runs` table; no result backend needed.
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    app.conf.telemed_settings = settings
    return app


celery_app = make_celery(load_settings())
