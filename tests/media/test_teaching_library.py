"""The teaching library end to end: a real teaching room (signalling server process, the radiologist as an
aiortc host) opens a case's CT study, an ultrasound series, a slide and an ECG while recording; the host publishes
the recording and the live worker makes de-identified copies. The trainee then lists, searches and plays
the item and replays its events on the copies, which carry none of the patient's identity, and reaches
nothing identified: every original path answers 403 or 404, and so does another community's item."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom import Dataset, dcmread
from sqlalchemy import func, select
from starlette.testclient import TestClient

from imaging.ecg import from_bytes
from imaging.wsi import level_tiles
from server.access.models import AuditEvent
from server.api.teaching_library import PREPARE_TASK
from server.auth.sessions import create_session
from server.community.models import Community, Institution, Role, Tier, User
from server.core.db import transaction
from server.core.task_runs import TaskRun, TaskState
from server.dicom.models import DicomInstance, DicomStudy
from server.ecg.models import EcgRecord
from server.teaching.models import TeachingEcg, TeachingItem, TeachingItemState, TeachingSlide
from tests.support import wsi_factory
from tests.support.consult import (
    bearer,
    consent,
    finished_recordings,
    new_teaching_session,
    server_joined,
    signalling_process,
    token,
    village_case_id,
)
from tests.support.dicom_factory import ct_series, multiframe_us
from tests.support.dicomweb import split_multipart, stow
from tests.support.paths import pydicom_test_file
from tests.support.rtc import RtcPeer

HOST, TRAINEE = "radiologist", "trainee"
CT_SEED, US_SEED = 41, 42
# What identifies the patients, their doctors and the originals; none of it may reach a copy.
IDENTIFYING = ["张^三", "张三", "王^五", "王五", "P000041", "P000042", "19650312", "20250115", "A00000041",
               "A00000042", "青山县人民医院", "赵^医生", "ACME Teaching PACS", "internal note: bed 12"]  # fmt: skip
ECG_SERIAL = "SN-ECG-77310"  # the cart's serial number: a device identifier the copy must not carry


@dataclass(frozen=True)
class Material:
    case_id: int
    ct: list[bytes]
    us: bytes
    slide_id: int
    ecg_id: int

    def uids(self) -> set[str]:
        found = set()
        for data in [*self.ct, self.us]:
            ds = dcmread(BytesIO(data))
            found |= {ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID}
            found |= {ds.FrameOfReferenceUID} if "FrameOfReferenceUID" in ds else set()
        return found


def _with_private_tag(data: bytes, burned_in: str | None) -> bytes:
    ds = dcmread(BytesIO(data))
    block = ds.private_block(0x0009, "ACME Teaching PACS", create=True)
    block.add_new(0x01, "LO", "internal note: bed 12")
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _identified_ecg() -> bytes:
    """pydicom's real Mortara 12-lead, as the village clinic's cart would send it for 张三."""
    ds = dcmread(pydicom_test_file("waveform_ecg.dcm"))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "张^三", "P000041", "19650312"
    ds.AcquisitionDateTime, ds.DeviceSerialNumber = "20250115093000", ECG_SERIAL
    ds.SpecificCharacterSet = "ISO_IR 192"
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def auth(app: Any, username: str) -> dict[str, str]:
    return bearer(app, username)


@pytest.fixture(scope="module")
def material(app: Any, session_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Material:
    """A CT (Burned In Annotation NO), an ultrasound loop (no such attribute), a slide and an ECG on the
    village clinic's imaging case, uploaded by the village doctor."""
    client = TestClient(app)
    case_id = village_case_id(session_factory)
    ct = [_with_private_tag(d, "NO") for d in ct_series(3, 64, 64, seed=CT_SEED, patient_name="张^三")]
    us = _with_private_tag(multiframe_us(3, seed=US_SEED), None)
    village = auth(app, "village")
    stored = stow(client, village, [*ct, us], case_id)
    assert stored.status_code == 200, stored.text
    tiff = wsi_factory.pyramidal_tiff(tmp_path_factory.mktemp("slide") / "张三-biopsy.tiff", 1200, 900)
    slide = client.post(
        f"/api/cases/{case_id}/slides?filename=张三-biopsy.tiff", content=tiff.read_bytes(), headers=village
    )
    assert slide.status_code == 201, slide.text
    ecg = client.post(
        f"/api/cases/{case_id}/ecgs?filename=张三-ecg.dcm", content=_identified_ecg(), headers=village
    )
    assert ecg.status_code == 201, ecg.text
    return Material(case_id, ct, us, slide.json()["id"], ecg.json()["id"])


@pytest.fixture(scope="module")
def teaching_session(session_factory: Any, demo: None) -> int:
    return new_teaching_session(session_factory, "胸部影像教学查房", host=HOST)


@pytest.fixture(scope="module")
def room_url(settings: Any, demo: None, teaching_session: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # fmt: skip
    log = tmp_path_factory.mktemp("signaling") / "signaling.log"
    with signalling_process(settings, [], "", log) as port:
        yield f"ws://127.0.0.1:{port}/ws/rooms/teaching-{teaching_session}"


async def show(host: RtcPeer, event: dict[str, Any]) -> None:
    """A viewer event from the host (the leader), once the server has echoed it."""
    after = len(host.frames)
    await host.send({"type": "viewer", "event": event})
    await host.next_frame("viewer", after=after)


async def teach(room_url: str, host_token: str, material: Material) -> int:
    """The host records ~4 s while opening the CT study, the US series, the slide, the ECG, then an ECG
    that does not exist (it cannot be in the library)."""
    ct, us = dcmread(BytesIO(material.ct[0])), dcmread(BytesIO(material.us))
    host = RtcPeer(room_url, host_token, ice_servers=[])
    try:
        await host.join()
        await consent(host)
        await show(host, {"kind": "open", "target": {"type": "study", "id": ct.StudyInstanceUID}})
        await host.send({"type": "recording", "action": "start"})
        index, on = await host.next_frame("recording")
        assert on["state"] == "on"
        await server_joined(host)
        await asyncio.sleep(1.5)
        await show(host, {"kind": "slice", "index": 2})
        await show(host, {"kind": "window", "center": 40, "width": 400})
        await show(host, {"kind": "open", "target": {"type": "series", "id": us.SeriesInstanceUID}})
        await show(host, {"kind": "annotation_added", "id": "a1", "shape": {"sop": us.SOPInstanceUID}})
        await asyncio.sleep(1)
        await show(host, {"kind": "open", "target": {"type": "slide", "id": str(material.slide_id)}})
        await show(host, {"kind": "viewport", "zoom": 2, "x": 0.5, "y": 0.5})
        await show(host, {"kind": "open", "target": {"type": "ecg", "id": str(material.ecg_id)}})
        await show(host, {"kind": "open", "target": {"type": "ecg", "id": "987654"}})  # not in the library
        await asyncio.sleep(1)
        await host.send({"type": "recording", "action": "stop"})
        index, off = await host.next_frame("recording", after=index + 1)
        assert off["state"] == "off"
        await host.next_frame("peer_left", after=index)  # the recorder closed its files and left
        return int(host.welcome["room"]["session_id"])
    finally:
        await host.close()


@pytest.fixture(scope="module")
def item(app: Any, room_url: str, worker: None, session_factory: Any, material: Material) -> dict[str, Any]:
    """The recorded session, published by its host and prepared by the worker."""
    session_id = asyncio.run(teach(room_url, token(app, HOST), material))
    [recording] = finished_recordings(session_factory, session_id)
    assert (recording.state, recording.error) == ("ready", None)
    client = TestClient(app)
    body = {"recording_id": recording.id, "title": "胸部CT与超声教学查房", "specialty": "放射科"}
    for outsider in ("trainee", "village", "pathologist"):  # neither host nor administrator
        refused = client.post("/api/teaching/library", json=body, headers=auth(app, outsider))
        assert refused.status_code == 403, (outsider, refused.text)
    published = client.post("/api/teaching/library", json=body, headers=auth(app, HOST))
    assert published.status_code == 201, published.text
    assert published.json()["state"] == "preparing"
    again = client.post("/api/teaching/library", json=body, headers=auth(app, "admin"))
    assert again.status_code == 409 and again.json()["error"] == "already_published"
    deadline = time.monotonic() + 40
    while (found := client.get(f"/api/teaching/library/{published.json()['id']}", headers=auth(app, HOST)).json())[
        "state"
    ] == "preparing":  # fmt: skip
        assert time.monotonic() < deadline, "the item is still being prepared"
        time.sleep(0.3)
    assert (found["state"], found["error"]) == ("ready", None)
    return found


def trainee_get(app: Any, path: str, **headers: str) -> Any:
    return TestClient(app).get(path, headers={**auth(app, TRAINEE), **headers})


def test_the_trainee_finds_and_plays_the_item(app: Any, item: dict[str, Any]) -> None:
    listed = trainee_get(app, "/api/teaching/library").json()["items"]
    assert item["id"] in [i["id"] for i in listed]
    assert [i["id"] for i in trainee_get(app, "/api/teaching/library?q=超声").json()["items"]] == [item["id"]]
    assert trainee_get(app, "/api/teaching/library?q=no-such-topic").json()["items"] == []
    assert item["id"] not in [i["id"] for i in trainee_get(app, "/api/teaching/library?specialty=病理科").json()["items"]]  # fmt: skip
    [summary] = [i for i in listed if i["id"] == item["id"]]
    assert summary["host_name"] and summary["state"] == "ready" and summary["duration_ms"] >= 3000

    video = trainee_get(app, item["media"]["video"], Range="bytes=0-99")
    assert video.status_code == 206 and len(video.content) == 100, video.text
    assert video.headers["content-range"].startswith("bytes 0-99/") and video.content[4:8] == b"ftyp"
    size = int(video.headers["content-range"].rsplit("/", 1)[1])
    tail = trainee_get(app, item["media"]["video"], Range=f"bytes={size - 10}-")
    assert tail.status_code == 206 and len(tail.content) == 10
    playlist = trainee_get(app, item["media"]["hls"])
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    segment = next(line for line in playlist.text.splitlines() if line.endswith(".ts"))
    assert trainee_get(app, item["media"]["hls"].rsplit("/", 1)[0] + "/" + segment).status_code == 200
    assert trainee_get(app, f"/api/teaching/library/{item['id']}/media/events.json").status_code == 404

    titles = [c["title"] for c in item["chapters"]]
    assert [c["source"] for c in item["chapters"]] == ["viewer"] * 5
    assert titles == ["CT 检查 · CT study", "US 序列 1 · US series 1", "病理切片 · Pathology slide", "12 导联心电图 · 12-lead ECG", "资料未收录 · Not in the library"]  # fmt: skip
    vtt = trainee_get(app, item["media"]["chapters_vtt"]).text
    assert vtt.startswith("WEBVTT") and all(title in vtt for title in titles)


def test_host_chapters_are_the_hosts_to_set(app: Any, item: dict[str, Any]) -> None:
    path = f"/api/teaching/library/{item['id']}/chapters"
    chapters = {"chapters": [{"t_ms": 1000, "title": "病例介绍 · The case"}]}
    assert TestClient(app).put(path, json=chapters, headers=auth(app, TRAINEE)).status_code == 403
    assert TestClient(app).put(path, json=chapters, headers=auth(app, "pathologist")).status_code == 403
    bad = TestClient(app).put(path, json={"chapters": [{"t_ms": -1, "title": "x"}]}, headers=auth(app, HOST))
    assert bad.status_code == 400
    done = TestClient(app).put(path, json=chapters, headers=auth(app, HOST))
    assert done.status_code == 200, done.text
    marked = trainee_get(app, f"/api/teaching/library/{item['id']}").json()["chapters"]
    assert {"t_ms": 1000, "title": "病例介绍 · The case", "source": "host"} in marked and len(marked) == 6


def _copy_instances(app: Any, study_uid: str) -> list[Dataset]:
    response = trainee_get(app, f"/api/teaching/dicomweb/studies/{study_uid}")
    assert response.status_code == 200, response.text
    return [
        dcmread(BytesIO(part)) for part in split_multipart(response.headers["content-type"], response.content)
    ]


def _values(ds: Dataset) -> Iterator[str]:
    """Every value of every element, sequences and file meta included, as text."""
    for element in [*ds.file_meta.iterall(), *ds.iterall()] if hasattr(ds, "file_meta") else ds.iterall():
        if element.tag == 0x7FE00010:
            continue
        values = (
            element.value if isinstance(element.value, list | tuple) or element.VM > 1 else [element.value]
        )
        for value in values:
            yield value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def test_copies_carry_no_identity_and_the_events_point_at_them(app: Any, item: dict[str, Any], material: Material, tmp_path: Path) -> None:  # fmt: skip
    studies = {m["description"]: m for m in item["materials"] if m["kind"] == "study"}
    assert set(studies) == {"CT 检查 · CT study", "US 检查 · US study"}
    assert studies["CT 检查 · CT study"]["burned_in_warning"] is False  # Burned In Annotation NO
    assert studies["US 检查 · US study"]["burned_in_warning"] is True  # ultrasound, nothing said
    originals = material.uids()
    for material_json in studies.values():
        copies = _copy_instances(app, material_json["id"])
        assert copies and material_json["id"] not in originals
        for ds in copies:
            assert ds.PatientIdentityRemoved == "YES"
            assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
            assert not [e for e in ds.iterall() if e.tag.is_private]
            values = list(_values(ds))
            leaked = [v for v in values for secret in [*IDENTIFYING, *originals] if secret in v]
            assert leaked == [], leaked
            assert ds.StudyInstanceUID == material_json["id"]

    opened = [e["payload"]["target"] for e in item["events"] if e["payload"].get("kind") == "open"]
    [slide] = [m for m in item["materials"] if m["kind"] == "slide"]
    us_copy = _copy_instances(app, studies["US 检查 · US study"]["id"])[0]
    assert opened == [
        {"type": "study", "id": studies["CT 检查 · CT study"]["id"]},
        {"type": "series", "id": us_copy.SeriesInstanceUID},
        {"type": "slide", "id": slide["id"]},
        {"type": "ecg", "id": _ecg_copy_id(item)},
        {"type": "ecg", "id": ""},
    ]
    [annotation] = [e for e in item["events"] if e["payload"].get("kind") == "annotation_added"]
    assert annotation["payload"]["shape"] == {"sop": us_copy.SOPInstanceUID}
    assert not [e for e in item["events"] if set(_strings(e)) & originals]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _dciodvfy_errors(path: Path) -> set[str]:
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return {line.strip() for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")}


def test_copies_validate_as_well_as_the_originals(app: Any, item: dict[str, Any], material: Material, tmp_path: Path) -> None:  # fmt: skip
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (Debian dicom3tools) is not installed: ./run test installs it")
    by_modality = {str(dcmread(BytesIO(d)).Modality): d for d in (material.ct[0], material.us)}
    for m in (m for m in item["materials"] if m["kind"] == "study"):
        copy = _copy_instances(app, m["id"])[0]
        (tmp_path / "copy.dcm").write_bytes(_encoded(copy))
        (tmp_path / "original.dcm").write_bytes(by_modality[str(copy.Modality)])
        added = _dciodvfy_errors(tmp_path / "copy.dcm") - _dciodvfy_errors(tmp_path / "original.dcm")
        assert added == set(), (copy.Modality, added)


def _encoded(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_the_slide_copy_has_tiles_and_nothing_identifying(app: Any, item: dict[str, Any]) -> None:
    [slide] = [m for m in item["materials"] if m["kind"] == "slide"]
    info = trainee_get(app, f"/api/teaching/slides/{slide['id']}")
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["properties"] == {} and body["tiles_state"] == "ready" and "filename" not in body
    assert "张三" not in info.text and "label" not in body["associated_images"]
    assert trainee_get(app, body["dzi"]).status_code == 200
    top = len(level_tiles(body["width"], body["height"])) - 1
    tile = trainee_get(app, f"/api/teaching/slides/{slide['id']}/tiles/{top}/0_0.jpeg")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/jpeg"
    assert trainee_get(app, f"/api/teaching/slides/{slide['id']}/thumbnail.jpeg").status_code == 200


def _ecg_copy_id(item: dict[str, Any]) -> str:
    """The id the item's events open the ECG copy by (the withheld ECG's is empty)."""
    targets = [e["payload"]["target"] for e in item["events"] if e["payload"].get("kind") == "open"]
    [copy_id] = [t["id"] for t in targets if t["type"] == "ecg" and t["id"]]
    return copy_id


def test_the_ecg_copy_has_the_samples_and_nothing_identifying(app: Any, item: dict[str, Any], material: Material, session_factory: Any) -> None:  # fmt: skip
    copy_id = _ecg_copy_id(item)
    assert [(m["kind"], m["id"]) for m in item["materials"] if m["kind"] == "ecg"] == [("ecg", copy_id)]
    info = trainee_get(app, f"/api/teaching/ecgs/{copy_id}")
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["leads"][:2] == ["I", "II"] and len(body["leads"]) == 12 and body["sampling_rate"] == 1000
    assert (
        body["device"] == "Mortara Instrument, Inc. el250" and body["measurements"]["device"]["measurements"]
    )
    assert not {"case_id", "filename", "acquired_at", "patient"} & set(body)
    samples = trainee_get(app, f"/api/teaching/ecgs/{copy_id}/samples")
    assert samples.status_code == 200, samples.text
    for answer in (info, samples):
        leaked = [secret for secret in [*IDENTIFYING, "2025-01-15", ECG_SERIAL] if secret in answer.text]
        assert leaked == [], leaked

    with session_factory() as db:
        original = db.get(EcgRecord, material.ecg_id)
        copy = db.get(TeachingEcg, int(copy_id))
        assert copy.source_ecg_id == material.ecg_id
        original_key, copy_key = original.record_key, copy.record_key
    store = app.state.store
    source, stored = from_bytes(store.read_bytes(original_key)), from_bytes(store.read_bytes(copy_key))
    assert source.patient.name == "张^三"  # the original is identified, so the checks below mean something
    assert np.array_equal(stored.samples, source.samples) and stored.leads == source.leads
    assert stored.sampling_rate == source.sampling_rate and stored.filters == source.filters
    header = str(stored.header())
    assert [secret for secret in [*IDENTIFYING, "2025-01-15", ECG_SERIAL] if secret in header] == []
    assert stored.acquired_at is None and stored.device_statements == ()
    clinical = TestClient(app).get(f"/api/ecgs/{material.ecg_id}/samples", headers=auth(app, HOST)).json()
    assert samples.json()["leads"] == clinical["leads"]  # the trainee sees what the host saw
    half = trainee_get(app, f"/api/teaching/ecgs/{copy_id}/samples?rate=500").json()
    clinical_half = TestClient(app).get(f"/api/ecgs/{material.ecg_id}/samples?rate=500", headers=auth(app, HOST)).json()  # fmt: skip
    assert (
        half["sampling_rate"] == clinical_half["sampling_rate"] == 500
        and half["leads"] == clinical_half["leads"]
    )


def test_the_trainee_reaches_nothing_identified(app: Any, item: dict[str, Any], material: Material) -> None:
    ct = dcmread(BytesIO(material.ct[0]))
    original = ct.StudyInstanceUID
    for path in (
        f"/dicomweb/studies/{original}/metadata",
        f"/dicomweb/studies/{original}/series/{ct.SeriesInstanceUID}/instances/{ct.SOPInstanceUID}/rendered",
        f"/api/cases/{material.case_id}/studies",
        f"/api/slides/{material.slide_id}",
        f"/api/slides/{material.slide_id}/tiles/0/0_0.jpeg",
        f"/api/ecgs/{material.ecg_id}",
        f"/api/ecgs/{material.ecg_id}/samples",
        f"/api/teaching/dicomweb/studies/{original}/metadata",
        f"/api/teaching/dicomweb/studies/{original}/series/{ct.SeriesInstanceUID}/instances/{ct.SOPInstanceUID}",
    ):
        assert trainee_get(app, path).status_code in (403, 404), path
    found = trainee_get(app, f"/api/teaching/dicomweb/studies?StudyInstanceUID={original}").json()
    assert found == []
    listed = {s["0020000D"]["Value"][0] for s in trainee_get(app, "/api/teaching/dicomweb/studies").json()}
    assert original not in listed and {m["id"] for m in item["materials"] if m["kind"] == "study"} <= listed


def test_preparing_again_reuses_every_copy(app: Any, item: dict[str, Any], session_factory: Any) -> None:
    def counts() -> tuple[int, int, int, int]:
        with session_factory() as db:
            return tuple(
                db.scalar(select(func.count()).select_from(model))
                for model in (DicomStudy, DicomInstance, TeachingSlide, TeachingEcg)
            )

    def runs() -> int:
        with session_factory() as db:
            return db.scalar(
                select(func.count()).where(TaskRun.name == PREPARE_TASK, TaskRun.state == TaskState.SUCCEEDED)
            )

    before, done = counts(), runs()
    app.state.tasks.app.send_task(PREPARE_TASK, args=[item["id"]])
    deadline = time.monotonic() + 30
    while runs() == done:
        assert time.monotonic() < deadline, "the second run did not finish"
        time.sleep(0.2)
    again = TestClient(app).get(f"/api/teaching/library/{item['id']}", headers=auth(app, HOST)).json()
    assert counts() == before
    assert again["materials"] == item["materials"] and again["events"] == item["events"]


def test_only_ready_items_of_the_own_community_and_every_read_audited(app: Any, item: dict[str, Any], session_factory: Any) -> None:  # fmt: skip
    path = f"/api/teaching/library/{item['id']}"
    with transaction(session_factory) as db:
        db.get_one(TeachingItem, item["id"]).state = TeachingItemState.PREPARING
    try:
        assert trainee_get(app, path).status_code == 404
        assert TestClient(app).get(path, headers=auth(app, HOST)).status_code == 200
    finally:
        with transaction(session_factory) as db:
            db.get_one(TeachingItem, item["id"]).state = TeachingItemState.READY

    with transaction(session_factory) as db:
        community = Community(name=f"另一医共体 {time.time_ns()}")
        db.add(community)
        db.flush()
        elsewhere = Institution(community_id=community.id, name="邻县人民医院", tier=Tier.COUNTY_HOSPITAL)
        db.add(elsewhere)
        db.flush()
        stranger = User(
            username=f"trainee-{time.time_ns()}",
            display_name="外县学员",
            password_hash="!",
            role=Role.TRAINEE,
            institution_id=elsewhere.id,
        )
        db.add(stranger)
        db.flush()
        stranger_token, _ = create_session(
            db, stranger, lifetime=timedelta(hours=1), ip=None, user_agent="test"
        )
    other = {"Authorization": f"Bearer {stranger_token}"}
    client = TestClient(app)
    assert client.get(path, headers=other).status_code == 404
    assert client.get(item["media"]["video"], headers=other).status_code == 404
    assert item["id"] not in [
        i["id"] for i in client.get("/api/teaching/library", headers=other).json()["items"]
    ]
    assert client.get(f"/api/teaching/dicomweb/studies/{item['materials'][0]['id']}/metadata", headers=other).status_code == 404  # fmt: skip
    assert client.get(f"/api/teaching/ecgs/{_ecg_copy_id(item)}/samples", headers=other).status_code == 404
    assert client.get(path, headers=auth(app, "auditor")).status_code == 403

    assert trainee_get(app, path).status_code == 200
    with session_factory() as db:
        trainee = db.scalar(select(User).where(User.username == TRAINEE))
        reads = db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.user_id == trainee.id,
                AuditEvent.resource_type == "teaching_item",
                AuditEvent.resource_id == str(item["id"]),
            )
        ).all()
    assert "teaching_item_read" in reads and "teaching_media_read" in reads
    with session_factory() as db:
        ecg_reads = db.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.user_id == trainee.id,
                AuditEvent.action == "teaching_ecg_read",
                AuditEvent.resource_id == _ecg_copy_id(item),
            )
        ).all()
    assert {"part": "samples"} in ecg_reads
