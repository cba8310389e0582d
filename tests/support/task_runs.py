"""Waiting for a worker's task run to finish."""

import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from server.core.task_runs import TaskRun, TaskState


def wait_for_run(
    session_factory: sessionmaker[Session], task_id: str, log: Path, timeout: float = 60
) -> TaskRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_factory() as db:
            run = db.get(TaskRun, task_id)
            if run is not None and run.state in {TaskState.SUCCEEDED, TaskState.FAILED}:
                return run
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish; worker log:\n{log.read_text()[-3000:]}")
