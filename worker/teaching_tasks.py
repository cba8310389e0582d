"""Teaching library items: de-identified copies of everything a recorded teaching session showed.

`teaching.prepare_item` reads the session's viewer events, copies every study (or the study of every
series), slide and ECG opened in them, and stores the events again with each target naming its copy, so
a trainee's replay never touches identified material. Studies are copied instance by instance through
`imaging.deidentify` and indexed like an upload (no case, the teaching session's institution); slides
get a `TeachingSlide` row whose whole deep-zoom pyramid is copied under its own prefix (tiles the source
never rendered are rendered now), without label, macro or vendor properties; ECGs get a `TeachingEcg`
row and their normalised record written again under its own key, the same samples with a header
without patient, acquisition time or device statements.

Idempotent: copy UIDs derive from the item id and the original UID (`imaging.deidentify.uid_map`),
slide and ECG copies are unique per item and source, stored objects are skipped, so a rerun reuses every copy.
Only material the session's host may see is copied (what the host could not open stays out). No
transaction is held while files are read, de-identified or tiles rendered.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from celery import current_app, shared_task
from pydicom import dcmread
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from imaging.deidentify import UidMap, deidentify, uid_map
from imaging.ecg import RECORD_MEDIA_TYPE, InvalidEcg, from_bytes, to_bytes
from imaging.ecg import EcgRecord as Signal
from imaging.ecg.measure import measure
from imaging.ecg.record import Patient
from imaging.wsi import TILE_MEDIA_TYPE, level_tiles
from server.access.policy import case_scope, study_scope
from server.cases.models import Case, StoredFile
from server.community.models import User
from server.core.clock import SYSTEM_CLOCK
from server.dicom.ingest import IngestOutcome, ingest_instances, queue_previews
from server.dicom.models import DicomInstance, DicomSeries, DicomStudy
from server.ecg.models import EcgRecord
from server.slides.ingest import slide_cache, stored_metadata, thumbnail_key, tile_key
from server.slides.models import Slide
from server.storage import ObjectNotFound, ObjectStore, StorageUnavailable
from server.teaching import library
from server.teaching.library import PREPARE_TASK
from server.teaching.models import TeachingEcg, TeachingMaterial, TeachingSlide
from worker import resources
from worker.base import RecordedTask

BATCH = 25  # instances de-identified and indexed per transaction
SLIDE_TITLE = "病理切片 · Pathology slide"
WITHHELD_TITLE = "资料未收录 · Not in the library"
ECG_TITLE = "{leads} 导联心电图 · {leads}-lead ECG"

Factory = sessionmaker[Session]


def copy_uids(item_id: int) -> UidMap:
    return uid_map(f"telemed-teaching-item-{item_id}")


@dataclass
class Copies:
    """What the item's copies are: viewer target → copy id and chapter title; original → copy UID."""

    targets: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    uids: dict[str, str] = field(default_factory=dict)
    materials: list[TeachingMaterial] = field(default_factory=list)


def _study_title(modalities: Sequence[str]) -> str:
    names = "/".join(modalities) or "DICOM"
    return f"{names} 检查 · {names} study"


def _send_task(name: str, *args: Any) -> None:
    current_app.send_task(name, args=list(args))


def _host(db: Session, host_id: int) -> User:
    """The session's host: only material they may see is copied."""
    host = db.get(User, host_id)
    if host is None:
        raise RuntimeError(f"the teaching session's host (user {host_id}) no longer exists")
    return host


def _target(target: dict[str, Any]) -> tuple[str, str]:
    """The (type, id) an `open` event names, as the copies are keyed."""
    return str(target.get("type")), str(target.get("id"))


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _copy_study(
    factory: Factory, item_id: int, host_id: int, institution_id: int, study_uid: str, copies: Copies
) -> bool:
    """De-identify and index every instance of the study (if the host may see it); False if not copied."""
    uid_for = copy_uids(item_id)
    with factory() as db:
        host = _host(db, host_id)
        study = db.scalar(select(DicomStudy).where(DicomStudy.study_uid == study_uid, study_scope(host)))
        if study is None:
            return False
        rows = db.execute(
            select(DicomInstance.sop_uid, StoredFile.object_key, DicomSeries.series_uid, DicomSeries.modality)
            .join(StoredFile, StoredFile.id == DicomInstance.stored_file_id)
            .join(DicomSeries, DicomSeries.id == DicomInstance.series_id)
            .where(DicomSeries.study_id == study.id)
            .order_by(DicomSeries.number, DicomInstance.instance_number, DicomInstance.id)
        ).all()
        done = set(
            db.scalars(
                select(DicomInstance.sop_uid).where(DicomInstance.sop_uid.in_([uid_for(r[0]) for r in rows]))
            )
        )
    store = resources.store()
    warning = False
    for batch in _chunks(rows, BATCH):
        parts = []
        for sop_uid, key, series_uid, _modality in batch:
            result = deidentify(dcmread(io.BytesIO(store.read_bytes(key))), uid_for)
            warning = warning or result.burned_in_warning
            copies.uids.update({sop_uid: uid_for(sop_uid), series_uid: uid_for(series_uid)})
            if uid_for(sop_uid) not in done:
                out = io.BytesIO()
                result.dataset.save_as(out, enforce_file_format=True)
                parts.append(out.getvalue())
        if parts:
            with factory() as db, db.begin():
                results = ingest_instances(db, store, parts, institution_id=institution_id, user=None)
            outcomes = [r for r in results if isinstance(r, IngestOutcome)]
            if len(outcomes) < len(results):
                refused = next(r for r in results if not isinstance(r, IngestOutcome))
                raise RuntimeError(f"a de-identified copy could not be stored: {refused}")
            queue_previews(_send_task, outcomes)
    copy_uid = uid_for(study_uid)
    copies.uids[study_uid] = copy_uid
    title = _study_title(list(dict.fromkeys(row[3] for row in rows if row[3])))
    copies.targets[("study", study_uid)] = (copy_uid, title)
    copies.materials.append(
        TeachingMaterial(
            kind="study", source_id=study_uid, copy_id=copy_uid, burned_in_warning=warning, description=title
        )
    )
    return True


def _copy_series(
    factory: Factory, item_id: int, host_id: int, institution_id: int, series_uid: str, copies: Copies
) -> None:
    """A series opened on its own: its whole study is the material; the target names the series copy."""
    with factory() as db:
        row = db.execute(
            select(DicomStudy.study_uid, DicomSeries.modality, DicomSeries.number)
            .join(DicomSeries, DicomSeries.study_id == DicomStudy.id)
            .where(DicomSeries.series_uid == series_uid)
        ).first()
    if row is None:
        return
    study_uid, modality, number = row
    if ("study", study_uid) not in copies.targets and not _copy_study(
        factory, item_id, host_id, institution_id, study_uid, copies
    ):
        return
    name, numbered = modality or "DICOM", f" {number}" if number is not None else ""
    title = f"{name} 序列{numbered} · {name} series{numbered}"
    copies.targets[("series", series_uid)] = (copy_uids(item_id)(series_uid), title)


def _copy_tiles(store: ObjectStore, source: Slide, copy: TeachingSlide) -> None:
    """The thumbnail and every tile of every level, from the source's stored tiles or rendered now."""
    staged = slide_cache(resources.settings().data_dir)

    def put(key: str, data: bytes) -> None:
        store.put(key, io.BytesIO(data), length=len(data), content_type=TILE_MEDIA_TYPE)

    if not store.exists(copy.thumbnail_key):
        try:
            thumbnail = store.read_bytes(thumbnail_key(source))
        except ObjectNotFound:
            thumbnail = staged.tiles(store, source).thumbnail()
        put(copy.thumbnail_key, thumbnail)
    for level, (cols, rows) in enumerate(level_tiles(source.width, source.height)):
        for row in range(rows):
            for col in range(cols):
                target = copy.tile_key(level, col, row)
                if store.exists(target):
                    continue
                try:
                    tile = store.read_bytes(tile_key(source, level, col, row))
                except ObjectNotFound:
                    tile = staged.tiles(store, source).tile(level, col, row)
                put(target, tile)


def _copy_slide(factory: Factory, item_id: int, host_id: int, slide_id: str, copies: Copies) -> None:
    if not slide_id.isdigit():
        return
    with factory() as db, db.begin():
        host = _host(db, host_id)
        source = db.scalar(
            select(Slide).where(
                Slide.id == int(slide_id), Slide.case_id.in_(select(Case.id).where(case_scope(host)))
            )
        )
        if source is None:
            return
        copy = db.scalar(
            select(TeachingSlide).where(
                TeachingSlide.item_id == item_id, TeachingSlide.source_slide_id == source.id
            )
        )
        if copy is None:
            view = stored_metadata(source).to_json(deidentified=True)
            copy = TeachingSlide(
                item_id=item_id,
                source_slide_id=source.id,
                width=source.width,
                height=source.height,
                levels=view["levels"],
                mpp_x=source.mpp_x,
                mpp_y=source.mpp_y,
                objective_power=source.objective_power,
            )
            db.add(copy)
            db.flush()
        db.expunge_all()
    _copy_tiles(resources.store(), source, copy)
    with factory() as db, db.begin():
        stored = db.get(TeachingSlide, copy.id)
        assert stored is not None
        stored.tiles_state = "ready"
    copies.targets[("slide", slide_id)] = (str(copy.id), SLIDE_TITLE)
    copies.materials.append(
        TeachingMaterial(
            kind="slide",
            source_id=slide_id,
            copy_id=str(copy.id),
            burned_in_warning=False,
            description=SLIDE_TITLE,
        )
    )


def deidentified_ecg(signal: Signal) -> Signal:
    """The record as the library keeps it: samples, leads, rate, filters, device make and model and the
    device's measurements. Dropped, as PS3.15's basic profile drops their DICOM counterparts: the patient
    (name, ID, sex, birth date), the acquisition date-time, and the interpretation statements (free
    text, which may name the patient or the confirming physician)."""
    return dataclasses.replace(signal, patient=Patient(), acquired_at=None, device_statements=())


def _automated(stored: dict[str, Any] | None, signal: Signal) -> dict[str, Any] | None:
    """The original's automated measurements, or measured now when its own task has not run yet."""
    if stored is not None:
        return stored
    try:
        return measure(signal)
    except (InvalidEcg, ValueError):
        return None


def _copy_ecg(factory: Factory, item_id: int, host_id: int, ecg_id: str, copies: Copies) -> None:
    """An ECG of a case the host may see: a `TeachingEcg` row and the de-identified record under its key."""
    if not ecg_id.isdigit():
        return
    with factory() as db:
        host = _host(db, host_id)
        source = db.scalar(
            select(EcgRecord).where(
                EcgRecord.id == int(ecg_id), EcgRecord.case_id.in_(select(Case.id).where(case_scope(host)))
            )
        )
        if source is None:
            return
        record_key, stored_automated = source.record_key, source.automated_measurements
    store = resources.store()
    signal = deidentified_ecg(from_bytes(store.read_bytes(record_key)))
    with factory() as db, db.begin():
        copy = db.scalar(
            select(TeachingEcg).where(
                TeachingEcg.item_id == item_id, TeachingEcg.source_ecg_id == int(ecg_id)
            )
        )
        if copy is None:
            copy = TeachingEcg(
                item_id=item_id,
                source_ecg_id=int(ecg_id),
                source_format=signal.source_format,
                leads=list(signal.leads),
                sampling_rate=signal.sampling_rate,
                duration_s=round(signal.duration_s, 3),
                device=signal.device[:200],
                filters=signal.header()["filters"],
                device_measurements=dict(signal.device_measurements),
                automated_measurements=_automated(stored_automated, signal),
            )
            db.add(copy)
            db.flush()
        db.expunge_all()
    if not store.exists(copy.record_key):
        data = to_bytes(signal)
        store.put(copy.record_key, io.BytesIO(data), length=len(data), content_type=RECORD_MEDIA_TYPE)
    title = ECG_TITLE.format(leads=len(signal.leads))
    copies.targets[("ecg", ecg_id)] = (str(copy.id), title)
    copies.materials.append(
        TeachingMaterial(
            kind="ecg", source_id=ecg_id, copy_id=str(copy.id), burned_in_warning=False, description=title
        )
    )


def _renamed(value: Any, uids: dict[str, str]) -> Any:
    """`value` (a viewer event's JSON) with every original UID, at any depth, replaced by its copy's."""
    if isinstance(value, str):
        return uids.get(value, value)
    if isinstance(value, list):
        return [_renamed(item, uids) for item in value]
    if isinstance(value, dict):
        return {key: _renamed(item, uids) for key, item in value.items()}
    return value


def rewritten(event: dict[str, Any], copies: Copies) -> dict[str, Any]:
    """A stored event as trainees replay it: an `open` names its copy (an empty id when the material is
    not in the library); original UIDs elsewhere in viewer events are the copies' UIDs."""
    if event["kind"] != "viewer":
        return event
    payload = event["payload"]
    if payload.get("kind") == "open":
        target = payload.get("target") or {}
        copy_id, _ = copies.targets.get(_target(target), ("", ""))
        payload = {**payload, "target": {"type": target.get("type"), "id": copy_id}}
    else:
        payload = _renamed(payload, copies.uids)
    return {**event, "payload": payload}


def viewer_chapters(events: list[dict[str, Any]], copies: Copies) -> list[dict[str, Any]]:
    """One chapter per `open`, titled from the copy (modality, series number), never from patient data."""
    chapters = []
    for event in events:
        payload = event["payload"]
        if event["kind"] == "viewer" and payload.get("kind") == "open":
            target = payload.get("target") or {}
            _, title = copies.targets.get(_target(target), ("", WITHHELD_TITLE))
            chapters.append({"t_ms": event["t_ms"], "title": title})
    return chapters


def _copy_all(
    factory: Factory, item_id: int, host_id: int, institution_id: int, events: list[dict[str, Any]]
) -> Copies:
    copies = Copies()
    for event in events:
        payload = event["payload"]
        if event["kind"] != "viewer" or payload.get("kind") != "open":
            continue
        target = payload.get("target") or {}
        kind, source = target.get("type"), str(target.get("id"))
        if (kind, source) in copies.targets:
            continue
        if kind == "study":
            _copy_study(factory, item_id, host_id, institution_id, source, copies)
        elif kind == "series":
            _copy_series(factory, item_id, host_id, institution_id, source, copies)
        elif kind == "slide":
            _copy_slide(factory, item_id, host_id, source, copies)
        elif kind == "ecg":
            _copy_ecg(factory, item_id, host_id, source, copies)
    return copies


@shared_task(base=RecordedTask, bind=True, name=PREPARE_TASK)
def prepare_item(self: RecordedTask, item_id: int) -> dict[str, object]:
    factory = resources.session_factory()
    with factory() as db:
        item = library.preparation(db, item_id)
    if item is None:
        return {"item_id": item_id, "status": "unknown_item"}
    try:
        copies = _copy_all(factory, item_id, item.host_id, item.institution_id, item.events)
    except (StorageUnavailable, OperationalError):
        raise  # transient: retried
    except Exception as exc:  # a copy that cannot be made fails the item, with the reason for its host
        with factory() as db, db.begin():
            library.mark_failed(db, item_id, f"{type(exc).__name__}: {exc}")
        return {"item_id": item_id, "status": "failed"}
    with factory() as db, db.begin():
        ready = library.mark_ready(
            db,
            SYSTEM_CLOCK,
            item_id,
            events=[rewritten(event, copies) for event in item.events],
            viewer_chapters=viewer_chapters(item.events, copies),
            materials=copies.materials,
        )
    if not ready:
        return {"item_id": item_id, "status": "unknown_item"}
    return {"item_id": item_id, "status": "ok", "materials": len(copies.materials)}
