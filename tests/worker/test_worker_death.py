"""A worker killed while rendering loses nothing: the next worker finishes the previews.

A SIGKILL leaves the task unacknowledged (late acknowledgement) and its run recorded as started. The
broker would hand the message out again only after its visibility timeout (an hour); the preview sweep
finds the instance still without previews and queues it again, and the fresh worker renders it whole.
Runs on an installation of its own (SQLite, its own Redis queue) so the sweep sees only this instance.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from server.community.models import Institution
from server.core.db import make_engine, make_session_factory, transaction
from server.core.migrate import upgrade
from server.core.task_runs import TaskRun, TaskState
from server.dicom.ingest import ingest_instance
from server.dicom.models import DicomInstance
from server.dicom.previews import PREVIEW_SIZES, preview_key
from server.storage import open_store
from server.tools.demo.community import load_demo
from tests.support.accounts import DEMO_PASSWORD
from tests.support.dicom_factory import multiframe_us
from tests.support.services import process_env, redis_url, running, telemed_command
from tests.support.settings import make_settings
from worker.app import make_celery

FRAMES = 60


def test_previews_survive_a_worker_killed_mid_task(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, TELEMED_BROKER_URL=redis_url(), TELEMED_TASK_QUEUE=f"telemed-death-{uuid.uuid4().hex[:8]}"
    )
    upgrade(settings.database_url)
    store = open_store(settings)
    store.ensure_ready()
    factory = make_session_factory(make_engine(settings.database_url))
    with transaction(factory) as db:
        load_demo(db, DEMO_PASSWORD)
        village = db.scalar(select(Institution.id).where(Institution.name == "青山村卫生室"))
        assert village is not None
        cine = multiframe_us(FRAMES, rows=480, cols=640, seed=91)
        outcome = ingest_instance(db, store, cine, institution_id=village, user=None)
    instance_id = outcome.instance_id
    assert instance_id is not None
    celery = make_celery(settings)
    env = process_env(settings)

    first_log = tmp_path / "first-worker.log"
    with running(telemed_command("worker", "--concurrency", "1"), env, log=first_log) as first:
        task = celery.send_task("imaging.render_instance_previews", args=[outcome.instance_id])
        wait_until(lambda: run_state(factory, task.id) == TaskState.STARTED, first_log)
        time.sleep(0.5)  # well into the 60 frames
        crash(first)

    with factory() as db:
        instance = db.get(DicomInstance, outcome.instance_id)
        assert instance is not None
        assert instance.previews_at is None, (
            "the worker finished before it was killed; the test proves nothing"
        )
    assert run_state(factory, task.id) == TaskState.STARTED  # the killed run never recorded an outcome

    second_log = tmp_path / "second-worker.log"
    with running(telemed_command("worker", "--concurrency", "1"), env, log=second_log):
        celery.send_task("imaging.requeue_missing_previews", kwargs={"grace_seconds": 0})
        wait_until(lambda: previews_done(factory, instance_id), second_log, timeout=120)

    for frame in range(FRAMES):
        for size in PREVIEW_SIZES:
            key = preview_key(outcome.study_uid, outcome.series_uid, outcome.sop_uid, frame, size)
            assert store.read_bytes(key)[:2] == b"\xff\xd8", f"preview {key} is not a whole JPEG"


def run_state(factory, task_id: str) -> TaskState | None:
    with factory() as db:
        run = db.get(TaskRun, task_id)
        return run.state if run else None


def previews_done(factory, instance_id: int) -> bool:
    with factory() as db:
        return db.get(DicomInstance, instance_id).previews_at is not None


def wait_until(condition, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s; worker log:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def crash(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes at once, as a power cut or the OOM killer would."""
    for pid in [*descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found
