"""Resumable uploads (tus 1.0.0): interrupted transfers resume, every file is checked, duplicates are no-ops."""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pydicom
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient
from tusclient.client import TusClient

from server.access.models import AuditEvent
from server.cases.models import Case, StoredFile
from server.community.models import Institution
from server.core.config import Settings
from server.core.orm import utcnow
from server.dicom.models import DicomInstance, DicomStudy
from server.storage import open_store
from server.uploads.models import Upload, UploadState
from server.uploads.service import chunk_prefix
from tests.support.accounts import bearer, sign_in
from tests.support.dicom_factory import ct_series, truncated
from tests.support.uploads import CHUNK, TUS, b64, create, metadata, patch

# -- helpers ---------------------------------------------------------------------------------------


def head_offset(http, url: str, headers: dict[str, str]) -> int:
    response = http.head(url, headers={**headers, **TUS})
    assert response.status_code == 200, response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def upload_id(url: str) -> str:
    return url.rsplit("/", 1)[1]


def sop_uid(data: bytes) -> str:
    return str(pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID)


def count(session_factory: sessionmaker[Session], model) -> int:
    with session_factory() as db:
        found = db.scalar(select(func.count()).select_from(model))
        assert found is not None
        return found


def stored_bytes(session_factory: sessionmaker[Session], store, sop: str) -> bytes:
    with session_factory() as db:
        instance = db.scalar(select(DicomInstance).where(DicomInstance.sop_uid == sop))
        assert instance is not None, f"instance {sop} not indexed"
        return store.read_bytes(instance.stored_file.object_key)


def audit_actions(session_factory: sessionmaker[Session], resource_id: str) -> list[str]:
    with session_factory() as db:
        return list(
            db.scalars(
                select(AuditEvent.action).where(AuditEvent.resource_id == resource_id).order_by(AuditEvent.id)
            )
        )


@pytest.fixture(scope="module")
def store(settings: Settings):
    return open_store(settings)


@pytest.fixture(scope="module")
def other_case(session_factory: sessionmaker[Session]) -> int:
    """The village clinic's ECG case: uploads attach to it and leave the shared CT case as other tests expect."""
    with session_factory() as db:
        found = db.scalar(
            select(Case.id).join(Institution).where(Institution.name == "青山村卫生室", Case.kind == "ecg")
        )
        assert found is not None
        return found


@pytest.fixture
def village(client: TestClient) -> dict[str, str]:
    return bearer(client, "village")


# -- protocol, through the ASGI app ----------------------------------------------------------------


def test_options_announce_the_protocol_without_signing_in(client: TestClient) -> None:
    response = client.options("/api/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,termination,checksum,expiration"
    assert response.headers["Tus-Checksum-Algorithm"].split(",") == ["sha256", "sha1"]
    assert int(response.headers["Tus-Max-Size"]) == 1 << 30


def test_requests_without_the_protocol_version_are_refused(client: TestClient, village) -> None:
    response = client.post("/api/uploads", headers={**village, "Upload-Length": "10", "Upload-Metadata": ""})
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    no_sha = client.post("/api/uploads", headers={**village, **TUS, "Upload-Length": "10"})
    assert no_sha.status_code == 400 and "sha256" in no_sha.json()["detail"]
    too_big = client.post(
        "/api/uploads",
        headers={**village, **TUS, "Upload-Length": str(2 << 30), "Upload-Metadata": metadata(b"")},
    )
    assert too_big.status_code == 413
    pdf = client.post(
        "/api/uploads",
        headers={
            **village,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": f"sha256 {b64('0' * 64)},filetype {b64('application/pdf')}",
        },
    )
    assert pdf.status_code == 415


def test_wrong_offset_is_a_conflict_and_a_bad_chunk_checksum_is_discarded(
    client: TestClient, village, store
) -> None:
    data = ct_series(n_slices=1, rows=64, cols=64, seed=610)[0]
    url = create(client, village, data)
    conflict = patch(client, url, village, 10, data[10:100])
    assert conflict.status_code == 409 and conflict.json()["offset"] == 0

    first = patch(client, url, village, 0, data[:1000], checksum=True)
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "1000"
    assert first.headers["Upload-Expires"].endswith(" GMT")
    wrong = client.patch(
        url,
        content=data[1000:2000],
        headers={**village, **TUS, "Upload-Offset": "1000", "Content-Type": CHUNK,
                 "Upload-Checksum": f"sha256 {b64(hashlib.sha256(b'other bytes').digest())}"},
    )  # fmt: skip
    assert wrong.status_code == 460
    assert head_offset(client, url, village) == 1000
    assert sorted(store.list(chunk_prefix(upload_id(url)))) == [f"{chunk_prefix(upload_id(url))}{0:016d}"]
    unsupported = client.patch(
        url,
        content=b"x",
        headers={
            **village,
            **TUS,
            "Upload-Offset": "1000",
            "Content-Type": CHUNK,
            "Upload-Checksum": "md5 AAAA",
        },
    )
    assert unsupported.status_code == 400
    not_tus = client.patch(url, content=b"x", headers={**village, **TUS, "Upload-Offset": "1000"})
    assert not_tus.status_code == 415
    assert client.delete(url, headers={**village, **TUS}).status_code == 204


def test_whole_file_checksum_mismatch_fails_clearly_and_stores_nothing(
    client: TestClient, village, store, session_factory: sessionmaker[Session]
) -> None:
    data = ct_series(n_slices=1, rows=64, cols=64, seed=611)[0]
    url = create(client, village, data, sha256=hashlib.sha256(b"another file").hexdigest())
    assert patch(client, url, village, 0, data[:500]).status_code == 204
    last = patch(client, url, village, 500, data[500:], checksum=True)  # the chunk itself is intact
    assert last.status_code == 460
    assert last.headers["Upload-Result"] == "failed"
    info = client.get(url, headers=village).json()
    assert info["state"] == "failed" and info["result"] is None
    assert "SHA-256" in info["detail"] and hashlib.sha256(data).hexdigest() in info["detail"]
    assert client.head(url, headers={**village, **TUS}).status_code == 410
    assert list(store.list(chunk_prefix(upload_id(url)))) == []
    with session_factory() as db:
        assert db.scalar(select(DicomInstance).where(DicomInstance.sop_uid == sop_uid(data))) is None
    assert "upload_failed" in audit_actions(session_factory, upload_id(url))


def test_truncated_dicom_is_invalid_with_the_parsers_reason(
    client: TestClient, village, store, session_factory: sessionmaker[Session]
) -> None:
    data = truncated(ct_series(n_slices=1, rows=64, cols=64, seed=612)[0])
    dicom_before, files_before = list(store.list("dicom/")), count(session_factory, StoredFile)
    url = create(client, village, data)
    final = patch(client, url, village, 0, data, checksum=True)
    assert final.status_code == 204  # the bytes arrived intact: nothing for a tus client to retry
    assert final.headers["Upload-Result"] == "invalid"
    info = client.get(url, headers=village).json()
    assert info["state"] == "completed" and info["result"] == "invalid"
    assert info["detail"].startswith("not a usable DICOM instance: ") and len(info["detail"]) > 30
    assert list(store.list("dicom/")) == dicom_before
    assert count(session_factory, StoredFile) == files_before
    assert list(store.list(chunk_prefix(upload_id(url)))) == []


def test_only_the_uploader_sees_an_upload_and_only_requesters_create(
    client: TestClient, village, session_factory: sessionmaker[Session]
) -> None:
    data = ct_series(n_slices=1, rows=64, cols=64, seed=613)[0]
    url = create(client, village, data)
    assert patch(client, url, village, 0, data[:100]).status_code == 204
    township = bearer(client, "township")
    assert client.head(url, headers={**township, **TUS}).status_code == 404
    assert client.get(url, headers=township).status_code == 404
    assert patch(client, url, township, 100, data[100:200]).status_code == 404
    assert client.delete(url, headers={**township, **TUS}).status_code == 404
    unknown = client.head(url[:-4] + "AAAA", headers={**village, **TUS})
    assert unknown.status_code == 404
    assert head_offset(client, url, village) == 100
    assert audit_actions(session_factory, upload_id(url)).count("access_denied") == 4

    with session_factory() as db:
        elsewhere = db.scalar(select(Case.id).join(Institution).where(Institution.name == "石桥村卫生室"))
    foreign = client.post(
        "/api/uploads",
        headers={
            **village,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(b"x", case_id=elsewhere),
        },
    )
    assert foreign.status_code == 404

    trainee = bearer(client, "trainee")
    refused = client.post(
        "/api/uploads", headers={**trainee, **TUS, "Upload-Length": "10", "Upload-Metadata": metadata(b"x")}
    )
    assert refused.status_code == 403
    assert (
        patch(client, url, trainee, 100, data[100:200]).status_code == 403
    )  # refused before any byte is read
    reader = bearer(client, "radiologist")
    assert client.post("/api/uploads", headers={**reader, **TUS, "Upload-Length": "10"}).status_code == 403
    assert client.head(url, headers=TUS).status_code == 401


def test_cookie_sessions_need_the_csrf_token_to_patch(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    csrf = sign_in(client, "village")
    data = ct_series(n_slices=1, rows=64, cols=64, seed=614)[0]
    url = create(client, {"X-CSRF-Token": csrf}, data)
    assert patch(client, url, {}, 0, data[:100]).status_code == 403
    assert patch(client, url, {"X-CSRF-Token": csrf}, 0, data[:100]).status_code == 204
    override = client.post(
        url,
        content=data[100:],
        headers={"X-CSRF-Token": csrf, **TUS, "X-HTTP-Method-Override": "PATCH", "Upload-Offset": "100",
                 "Content-Type": CHUNK},
    )  # fmt: skip
    assert override.status_code == 204 and override.headers["Upload-Result"] == "stored"


def test_terminating_an_upload_frees_its_chunks(
    client: TestClient, village, store, session_factory: sessionmaker[Session]
) -> None:
    data = ct_series(n_slices=1, rows=64, cols=64, seed=615)[0]
    url = create(client, village, data)
    assert patch(client, url, village, 0, data[:300]).status_code == 204
    assert list(store.list(chunk_prefix(upload_id(url))))
    assert client.delete(url, headers={**village, **TUS}).status_code == 204
    assert list(store.list(chunk_prefix(upload_id(url)))) == []
    assert client.head(url, headers={**village, **TUS}).status_code == 410
    assert patch(client, url, village, 300, data[300:]).status_code == 410
    assert client.get(url, headers=village).json()["state"] == "cancelled"


def test_a_second_writer_is_told_to_wait_while_the_first_holds_the_upload(
    client: TestClient, village, session_factory: sessionmaker[Session]
) -> None:
    data = ct_series(n_slices=1, rows=64, cols=64, seed=617)[0]
    url = create(client, village, data)
    with session_factory() as db, db.begin():  # as a request on another replica does while it writes
        db.execute(
            update(Upload)
            .where(Upload.id == upload_id(url))
            .values(lock_token="another-request", locked_until=utcnow() + timedelta(seconds=100))
        )
    busy = patch(client, url, village, 0, data)
    assert busy.status_code == 423 and 1 <= int(busy.headers["Retry-After"]) <= 5
    with session_factory() as db, db.begin():  # that request died: its lease runs out
        db.execute(update(Upload).where(Upload.id == upload_id(url)).values(locked_until=utcnow()))
    assert patch(client, url, village, 0, data).headers["Upload-Result"] == "stored"


def test_a_finish_cut_short_by_the_server_is_completed_by_an_empty_patch(
    client: TestClient, village, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.dicom import receive
    from server.storage import StorageUnavailable

    def store_down(*args, **kwargs):
        raise StorageUnavailable("object store unreachable")

    data = ct_series(n_slices=1, rows=64, cols=64, seed=618)[0]
    url = create(client, village, data)
    monkeypatch.setattr(receive, "ingest_instance", store_down)
    with pytest.raises(StorageUnavailable):
        patch(client, url, village, 0, data)
    monkeypatch.undo()
    info = client.get(url, headers=village).json()
    assert (info["state"], info["offset"]) == ("receiving", len(data))  # every byte kept, nothing decided
    assert head_offset(client, url, village) == len(data)
    finish = patch(client, url, village, len(data), b"")
    assert finish.status_code == 204 and finish.headers["Upload-Result"] == "stored"
    assert list(store.list(chunk_prefix(upload_id(url)))) == []
    repeated = patch(client, url, village, len(data), b"")  # the answer got lost: asking again is harmless
    assert repeated.status_code == 204 and repeated.headers["Upload-Result"] == "stored"


def test_expire_stale_task_deletes_the_chunks_of_expired_uploads(
    client: TestClient,
    village,
    store,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from worker import resources
    from worker.app import current as worker_app
    from worker.tasks import expire_stale_uploads

    data = ct_series(n_slices=1, rows=64, cols=64, seed=616)[0]
    stale, fresh = create(client, village, data), create(client, village, data)
    for url in (stale, fresh):
        assert patch(client, url, village, 0, data[:400]).status_code == 204
    with session_factory() as db, db.begin():
        db.execute(
            update(Upload)
            .where(Upload.id == upload_id(stale))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert client.head(stale, headers={**village, **TUS}).status_code == 410  # before the task ran, too

    monkeypatch.setattr(resources, "session_factory", lambda: session_factory)
    monkeypatch.setattr(resources, "store", lambda: store)
    result = expire_stale_uploads.apply().get()
    assert upload_id(stale) in result["uploads"] and upload_id(fresh) not in result["uploads"]
    assert list(store.list(chunk_prefix(upload_id(stale)))) == []
    assert list(store.list(chunk_prefix(upload_id(fresh))))
    with session_factory() as db:
        assert db.get_one(Upload, upload_id(stale)).state == UploadState.EXPIRED
    assert upload_id(stale) not in expire_stale_uploads.apply().get()["uploads"]  # idempotent
    assert "upload_expired" in audit_actions(session_factory, upload_id(stale))
    schedule = worker_app().conf.beat_schedule.values()
    assert any(entry["task"] == "uploads.expire_stale" for entry in schedule)


# -- real HTTP against the live server --------------------------------------------------------------


def wait_for_previews(session_factory: sessionmaker[Session], sop: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with session_factory() as db:
            instance = db.scalar(select(DicomInstance).where(DicomInstance.sop_uid == sop))
            if instance is not None and instance.previews_at is not None:
                return
        assert time.monotonic() < deadline, "no previews were rendered for the uploaded instance"
        time.sleep(0.2)


def test_three_checksummed_patches_store_index_and_queue_previews(
    live_server, session_factory: sessionmaker[Session], store, other_case
) -> None:
    live = live_server
    village = live.platform.bearer("village")
    data = ct_series(n_slices=1, rows=128, cols=128, seed=620, patient_name="李^上传")[0]
    url = create(httpx, village, data, base=live.url, case_id=other_case)
    third = len(data) // 3 + 1
    offset = 0
    for start in range(0, len(data), third):
        response = patch(httpx, url, village, offset, data[start : start + third], checksum=True)
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert offset == len(data)
    assert response.headers["Upload-Result"] == "stored"
    assert response.headers["Tus-Resumable"] == "1.0.0"

    ds = pydicom.dcmread(io.BytesIO(data))
    found = httpx.get(
        f"{live.url}/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances",
        headers=village,
    ).json()
    assert [item["00080018"]["Value"][0] for item in found] == [ds.SOPInstanceUID]
    info = httpx.get(url, headers=village).json()
    assert (info["state"], info["result"], info["offset"], info["sop_uid"]) == (
        "completed", "stored", len(data), ds.SOPInstanceUID,
    )  # fmt: skip
    assert info["filename"] == "图像.dcm"
    assert list(store.list(chunk_prefix(upload_id(url)))) == []
    assert stored_bytes(session_factory, store, ds.SOPInstanceUID) == data
    with session_factory() as db:
        study = db.scalar(select(DicomStudy).where(DicomStudy.study_uid == ds.StudyInstanceUID))
        assert study is not None
        assert study.case_id == other_case
    assert audit_actions(session_factory, upload_id(url))[:2] == ["upload_created", "upload_completed"]
    wait_for_previews(session_factory, ds.SOPInstanceUID)


def test_interrupted_patch_keeps_what_arrived_and_resumes_without_resending(
    live_server, session_factory: sessionmaker[Session], store
) -> None:
    live = live_server
    village = live.platform.bearer("village")
    data = ct_series(n_slices=1, rows=512, cols=512, seed=621)[0]
    url = create(httpx, village, data, base=live.url)
    parts = urlsplit(url)

    # A PATCH announcing the whole file whose connection drops after half of it.
    half = len(data) // 2
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: {village['Authorization']}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: {CHUNK}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port)) as raw:
        raw.sendall(head.encode() + data[:half])
        time.sleep(0.5)  # let the server read what was sent before the line goes down
    deadline = time.monotonic() + 10
    while (arrived := head_offset(httpx, url, village)) == 0:
        assert time.monotonic() < deadline, "the bytes received before the drop were not kept"
        time.sleep(0.1)
    assert 0 < arrived <= half

    sent = 0

    def rest() -> Iterator[bytes]:
        nonlocal sent
        for start in range(arrived, len(data), 64 * 1024):
            piece = data[start : start + 64 * 1024]
            sent += len(piece)
            yield piece

    resumed = patch(httpx, url, village, arrived, rest())
    assert resumed.status_code == 204, resumed.text
    assert resumed.headers["Upload-Result"] == "stored"
    assert sent == len(data) - arrived  # nothing already on the server was sent again
    assert stored_bytes(session_factory, store, sop_uid(data)) == data


def test_reupload_of_the_same_instance_by_tuspy_is_a_duplicate_no_op(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    live = live_server
    village = live.platform.bearer("village")
    data = ct_series(n_slices=1, rows=96, cols=96, seed=622)[0]
    digest = hashlib.sha256(data).hexdigest()
    tus = TusClient(f"{live.url}/api/uploads", headers=village)

    def upload() -> dict:
        # tuspy's default chunk checksum is sha1, the algorithm every tus server must support.
        uploader = tus.uploader(
            file_stream=io.BytesIO(data),
            chunk_size=4096,
            metadata={"filename": "again.dcm", "filetype": "application/dicom", "sha256": digest},
            upload_checksum=True,
        )
        uploader.upload()
        assert uploader.offset == len(data)
        return httpx.get(uploader.url, headers=village).json()  # type: ignore[arg-type]  # tuspy types url as None; it holds the upload's URL now

    assert upload()["result"] == "stored"
    instances, files = count(session_factory, DicomInstance), count(session_factory, StoredFile)
    again = upload()
    assert (again["state"], again["result"]) == ("completed", "duplicate")
    assert (count(session_factory, DicomInstance), count(session_factory, StoredFile)) == (instances, files)


# -- the clinic PC's command -------------------------------------------------------------------------


def telemed_upload(live, folder: Path, state: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "server.tools.cli", "upload", "--server", live.url, "--username", "village",
        "--password-stdin", "--state", str(state), "--retry-delay", "0.2", *extra, str(folder),
    ]  # fmt: skip


def run_upload(live, folder: Path, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        telemed_upload(live, folder, state, *extra),
        input=live.password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_uploads_a_folder_and_a_rerun_sends_nothing(
    live_server, session_factory: sessionmaker[Session], store, tmp_path: Path, other_case
) -> None:
    live = live_server
    folder = tmp_path / "exam" / "CT"
    folder.mkdir(parents=True)
    series = ct_series(n_slices=5, rows=64, cols=64, seed=630)
    for index, data in enumerate(series):
        (folder / f"IM{index:04d}").write_bytes(data)
    (folder.parent / "notes.txt").write_text("病人主诉胸闷")
    state = tmp_path / "state.json"

    first = run_upload(live, folder.parent, state, "--case", str(other_case), "--chunk-size", "8192")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "5 DICOM files: 5 stored; 1 skipped" in first.stdout
    assert re.search(r"skipped\s+\S*notes\.txt: not a DICOM file", first.stdout)
    for data in series:
        assert stored_bytes(session_factory, store, sop_uid(data)) == data

    again = run_upload(live, folder.parent, state, "--case", str(other_case))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "5 DICOM files: 5 stored; 1 skipped; 0 bytes sent" in again.stdout
    assert again.stdout.count("uploaded by an earlier run") == 5


def test_cli_killed_midway_resumes_where_the_server_stopped(
    live_server, session_factory: sessionmaker[Session], store, tmp_path: Path
) -> None:
    live = live_server
    folder = tmp_path / "big"
    folder.mkdir()
    series = ct_series(n_slices=2, rows=1536, cols=1536, seed=631)
    for index, data in enumerate(series):
        (folder / f"IM{index}.dcm").write_bytes(data)
    digest = hashlib.sha256(series[0]).hexdigest()
    state = tmp_path / "state.json"

    def offset_of_first() -> int:
        with session_factory() as db:
            return db.scalar(select(func.max(Upload.offset)).where(Upload.sha256 == digest)) or 0

    process = subprocess.Popen(
        telemed_upload(live, folder, state, "--chunk-size", "32768", "--no-progress"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdin is not None
    process.stdin.write(live.password + "\n")
    process.stdin.close()
    deadline = time.monotonic() + 30
    while offset_of_first() == 0:
        assert process.poll() is None and time.monotonic() < deadline, "the upload never started"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1)  # a chunk the server had whole when the line dropped is still committed
    kept = offset_of_first()
    assert 0 < kept < len(series[0]), "the first file was not interrupted midway"

    rerun = run_upload(live, folder, state, "--chunk-size", "1048576")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    line = next(line for line in rerun.stdout.splitlines() if "IM0.dcm" in line)
    assert f"resumed at byte {kept})" in line
    assert f"(sent {len(series[0]) - kept} of {len(series[0])} bytes" in line
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Upload).where(Upload.sha256 == digest)) == 1
    for data in series:
        assert stored_bytes(session_factory, store, sop_uid(data)) == data
