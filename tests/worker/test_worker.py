"""A real Celery worker process, fed through Redis, verifies stored objects and records the outcome."""

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.cases.models import StoredFile
from server.core.config import Settings
from server.core.db import transaction
from server.core.task_runs import TaskState
from server.storage import open_store
from tests.support.services import process_env, running, telemed_command
from tests.support.task_runs import wait_for_run
from worker.app import make_celery


@pytest.fixture(scope="module")
def worker_process(settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    env = process_env(settings)
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running(
        telemed_command("worker", "--concurrency", "1", "--loglevel", "info"), env, log=log
    ) as process:
        yield process, log


def stored_file(
    session_factory: sessionmaker[Session], settings: Settings, key: str, content: bytes, recorded: bytes
) -> int:
    open_store(settings).put(key, io.BytesIO(content), length=len(content))
    with transaction(session_factory) as db:
        row = StoredFile(
            object_key=key,
            size=len(recorded),
            sha256=hashlib.sha256(recorded).hexdigest(),
            media_type="application/dicom",
        )
        db.add(row)
        db.flush()
        return row.id


def test_worker_verifies_an_intact_and_a_corrupted_object(
    worker_process, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    _process, log = worker_process
    celery = make_celery(settings)
    intact = stored_file(session_factory, settings, "verify/intact.dcm", b"DICM" * 1000, b"DICM" * 1000)
    corrupt = stored_file(
        session_factory, settings, "verify/corrupt.dcm", b"DICM" * 1000, b"DICM" * 999 + b"XXXX"
    )

    intact_run = wait_for_run(
        session_factory, celery.send_task("storage.verify_stored_file", args=[intact]).id, log
    )
    corrupt_run = wait_for_run(
        session_factory, celery.send_task("storage.verify_stored_file", args=[corrupt]).id, log
    )

    assert intact_run.state == TaskState.SUCCEEDED and intact_run.result == {
        "file_id": intact,
        "status": "ok",
    }
    assert corrupt_run.result == {"file_id": corrupt, "status": "corrupt"}
    with session_factory() as db:
        rows = {
            row.id: row for row in db.scalars(select(StoredFile).where(StoredFile.id.in_([intact, corrupt])))
        }
    assert rows[intact].verified_at is not None and rows[intact].integrity_error is None
    assert "differs" in (rows[corrupt].integrity_error or "")

    # Idempotent: running the same task again leaves the same outcome.
    again = wait_for_run(
        session_factory, celery.send_task("storage.verify_stored_file", args=[intact]).id, log
    )
    assert again.result == intact_run.result


def test_embedded_worker_needs_no_broker_server(tmp_path: Path) -> None:
    """Embedded default: SQLite and kombu's filesystem queue, the worker a plain child process."""
    from server.core.db import make_engine, make_session_factory
    from server.core.migrate import upgrade
    from tests.support.settings import make_settings

    settings = make_settings(tmp_path)
    assert settings.broker_url == "filesystem://" and settings.database_url.startswith("sqlite")
    upgrade(settings.database_url)
    open_store(settings).ensure_ready()
    factory = make_session_factory(make_engine(settings.database_url))
    file_id = stored_file(factory, settings, "embedded/a.bin", b"village upload", b"village upload")
    env = {"TELEMED_DATA_DIR": str(tmp_path), "TELEMED_SECRET_KEY": settings.secret_key}
    log = tmp_path / "worker.log"
    with running(telemed_command("worker", "--concurrency", "1"), env, log=log):
        task = make_celery(settings).send_task("storage.verify_stored_file", args=[file_id])
        assert wait_for_run(factory, task.id, log).result == {"file_id": file_id, "status": "ok"}
