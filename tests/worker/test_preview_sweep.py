"""Previews whose task was lost (broker down when the upload committed) are rendered after the sweep.

Runs on an embedded installation of its own (SQLite, filesystem queue, a real worker process), so the
sweep sees exactly the instances this test made.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.community.models import Institution
from server.core.config import Settings
from server.core.db import make_engine, make_session_factory, transaction
from server.core.migrate import upgrade
from server.core.orm import utcnow
from server.dicom.ingest import IngestOutcome, ingest_instance
from server.dicom.models import DicomInstance, DicomSeries
from server.dicom.previews import PREVIEW_SIZES, preview_key, thumbnail_key
from server.storage import ObjectStore, open_store
from server.tools.demo.community import load_demo
from tests.support.accounts import DEMO_PASSWORD
from tests.support.dicom_factory import ct_series
from tests.support.services import running, telemed_command
from tests.support.settings import make_settings
from worker.app import make_celery
from worker.sweeps import missing_previews


@pytest.fixture
def embedded(tmp_path: Path) -> tuple[Settings, ObjectStore, sessionmaker[Session]]:
    settings = make_settings(tmp_path)
    upgrade(settings.database_url)
    store = open_store(settings)
    store.ensure_ready()
    factory = make_session_factory(make_engine(settings.database_url))
    with transaction(factory) as db:
        load_demo(db, DEMO_PASSWORD)
    return settings, store, factory


def ingest_without_tasks(factory, store: ObjectStore, instances: list[bytes]) -> list[IngestOutcome]:
    """Ingested, but no task sent: exactly what a failed send after commit leaves behind."""
    with transaction(factory) as db:
        village = db.scalar(select(Institution.id).where(Institution.name == "青山村卫生室"))
        assert village is not None
        return [ingest_instance(db, store, data, institution_id=village, user=None) for data in instances]


def test_sweep_renders_previews_whose_task_was_lost(embedded, tmp_path: Path) -> None:
    settings, store, factory = embedded
    outcomes = ingest_without_tasks(factory, store, ct_series(n_slices=3, rows=64, cols=64, seed=71))
    ids = [outcome.instance_id for outcome in outcomes if outcome.instance_id is not None]
    assert len(ids) == len(outcomes)

    env = {"TELEMED_DATA_DIR": str(tmp_path), "TELEMED_SECRET_KEY": settings.secret_key}
    log = tmp_path / "worker.log"
    with running(telemed_command("worker", "--concurrency", "1"), env, log=log):
        make_celery(settings).send_task("imaging.requeue_missing_previews", kwargs={"grace_seconds": 0})
        instances = wait_for_previews(factory, ids, log)

    study_uid, series_uid = outcomes[0].study_uid, outcomes[0].series_uid
    for instance in instances:
        assert instance.preview_error is None
        for size in PREVIEW_SIZES:
            assert store.exists(preview_key(study_uid, series_uid, instance.sop_uid, 0, size))
    assert store.exists(thumbnail_key(study_uid, series_uid))
    with factory() as db:
        assert missing_previews(db, utcnow()) == ([], [])  # a second sweep sends nothing


def test_sweep_skips_fresh_uploads_and_images_that_cannot_render(embedded) -> None:
    _settings, store, factory = embedded
    fresh, broken = ingest_without_tasks(factory, store, ct_series(n_slices=2, rows=32, cols=32, seed=72))
    with transaction(factory) as db:
        db.get_one(DicomInstance, broken.instance_id).preview_error = "cannot render"
    with factory() as db:
        assert missing_previews(db, utcnow() - timedelta(minutes=10)) == ([], [])  # both within grace
        assert missing_previews(db, utcnow()) == ([fresh.instance_id], [fresh.series_id])
    with transaction(factory) as db:
        db.get_one(DicomInstance, fresh.instance_id).preview_error = "cannot render"
    with factory() as db:
        # A series whose every instance failed has no image to show: no thumbnail is asked for.
        assert missing_previews(db, utcnow()) == ([], [])


def wait_for_previews(
    factory, instance_ids: list[int], log: Path, timeout: float = 90
) -> list[DicomInstance]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with factory() as db:
            instances = db.scalars(select(DicomInstance).where(DicomInstance.id.in_(instance_ids))).all()
            series = db.get(DicomSeries, instances[0].series_id)
            if all(instance.previews_at for instance in instances) and series.thumbnail_at:
                return list(instances)
        time.sleep(0.3)
    raise AssertionError(f"previews not rendered after the sweep; worker log:\n{log.read_text()[-3000:]}")
