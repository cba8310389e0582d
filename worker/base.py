"""The base class of every task: late acknowledgement, bounded retries, outcome recorded in the database."""

from __future__ import annotations

from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from server.core.orm import utcnow
from server.core.task_runs import TaskRun, TaskState
from server.storage import StorageUnavailable
from worker import resources


class RecordedTask(Task):
    """Idempotent tasks only: the same arguments may run more than once (retries, redelivery)."""

    abstract = True
    acks_late = True
    # Outages of the object store or the database are transient: retry with back-off.
    autoretry_for = (StorageUnavailable, OperationalError)
    max_retries = 5
    retry_backoff = 2
    retry_backoff_max = 120
    retry_jitter = True

    def _record(self, task_id: str, state: TaskState, **fields: Any) -> None:
        with resources.session_factory()() as db, db.begin():
            run = db.get(TaskRun, task_id)
            if run is None:
                run = TaskRun(id=task_id, name=self.name, state=state, args=list(self.request.args or []))
                db.add(run)
            run.state = state
            run.attempts = (self.request.retries or 0) + 1
            for name, value in fields.items():
                setattr(run, name, value)

    def before_start(self, task_id: str, args: tuple, kwargs: dict) -> None:
        self._record(task_id, TaskState.STARTED, error=None, finished_at=None)

    def on_success(self, retval: Any, task_id: str, args: tuple, kwargs: dict) -> None:
        self._record(task_id, TaskState.SUCCEEDED, result=retval, finished_at=utcnow())

    def on_retry(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        self._record(task_id, TaskState.RETRYING, error=f"{type(exc).__name__}: {exc}")

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        self._record(task_id, TaskState.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=utcnow())
