"""The one ingest path for DICOM instances, whichever way they arrive (STOW-RS, upload, C-STORE).

Order of work: parse and validate (nothing stored if that fails), store the original bytes unchanged
under a key derived from the UIDs, then index them in the database. The same UID with the same bytes
is a no-op; the same UID with other bytes is kept aside as a conflict and never overwrites.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imaging.dicom import InvalidDicom, ParsedInstance, parse_instance
from server.models import Case, DicomConflict, DicomInstance, DicomSeries, DicomStudy, StoredFile, User
from server.storage import ObjectStore

DICOM_MEDIA_TYPE = "application/dicom"
INDEX_ATTEMPTS = 3

# Attributes answered by QIDO-RS at study and series level (PS3.18 table 10.6.3-3 / -4 subsets).
STUDY_TAGS = (
    "00080005", "00080020", "00080030", "00080050", "00080090", "00081030",
    "00100010", "00100020", "00100030", "00100040", "0020000D", "00200010",
)  # fmt: skip
SERIES_TAGS = ("00080005", "00080060", "0008103E", "00180015", "0020000E", "00200011")

__all__ = ["IngestOutcome", "InvalidDicom", "ingest_instance", "instance_key"]


class IndexingConflict(RuntimeError):
    """Concurrent uploads kept colliding; nothing was acknowledged, the sender should retry later."""


@dataclass(frozen=True)
class IngestOutcome:
    status: Literal["stored", "duplicate", "conflict"]
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    instance_id: int | None = None  # set when this call indexed the instance
    series_id: int | None = None


def instance_key(study_uid: str, series_uid: str, sop_uid: str) -> str:
    return f"dicom/{study_uid}/{series_uid}/{sop_uid}.dcm"


def _subset(attributes: dict, tags: tuple[str, ...]) -> dict:
    return {tag: attributes[tag] for tag in tags if tag in attributes}


def _stored_file(
    db: Session, store: ObjectStore, key: str, data: bytes, digest: str, user: User | None
) -> StoredFile:
    info = store.put(
        key, io.BytesIO(data), length=len(data), content_type=DICOM_MEDIA_TYPE, expected_sha256=digest
    )
    stored = db.scalar(select(StoredFile).where(StoredFile.object_key == key))
    if stored is None:
        stored = StoredFile(object_key=key, media_type=DICOM_MEDIA_TYPE, size=info.size, sha256=digest)
        stored.uploaded_by_id = user.id if user else None
        db.add(stored)
    stored.size, stored.sha256 = info.size, digest
    return stored


def _study(
    db: Session, parsed: ParsedInstance, attributes: dict, institution_id: int, case: Case | None
) -> DicomStudy:
    study = db.scalar(select(DicomStudy).where(DicomStudy.study_uid == parsed.study_uid))
    if study is None:
        study = DicomStudy(
            study_uid=parsed.study_uid,
            institution_id=institution_id,
            patient_name=parsed.patient_name[:200],
            patient_dicom_id=parsed.patient_id[:64],
            patient_sex=parsed.patient_sex[:16],
            patient_birth_date=parsed.patient_birth_date[:8],
            study_date=parsed.study_date[:8],
            study_time=parsed.study_time[:16],
            accession_number=parsed.accession_number[:64],
            description=parsed.study_description[:200],
            attributes=_subset(attributes, STUDY_TAGS),
        )
        db.add(study)
    if case is not None and study.case_id is None:
        study.case_id = case.id
    return study


def _series(db: Session, parsed: ParsedInstance, attributes: dict, study: DicomStudy) -> DicomSeries:
    series = db.scalar(select(DicomSeries).where(DicomSeries.series_uid == parsed.series_uid))
    if series is None:
        series = DicomSeries(
            series_uid=parsed.series_uid,
            study=study,
            modality=parsed.modality[:16],
            number=parsed.series_number,
            description=parsed.series_description[:200],
            body_part=parsed.body_part[:64],
            attributes=_subset(attributes, SERIES_TAGS),
        )
        db.add(series)
    return series


def ingest_instance(
    db: Session,
    store: ObjectStore,
    data: bytes,
    *,
    institution_id: int,
    user: User | None,
    case: Case | None = None,
) -> IngestOutcome:
    """Validate, store and index one instance. Raises `InvalidDicom` (nothing stored) for bad input."""
    parsed = parse_instance(data)
    digest = hashlib.sha256(data).hexdigest()
    outcome = IngestOutcome(
        "stored", parsed.study_uid, parsed.series_uid, parsed.sop_uid, parsed.sop_class_uid
    )

    existing = db.scalar(select(DicomInstance).where(DicomInstance.sop_uid == parsed.sop_uid))
    if existing is not None:
        return _repeat(db, store, existing, data, digest, user, outcome)

    key = instance_key(parsed.study_uid, parsed.series_uid, parsed.sop_uid)
    stored = _stored_file(db, store, key, data, digest, user)
    attributes = parsed.metadata_json()
    for _attempt in range(INDEX_ATTEMPTS):
        try:
            with db.begin_nested():
                study = _study(db, parsed, attributes, institution_id, case)
                series = _series(db, parsed, attributes, study)
                instance = DicomInstance(
                    sop_uid=parsed.sop_uid,
                    series=series,
                    sop_class_uid=parsed.sop_class_uid,
                    transfer_syntax_uid=parsed.transfer_syntax_uid,
                    instance_number=parsed.instance_number,
                    rows=parsed.rows,
                    columns=parsed.columns,
                    frames=parsed.number_of_frames,
                    stored_file=stored,
                    dicom_json=attributes,
                )
                db.add(instance)
                db.flush()
            return replace(outcome, instance_id=instance.id, series_id=series.id)
        except IntegrityError:
            # A concurrent upload created this study, series or instance between our lookup and our
            # insert. Once it has committed the next attempt finds it; only the instance itself existing
            # makes this upload a repeat.
            db.expire_all()
            existing = db.scalar(select(DicomInstance).where(DicomInstance.sop_uid == parsed.sop_uid))
            if existing is not None:
                return _repeat(db, store, existing, data, digest, user, outcome)
    raise IndexingConflict(f"instance {parsed.sop_uid} could not be indexed after {INDEX_ATTEMPTS} attempts")


def dataset_digest(data: bytes) -> str:
    """SHA-256 of the data set after the file meta group: the same image sent by two routes (STOW-RS,
    C-STORE) carries different file meta (implementation UID, source AE) but the same data set."""
    start = 0
    if data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00":
        group_length = int.from_bytes(data[140:144], "little")
        start = 144 + group_length
    return hashlib.sha256(memoryview(data)[start:]).hexdigest()


def _repeat(
    db: Session,
    store: ObjectStore,
    existing: DicomInstance,
    data: bytes,
    digest: str,
    user: User | None,
    outcome: IngestOutcome,
) -> IngestOutcome:
    """A known SOP Instance UID again: a no-op for the same data set, a recorded conflict otherwise."""
    if existing.stored_file.sha256 == digest or dataset_digest(
        store.read_bytes(existing.stored_file.object_key)
    ) == dataset_digest(data):
        return replace(outcome, status="duplicate")
    key = f"dicom-conflicts/{outcome.sop_uid}/{digest}.dcm"
    stored = _stored_file(db, store, key, data, digest, user)
    db.flush()
    db.add(
        DicomConflict(
            sop_uid=outcome.sop_uid, stored_file_id=stored.id, received_by_id=user.id if user else None
        )
    )
    return replace(outcome, status="conflict")


def queue_previews(send_task: Callable[..., None], outcomes: list[IngestOutcome]) -> None:
    """Ask the workers for previews of newly indexed instances and a thumbnail per series touched."""
    for outcome in outcomes:
        if outcome.instance_id is not None:
            send_task("imaging.render_instance_previews", outcome.instance_id)
    for series_id in sorted({o.series_id for o in outcomes if o.series_id is not None}):
        send_task("imaging.render_series_thumbnail", series_id)
