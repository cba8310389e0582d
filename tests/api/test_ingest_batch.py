"""A STOW-RS request is ingested as one batch: parts are still judged one by one, and nothing is
acknowledged before its bytes are durable and indexed, even if the process dies in between."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.cases.models import StoredFile
from server.core.config import Settings
from server.dicom.ingest import instance_key
from server.dicom.models import DicomConflict, DicomInstance
from server.storage import ChecksumMismatch, FilesystemStore, ObjectNotFound
from server.storage.base import NewObject
from tests.support.accounts import bearer
from tests.support.dicom_factory import ct_series, truncated
from tests.support.dicomweb import split_multipart, stow, uids
from tests.support.paths import ROOT
from tests.support.services import process_env

# Runs in a real process that ingests a batch into the test database and store, then dies the way a
# killed server does: after the objects are stored and the index rows written, before the commit.
CRASH_AFTER_STORE = """
import os, sys
from server.core.config import load_settings
from server.core.db import make_engine, make_session_factory
from server.dicom.ingest import ingest_instances
from server.storage import open_store

settings = load_settings()
db = make_session_factory(make_engine(settings.database_url))()
parts = [open(path, "rb").read() for path in sys.argv[2:]]
results = ingest_instances(db, open_store(settings), parts, institution_id=int(sys.argv[1]), user=None)
assert [r.status for r in results] == ["stored"] * len(parts), results
db.flush()
os._exit(9)
"""


def _uid(data: bytes) -> tuple[str, str, str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID


def _instances(session_factory: sessionmaker[Session], sop_uids: list[str]) -> dict[str, DicomInstance]:
    with session_factory() as db:
        query = select(DicomInstance).where(DicomInstance.sop_uid.in_(sop_uids))
        return {instance.sop_uid: instance for instance in db.scalars(query)}


def test_bad_part_in_the_middle_stores_the_good_parts_and_nothing_of_it(
    app: Starlette, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    good_first, cut, good_last = ct_series(n_slices=3, rows=64, cols=64, seed=3101, patient_name="赵^一")
    with session_factory() as db:
        files_before = db.scalars(select(func.count()).select_from(StoredFile)).one()

    response = stow(client, bearer(client, "village"), [good_first, truncated(cut), good_last])

    assert response.status_code == 202
    assert uids(response.json()) == [_uid(good_first)[2], _uid(good_last)[2]]
    (failure,) = response.json()["00081198"]["Value"]
    assert failure["00081197"]["Value"] == [0xC000]
    assert failure["00000902"]["Value"][0].startswith("part 2: truncated")
    indexed = _instances(session_factory, [_uid(d)[2] for d in (good_first, cut, good_last)])
    assert set(indexed) == {_uid(good_first)[2], _uid(good_last)[2]}
    store = app.state.store
    assert [store.read_bytes(instance_key(*_uid(d))) for d in (good_first, good_last)] == [
        good_first,
        good_last,
    ]
    with pytest.raises(ObjectNotFound):
        store.stat(instance_key(*_uid(cut)))
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(StoredFile)) == files_before + 2
        audited = db.scalars(
            select(AuditEvent.outcome)
            .where(AuditEvent.action == "dicom_store")
            .order_by(AuditEvent.id.desc())
            .limit(3)
        ).all()
    assert sorted(audited) == ["failed", "ok", "ok"]


def test_one_request_sending_an_instance_twice_gets_a_duplicate_and_a_kept_conflict(
    app: Starlette, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    (original,) = ct_series(n_slices=1, rows=64, cols=64, seed=3202, patient_name="冯^二")
    altered = original[:-8] + bytes(8)  # same UIDs, other pixel bytes

    response = stow(client, bearer(client, "village"), [original, original, altered])

    assert response.status_code == 202  # the conflict is a warning
    referenced = response.json()["00081199"]["Value"]
    assert ["00081196" in item for item in referenced] == [False, False, True]
    sop = _uid(original)[2]
    with session_factory() as db:
        assert (
            db.scalar(select(func.count()).select_from(DicomInstance).where(DicomInstance.sop_uid == sop))
            == 1
        )
        assert (
            db.scalar(select(func.count()).select_from(DicomConflict).where(DicomConflict.sop_uid == sop))
            == 1
        )
    assert app.state.store.read_bytes(instance_key(*_uid(original))) == original


def test_crash_between_store_and_index_acknowledges_nothing_and_a_resend_stores_all(
    client: TestClient,
    settings: Settings,
    session_factory: sessionmaker[Session],
    village_id: int,
    tmp_path: Path,
) -> None:
    series = ct_series(n_slices=4, rows=64, cols=64, seed=3303, patient_name="孙^三")
    paths = []
    for n, data in enumerate(series):
        paths.append(tmp_path / f"{n}.dcm")
        paths[-1].write_bytes(data)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_STORE, str(village_id), *map(str, paths)],
        env={**os.environ, **process_env(settings)},
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert crashed.returncode == 9, crashed.stderr.decode()

    sops = [_uid(data)[2] for data in series]
    assert _instances(session_factory, sops) == {}  # nothing was committed, so nothing was acknowledged

    village = bearer(client, "village")
    resent = stow(client, village, series)
    assert resent.status_code == 200, resent.text
    assert uids(resent.json()) == sops
    study_uid, series_uid, _ = _uid(series[0])
    for data, sop in zip(series, sops, strict=True):
        retrieved = client.get(
            f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop}", headers=village
        )
        assert retrieved.status_code == 200
        assert split_multipart(retrieved.headers["content-type"], retrieved.content) == [data]


def test_put_many_publishes_every_object_or_none_of_a_bad_batch(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    store.ensure_ready()
    blobs = {f"series/{n}.dcm": os.urandom(1000 + n) for n in range(6)}
    infos = store.put_many([NewObject(key, io.BytesIO(data)) for key, data in blobs.items()])
    assert [info.key for info in infos] == list(blobs)
    for key, data in blobs.items():
        assert store.read_bytes(key) == data
        assert store.stat(key).sha256 == infos[list(blobs).index(key)].sha256

    replacement = [NewObject(key, io.BytesIO(b"new")) for key in blobs]
    wrong = NewObject("series/0.dcm", io.BytesIO(b"other"), expected_sha256="0" * 64)
    with pytest.raises(ChecksumMismatch):
        store.put_many([*replacement[1:], wrong])
    assert all(store.read_bytes(key) == data for key, data in blobs.items())  # none replaced
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary file left behind
