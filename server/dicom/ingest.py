"""The one ingest path for DICOM instances, whichever way they arrive (STOW-RS, upload, C-STORE).

Order of work: parse and validate (nothing stored if that fails), store the original bytes unchanged
under a key derived from the UIDs, then index them in the database. The same UID with the same bytes
is a no-op; the same UID with other bytes is kept aside as a conflict and never overwrites.

The instances of one request go through each step together: the objects are made durable in one
`put_many` (their fsyncs overlap), and the index is looked up and written with one query per table,
not one per instance. The caller's transaction commits them all, after the objects are durable.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from imaging.dicom import InvalidDicom, ParsedInstance, parse_instance
from server.cases.models import Case, StoredFile
from server.community.models import User
from server.dicom.models import DicomConflict, DicomInstance, DicomSeries, DicomStudy
from server.storage import ObjectStore
from server.storage.base import NewObject

DICOM_MEDIA_TYPE = "application/dicom"
INDEX_ATTEMPTS = 3
PREVIEW_BATCH = 5

# Attributes answered by QIDO-RS at study and series level (PS3.18 table 10.6.3-3 / -4 subsets).
STUDY_TAGS = (
    "00080005", "00080020", "00080030", "00080050", "00080090", "00081030",
    "00100010", "00100020", "00100030", "00100040", "0020000D", "00200010",
)  # fmt: skip
SERIES_TAGS = ("00080005", "00080060", "0008103E", "00180015", "0020000E", "00200011")

__all__ = [
    "IndexingConflict",
    "IngestOutcome",
    "IngestResult",
    "InvalidDicom",
    "ingest_instance",
    "ingest_instances",
    "instance_key",
]


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


# What became of one part of a request: its outcome, or why it was refused.
IngestResult = IngestOutcome | InvalidDicom | IndexingConflict


@dataclass(frozen=True)
class _Part:
    """One valid instance of a request, with where its answer goes."""

    index: int
    data: bytes
    parsed: ParsedInstance
    attributes: dict[str, Any]

    @property
    def outcome(self) -> IngestOutcome:
        p = self.parsed
        return IngestOutcome("stored", p.study_uid, p.series_uid, p.sop_uid, p.sop_class_uid)

    @property
    def key(self) -> str:
        return instance_key(self.parsed.study_uid, self.parsed.series_uid, self.parsed.sop_uid)


@dataclass(frozen=True)
class _Owner:
    """Who the instances of one request belong to."""

    institution_id: int
    user: User | None
    case: Case | None


def instance_key(study_uid: str, series_uid: str, sop_uid: str) -> str:
    return f"dicom/{study_uid}/{series_uid}/{sop_uid}.dcm"


def _subset(attributes: dict[str, Any], tags: tuple[str, ...]) -> dict[str, Any]:
    return {tag: attributes[tag] for tag in tags if tag in attributes}


def ingest_instance(
    db: Session,
    store: ObjectStore,
    data: bytes,
    *,
    institution_id: int,
    user: User | None,
    case: Case | None = None,
) -> IngestOutcome:
    """Validate, store and index one instance. Raises `InvalidDicom` (nothing stored) for bad input
    and `IndexingConflict` when concurrent uploads kept it from being indexed."""
    (result,) = ingest_instances(db, store, [data], institution_id=institution_id, user=user, case=case)
    if isinstance(result, Exception):
        raise result
    return result


def ingest_instances(
    db: Session,
    store: ObjectStore,
    parts: Sequence[bytes],
    *,
    institution_id: int,
    user: User | None,
    case: Case | None = None,
) -> list[IngestResult]:
    """Validate, store and index the instances of one request; one result per part, in order.

    A part that is not a valid instance gets its `InvalidDicom` and leaves nothing behind; the others
    are stored all the same. Storage and database errors are raised: then nothing is acknowledged.
    """
    owner = _Owner(institution_id, user, case)
    results: list[IngestResult | None] = [None] * len(parts)
    first: dict[str, _Part] = {}  # the first part with each SOP Instance UID
    again: list[_Part] = []  # a UID the same request sent before: judged against what that part left
    for index, data in enumerate(parts):
        try:
            parsed = parse_instance(data)
        except InvalidDicom as exc:
            results[index] = exc
            continue
        part = _Part(index, data, parsed, parsed.metadata_json())
        if parsed.sop_uid in first:
            again.append(part)
        else:
            first[parsed.sop_uid] = part
    for sop_uid, instance in _indexed(db, first).items():
        part = first.pop(sop_uid)
        results[part.index] = _repeat(db, store, instance, part, owner.user)
    fresh = list(first.values())
    for part, result in zip(fresh, _store_and_index(db, store, fresh, owner), strict=True):
        results[part.index] = result
    for part in again:
        results[part.index] = _ingest_alone(db, store, part, owner)
    assert all(result is not None for result in results)
    return cast("list[IngestResult]", results)


def _indexed(db: Session, sop_uids: Iterable[str]) -> dict[str, DicomInstance]:
    """The instances already indexed under these UIDs, with their stored files, in one query."""
    uids = list(sop_uids)
    if not uids:
        return {}
    query = (
        select(DicomInstance)
        .where(DicomInstance.sop_uid.in_(uids))
        .options(joinedload(DicomInstance.stored_file))
    )
    return {instance.sop_uid: instance for instance in db.scalars(query)}


def _ingest_alone(db: Session, store: ObjectStore, part: _Part, owner: _Owner) -> IngestResult:
    """One instance on its own: a repeat of what is indexed, or stored and indexed."""
    instance = _indexed(db, [part.parsed.sop_uid]).get(part.parsed.sop_uid)
    if instance is not None:
        return _repeat(db, store, instance, part, owner.user)
    (result,) = _store_and_index(db, store, [part], owner)
    return result


def _store_and_index(
    db: Session, store: ObjectStore, parts: list[_Part], owner: _Owner
) -> list[IngestResult]:
    """Make the new instances' bytes durable together, then index them together.

    If a concurrent upload indexed one of the same studies, series or instances meanwhile, the batch
    is indexed again one instance at a time, each finding what the other upload committed.
    """
    if not parts:
        return []
    stored = _stored_files(db, store, [(part.key, part.data) for part in parts], owner.user)
    try:
        with db.begin_nested():
            instances = _index(db, parts, stored, owner)
    except IntegrityError:
        db.expire_all()
        return [_index_alone(db, store, part, file, owner) for part, file in zip(parts, stored, strict=True)]
    return [
        replace(part.outcome, instance_id=instance.id, series_id=instance.series_id)
        for part, instance in zip(parts, instances, strict=True)
    ]


def _index_alone(
    db: Session, store: ObjectStore, part: _Part, stored: StoredFile, owner: _Owner
) -> IngestResult:
    for _attempt in range(INDEX_ATTEMPTS):
        instance = _indexed(db, [part.parsed.sop_uid]).get(part.parsed.sop_uid)
        if instance is not None:
            return _repeat(db, store, instance, part, owner.user)
        try:
            with db.begin_nested():
                (instance,) = _index(db, [part], [stored], owner)
            return replace(part.outcome, instance_id=instance.id, series_id=instance.series_id)
        except IntegrityError:
            # A concurrent upload created this study, series or instance between our lookup and our
            # insert. Once it has committed the next attempt finds it.
            db.expire_all()
    return IndexingConflict(
        f"instance {part.parsed.sop_uid} could not be indexed after {INDEX_ATTEMPTS} attempts"
    )


def _stored_files(
    db: Session, store: ObjectStore, objects: list[tuple[str, bytes]], user: User | None
) -> list[StoredFile]:
    """Store the objects (durable when this returns) and their `stored_files` rows, one per key."""
    infos = store.put_many(
        [NewObject(key, io.BytesIO(data), len(data), DICOM_MEDIA_TYPE) for key, data in objects]
    )
    keys = [key for key, _ in objects]
    rows = {
        row.object_key: row for row in db.scalars(select(StoredFile).where(StoredFile.object_key.in_(keys)))
    }
    files = []
    for info in infos:
        row = rows.get(info.key)
        if row is None:
            row = StoredFile(object_key=info.key, media_type=DICOM_MEDIA_TYPE)
            row.uploaded_by_id = user.id if user else None
            db.add(row)
        assert info.sha256 is not None, "put_many records every object's digest"
        row.size, row.sha256 = info.size, info.sha256
        files.append(row)
    return files


def _index(db: Session, parts: list[_Part], stored: list[StoredFile], owner: _Owner) -> list[DicomInstance]:
    """Index new instances, with the studies and series they are the first of; flushed, so ids are set."""
    study_uids = {part.parsed.study_uid for part in parts}
    series_uids = {part.parsed.series_uid for part in parts}
    studies = {
        s.study_uid: s for s in db.scalars(select(DicomStudy).where(DicomStudy.study_uid.in_(study_uids)))
    }
    series = {
        s.series_uid: s
        for s in db.scalars(select(DicomSeries).where(DicomSeries.series_uid.in_(series_uids)))
    }
    instances = []
    for part, file in zip(parts, stored, strict=True):
        parsed = part.parsed
        if parsed.study_uid not in studies:
            studies[parsed.study_uid] = _new_study(db, part, owner)
        study = studies[parsed.study_uid]
        if owner.case is not None and study.case_id is None:
            study.case_id = owner.case.id
        if parsed.series_uid not in series:
            series[parsed.series_uid] = _new_series(db, part, study)
        instance = DicomInstance(
            sop_uid=parsed.sop_uid,
            series=series[parsed.series_uid],
            sop_class_uid=parsed.sop_class_uid,
            transfer_syntax_uid=parsed.transfer_syntax_uid,
            instance_number=parsed.instance_number,
            rows=parsed.rows,
            columns=parsed.columns,
            frames=parsed.number_of_frames,
            stored_file=file,
            dicom_json=part.attributes,
        )
        db.add(instance)
        instances.append(instance)
    db.flush()
    return instances


def _new_study(db: Session, part: _Part, owner: _Owner) -> DicomStudy:
    parsed = part.parsed
    study = DicomStudy(
        study_uid=parsed.study_uid,
        institution_id=owner.institution_id,
        patient_name=parsed.patient_name[:200],
        patient_dicom_id=parsed.patient_id[:64],
        patient_sex=parsed.patient_sex[:16],
        patient_birth_date=parsed.patient_birth_date[:8],
        study_date=parsed.study_date[:8],
        study_time=parsed.study_time[:16],
        accession_number=parsed.accession_number[:64],
        description=parsed.study_description[:200],
        attributes=_subset(part.attributes, STUDY_TAGS),
    )
    db.add(study)
    return study


def _new_series(db: Session, part: _Part, study: DicomStudy) -> DicomSeries:
    parsed = part.parsed
    series = DicomSeries(
        series_uid=parsed.series_uid,
        study=study,
        modality=parsed.modality[:16],
        number=parsed.series_number,
        description=parsed.series_description[:200],
        body_part=parsed.body_part[:64],
        attributes=_subset(part.attributes, SERIES_TAGS),
    )
    db.add(series)
    return series


def dataset_digest(data: bytes) -> str:
    """SHA-256 of the data set after the file meta group: the same image sent by two routes (STOW-RS,
    C-STORE) carries different file meta (implementation UID, source AE) but the same data set."""
    start = 0
    if data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00":
        group_length = int.from_bytes(data[140:144], "little")
        start = 144 + group_length
    return hashlib.sha256(memoryview(data)[start:]).hexdigest()


def _repeat(
    db: Session, store: ObjectStore, existing: DicomInstance, part: _Part, user: User | None
) -> IngestOutcome:
    """A known SOP Instance UID again: a no-op for the same data set, a recorded conflict otherwise."""
    digest = hashlib.sha256(part.data).hexdigest()
    if existing.stored_file.sha256 == digest or dataset_digest(
        store.read_bytes(existing.stored_file.object_key)
    ) == dataset_digest(part.data):
        return replace(part.outcome, status="duplicate")
    key = f"dicom-conflicts/{part.parsed.sop_uid}/{digest}.dcm"
    (stored,) = _stored_files(db, store, [(key, part.data)], user)
    db.flush()
    db.add(
        DicomConflict(
            sop_uid=part.parsed.sop_uid, stored_file_id=stored.id, received_by_id=user.id if user else None
        )
    )
    return replace(part.outcome, status="conflict")


def queue_previews(send_task: Callable[..., None], outcomes: list[IngestOutcome]) -> None:
    """Ask the workers for previews of newly indexed instances and a thumbnail per series touched.

    Instances go in batches of `PREVIEW_BATCH`: one message per few instances keeps the broker's share
    of an ingest small, while a large upload still spreads over every worker.
    """
    new = [o.instance_id for o in outcomes if o.instance_id is not None]
    for start in range(0, len(new), PREVIEW_BATCH):
        send_task("imaging.render_previews", new[start : start + PREVIEW_BATCH])
    for series_id in sorted({o.series_id for o in outcomes if o.series_id is not None}):
        send_task("imaging.render_series_thumbnail", series_id)
