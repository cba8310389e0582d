"""The one ingest path for ECG files, whichever way they arrive (the ECG upload endpoint, resumable upload).

As for DICOM: read and validate first (nothing stored if the file is no usable ECG), then store the
original bytes unchanged and the normalised record beside them, then index. The same bytes attached to
the same case again are a no-op. Measurements and the rendered page are the worker's
(`ecg.process_record`, queued once the transaction commits).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pydicom
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imaging.ecg import RECORD_MEDIA_TYPE, InvalidEcg, detect_format, read_ecg, to_bytes
from imaging.ecg.dicom_waveform import ECG_SOP_CLASSES
from server.cases.models import Case, StoredFile
from server.community.models import User
from server.ecg.models import EcgRecord
from server.storage import ObjectStore

__all__ = ["EcgOutcome", "InvalidEcg", "ecg_format_of", "ingest_ecg", "page_key", "queue_processing"]

ORIGINAL_MEDIA_TYPES = {
    "dicom": "application/dicom",
    "wfdb": "application/zip",
    "scp_ecg": "application/octet-stream",
}
XML_MEDIA_TYPE = "application/xml"
PROCESS_TASK = "ecg.process_record"


@dataclass(frozen=True)
class EcgOutcome:
    status: Literal["stored", "duplicate"]
    record_id: int
    source_format: str


def _prefix(case_id: int, sha256: str) -> str:
    return f"ecg/{case_id}/{sha256}"


def page_key(record: EcgRecord, fmt: str) -> str:
    """Where the worker puts the rendered page (`png` or `pdf`); derived from the record, so reruns agree."""
    return f"{_prefix(record.case_id, record.sha256)}/page.{fmt}"


def _existing(db: Session, case: Case, sha256: str) -> EcgRecord | None:
    return db.scalar(select(EcgRecord).where(EcgRecord.case_id == case.id, EcgRecord.sha256 == sha256))


def ingest_ecg(
    db: Session, store: ObjectStore, data: bytes, *, filename: str, case: Case, user: User | None
) -> EcgOutcome:
    """Validate, store and index one ECG file of `case`. Raises `InvalidEcg` (nothing stored) for bad input."""
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _existing(db, case, sha256)
    if existing is not None:
        return EcgOutcome("duplicate", existing.id, existing.source_format)
    record = read_ecg(data, filename)
    prefix = _prefix(case.id, sha256)
    media_type = ORIGINAL_MEDIA_TYPES.get(record.source_format, XML_MEDIA_TYPE)
    normalised = to_bytes(record)
    original_info = store.put(
        f"{prefix}/original", io.BytesIO(data), length=len(data), content_type=media_type
    )
    store.put(
        f"{prefix}/record.npz", io.BytesIO(normalised), length=len(normalised), content_type=RECORD_MEDIA_TYPE
    )
    try:
        with db.begin_nested():
            original = StoredFile(
                case_id=case.id,
                object_key=original_info.key,
                size=original_info.size,
                sha256=sha256,
                media_type=media_type,
                uploaded_by_id=user.id if user else None,
            )
            db.add(original)
            db.flush()
            row = EcgRecord(
                case_id=case.id,
                institution_id=case.institution_id,
                original_file_id=original.id,
                record_key=f"{prefix}/record.npz",
                sha256=sha256,
                filename=filename[:255],
                source_format=record.source_format,
                leads=list(record.leads),
                sampling_rate=record.sampling_rate,
                duration_s=round(record.duration_s, 3),
                acquired_at=record.acquired_at,
                device=record.device[:200],
                filters=record.header()["filters"],
                device_measurements=record.device_measurements,
                device_statements=list(record.device_statements),
                render_state="pending",
                uploaded_by_id=user.id if user else None,
            )
            db.add(row)
            db.flush()
    except IntegrityError:  # the same file for the same case arrived concurrently and won
        db.expire_all()
        winner = _existing(db, case, sha256)
        if winner is None:
            raise
        return EcgOutcome("duplicate", winner.id, winner.source_format)
    return EcgOutcome("stored", row.id, record.source_format)


def queue_processing(send_task: Callable[..., None], outcome: EcgOutcome, *, urgent: bool = False) -> None:
    """Ask the workers for measurements and the page of a newly stored record; an urgent case's
    (chest pain at the village clinic) jumps the queue."""
    if outcome.status == "stored":
        send_task(PROCESS_TASK, outcome.record_id, urgent=urgent)


def ecg_format_of(data: bytes) -> str | None:
    """The ECG format of an uploaded file, or None when it is no ECG (e.g. an image for the DICOM path)."""
    try:
        source_format = detect_format(data)
    except InvalidEcg:
        return None
    if source_format != "dicom":
        return source_format
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:  # unreadable DICOM: the DICOM path reports it
        return None
    return source_format if str(ds.get("SOPClassUID", "")) in ECG_SOP_CLASSES else None
