"""Background work, sent by task name: the domain queues, a door sends after its commit.

A service function calls `enqueue(db, "imaging.render_previews", instance_id)`; the message waits in
the session (`db.info`) until the door that owns the transaction has committed, then goes to the
broker through a `TaskClient` (`send_pending`). So the worker always sees the rows it is sent for,
a rolled-back change sends nothing, and nothing in `server/` imports the worker's code: tasks are
known by name only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from server.core.config import Settings

log = logging.getLogger(__name__)

OUTBOX = "telemed.outbox"


@dataclass(frozen=True)
class TaskMessage:
    name: str
    args: tuple[Any, ...]
    urgent: bool = False


def enqueue(db: Session, name: str, *args: Any, urgent: bool = False) -> None:
    """Queue task `name` to be sent once `db`'s transaction commits; `urgent` goes to the urgent queue."""
    db.info.setdefault(OUTBOX, []).append(TaskMessage(name, args, urgent))


def take_pending(db: Session) -> list[TaskMessage]:
    """The messages queued in `db` so far, removed from it (call after commit; drop them on rollback)."""
    pending: list[TaskMessage] = db.info.pop(OUTBOX, [])
    return pending


def broker_transport_options(settings: Settings) -> dict[str, object]:
    """Kombu options: the embedded filesystem queue's folders, or Redis' visibility timeout."""
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


def celery_client(settings: Settings) -> Celery:
    """A Celery app that only sends (no task modules): the worker's app adds its tasks to the same setup."""
    app = Celery("telemed", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        # One queue name per installation, so installations sharing a Redis never take each other's tasks.
        task_default_queue=settings.task_queue,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        # Outcomes are recorded in our own `task_runs` table; no result backend needed.
        task_ignore_result=True,
    )
    return app


class TaskClient:
    """Sends queued task messages to the broker by name."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.app = app or celery_client(settings)
        self.urgent_queue = settings.urgent_queue

    def send(self, message: TaskMessage) -> None:
        queue = self.urgent_queue if message.urgent else None
        self.app.send_task(message.name, args=list(message.args), queue=queue)

    def send_pending(self, db: Session) -> None:
        """Send what `db` queued; a message the broker refuses is logged, never raised: the data is
        committed, and the sweeps re-queue work whose task never reached the broker."""
        for message in take_pending(db):
            try:
                self.send(message)
            except Exception:
                log.exception("could not send task %s", message.name)
