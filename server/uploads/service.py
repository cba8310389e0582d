"""Resumable uploads: the rules of their state machine, their chunks in the object store, and the
expiry of uploads left unfinished (the hourly `uploads.expire_stale` the worker runs).

The tus protocol itself (headers, streaming a PATCH body, the answers) is the HTTP door's
(`server.api.uploads`). A finished file goes into the one DICOM ingest the DIMSE door uses too
(`server.dicom.receive.receive_instance`), or, if it is an ECG, into its case through
`server.ecg.service.store_ecg`, as the ECG upload endpoint does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access import audit
from server.access.actor import Actor
from server.cases.models import Case
from server.core.clock import Clock
from server.core.errors import Busy, Conflict, Gone, Invalid, NotFound, TooLarge, Unsupported, not_found
from server.core.orm import utcnow
from server.core.tasks import enqueue
from server.dicom.ingest import DICOM_MEDIA_TYPE, InvalidDicom, queue_previews
from server.dicom.receive import receive_instance
from server.ecg.ingest import InvalidEcg, ecg_format_of
from server.ecg.service import store_ecg
from server.storage import ObjectStore
from server.uploads.models import Upload, UploadState

EXPIRES_AFTER = timedelta(hours=24)


def chunk_prefix(upload_id: str) -> str:
    return f"uploads/{upload_id}/"


def chunk_key(upload_id: str, offset: int) -> str:
    # Zero-padded, so the store's code-point order of keys is the order of the bytes.
    return f"{chunk_prefix(upload_id)}{offset:016d}"


def delete_chunks(store: ObjectStore, upload_id: str) -> int:
    keys = list(store.list(chunk_prefix(upload_id)))
    for key in keys:
        store.delete(key)
    return len(keys)


def expire_stale(db: Session, store: ObjectStore, now: datetime | None = None) -> list[str]:
    """Expire unfinished uploads past their time: chunks deleted first, then the row marked.

    In that order a crash in between leaves the upload to the next run, so running this again is
    harmless; a PATCH still streaming into an upload past its time is refused when it commits.
    """
    now = now or utcnow()
    stale = db.scalars(
        select(Upload)
        .where(Upload.state == UploadState.RECEIVING, Upload.expires_at <= now)
        .order_by(Upload.expires_at)
        .with_for_update(skip_locked=True)
    ).all()
    for upload in stale:
        delete_chunks(store, upload.id)
        upload.state = UploadState.EXPIRED
        upload.detail = f"not finished within {EXPIRES_AFTER.total_seconds() / 3600:.0f} h; chunks deleted"
        upload.lock_token = upload.locked_until = None
        audit.record(
            db,
            action="upload_expired",
            resource_type="upload",
            resource_id=upload.id,
            detail={"uploader": upload.user.username, "offset": upload.offset, "length": upload.length},
        )
    return [upload.id for upload in stale]


# ---- the tus state machine's rules -------------------------------------------------------------------
#
# The HTTP door (`server.api.uploads`) speaks tus: it parses the headers, streams each PATCH body to a
# local spool and stores it as a chunk, and answers in headers. Whose upload it is, when it is gone,
# which case it attaches to, who may write to it now (a lease), and what a finished file becomes are
# decided here.

# DICOM, and the ECG formats (XML exports, WFDB zipped, SCP-ECG as octet-stream): see `imaging.ecg`.
ACCEPTED_FILETYPES = frozenset(
    {"", DICOM_MEDIA_TYPE, "application/octet-stream", "application/xml", "text/xml", "application/zip"}
)
# The ingest path parses a whole instance in memory, so the limit is STOW-RS's.
MAX_UPLOAD_BYTES = 1 << 30
LEASE = timedelta(seconds=120)
LOCKED_RETRY_SECONDS = 5
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
GONE_STATES = {
    UploadState.FAILED: "the upload failed: {detail}",
    UploadState.EXPIRED: "the upload expired before it was finished; start a new upload",
    UploadState.CANCELLED: "the upload was terminated; start a new upload",
}
ECG_RESULT_DETAIL = {
    "stored": "ECG stored in its case",
    "duplicate": "this ECG file was already stored in this case: nothing changed",
}
RESULT_DETAIL = {
    "stored": "stored and indexed",
    "duplicate": "this instance was already stored with the same bytes: nothing changed",
    "conflict": "an instance with this SOP Instance UID is stored with other bytes; this one was kept aside",
}


class UploadBusy(Busy):
    """Another request is writing to the upload now; `retry_after` says when to ask again."""


class LeaseLost(Conflict):
    """Another request took the upload over (this one stalled past its lease): it must write nothing."""

    def __init__(self) -> None:
        super().__init__("upload_changed", "another request took this upload over; ask with HEAD")


class ChunksInconsistent(Exception):
    """The stored chunks do not add up to the upload (a chunk missing or out of place)."""


@dataclass(frozen=True)
class NewUpload:
    """An upload to start, as its creation request declared it (`case_id` as sent, if sent)."""

    length: int
    sha256: str
    filename: str = ""
    filetype: str = ""
    case_id: str | None = None
    metadata_header: str = ""


@dataclass(frozen=True)
class UploadStatus:
    """An upload and the state it is in now (`expired` once past its time, even before the sweep)."""

    upload: Upload
    state: str


@dataclass(frozen=True)
class Window:
    """What one PATCH may write: from `offset` up to `length`, while it holds the lease `token`."""

    upload_id: str
    token: str
    offset: int
    length: int
    sha256: str
    expires_at: datetime
    finished_result: str | None = None  # set when the upload had already finished: nothing to write


def upload_filename(raw: str) -> str:
    """The file's own name: no folders (a Windows client may send them), no control characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255]


def past_expiry(upload: Upload, now: datetime) -> bool:
    return upload.state == UploadState.RECEIVING and upload.expires_at <= now


def _refuse_if_gone(upload: Upload, now: datetime) -> None:
    if past_expiry(upload, now):
        raise Gone("gone", GONE_STATES[UploadState.EXPIRED])
    if upload.state in GONE_STATES:
        raise Gone("gone", GONE_STATES[upload.state].format(detail=upload.detail))


def _patient_id(upload: Upload) -> int | None:
    return upload.case.patient_id if upload.case else None


def _own_upload(
    db: Session, actor: Actor, upload_id: str, asked: Mapping[str, Any], *, for_update: bool = False
) -> Upload:
    """The actor's upload `upload_id`. Another user's answers exactly as an unknown one does (404), and
    the refusal is audited with `asked` (how the request named it)."""
    upload = None
    if UPLOAD_ID.fullmatch(upload_id):
        upload = db.get(Upload, upload_id, with_for_update=for_update)
    if upload is None or upload.user_id != actor.person.id:
        if upload is not None:
            actor.audit(
                db,
                "access_denied",
                resource_type="upload",
                resource_id=upload_id,
                outcome=audit.DENIED,
                detail=dict(asked),
            )
        raise NotFound("not_found", "upload not found", keep_changes=True)
    return upload


def create_upload(db: Session, actor: Actor, clock: Clock, new: NewUpload) -> Upload:
    """Start an upload of the actor's institution (into one of its cases, if `case_id` is given)."""
    user = actor.person
    if user.institution_id is None:
        raise Invalid("no_institution", "your account belongs to no institution")
    if new.length == 0:
        raise Invalid("empty_upload", "an empty file is not a DICOM instance")
    if new.length > MAX_UPLOAD_BYTES:
        raise TooLarge("too_large", f"uploads are limited to {MAX_UPLOAD_BYTES} bytes (Tus-Max-Size)")
    if not SHA256_HEX.fullmatch(new.sha256):
        raise Invalid("sha256_required", "Upload-Metadata must carry sha256: the whole file's SHA-256 in hex")
    filetype = new.filetype.split(";")[0].strip().lower()
    if filetype not in ACCEPTED_FILETYPES:
        raise Unsupported(
            "unsupported_media_type",
            f"only DICOM and ECG files ({', '.join(sorted(ACCEPTED_FILETYPES - {''}))}) can be uploaded, not {filetype}",
        )
    case = None
    if new.case_id is not None:
        raw_case = new.case_id
        case = db.get(Case, int(raw_case)) if raw_case.isdigit() and len(raw_case) < 10 else None
        if case is None or case.institution_id != user.institution_id:
            raise not_found("case")
    now = clock.now()
    upload = Upload(
        id=secrets.token_urlsafe(24),
        user_id=user.id,
        institution_id=user.institution_id,
        case=case,
        filename=upload_filename(new.filename),
        filetype=filetype,
        metadata_header=new.metadata_header,
        length=new.length,
        offset=0,
        sha256=new.sha256.lower(),
        state=UploadState.RECEIVING,
        created_at=now,
        expires_at=now + EXPIRES_AFTER,
    )
    db.add(upload)
    actor.audit(
        db,
        "upload_created",
        resource_type="upload",
        resource_id=upload.id,
        patient_id=case.patient_id if case else None,
        detail={"filename": upload.filename, "length": new.length, "case_id": case.id if case else None},
    )
    return upload


def open_upload(db: Session, actor: Actor, clock: Clock, upload_id: str, asked: Mapping[str, Any]) -> Upload:
    """The actor's upload, while it may still be resumed or asked about (410 once gone)."""
    upload = _own_upload(db, actor, upload_id, asked)
    _refuse_if_gone(upload, clock.now())
    return upload


def read_upload(
    db: Session, actor: Actor, clock: Clock, upload_id: str, asked: Mapping[str, Any]
) -> UploadStatus:
    """The actor's upload and its state, gone or not."""
    upload = _own_upload(db, actor, upload_id, asked)
    state = UploadState.EXPIRED if past_expiry(upload, clock.now()) else upload.state
    return UploadStatus(upload, state.value)


def terminate_upload(db: Session, actor: Actor, upload_id: str, asked: Mapping[str, Any]) -> bool:
    """Terminate the actor's unfinished upload; True if it was (its chunks may then be deleted, once
    committed). A finished one is left as it is: what it stored is part of the clinical record."""
    upload = _own_upload(db, actor, upload_id, asked, for_update=True)
    if upload.state != UploadState.RECEIVING:
        return False
    upload.state = UploadState.CANCELLED
    upload.detail = "terminated by the uploader"
    upload.lock_token = upload.locked_until = None
    actor.audit(
        db,
        "upload_cancelled",
        resource_type="upload",
        resource_id=upload.id,
        patient_id=_patient_id(upload),
        detail={"offset": upload.offset, "length": upload.length},
    )
    return True


def begin_patch(
    db: Session,
    actor: Actor,
    clock: Clock,
    upload_id: str,
    asked: Mapping[str, Any],
    *,
    client_offset: int,
    declared: int | None,
    token: str,
) -> Window:
    """Take the lease for writing from `client_offset` (the upload's offset: else 409 with it), for at
    most the bytes still due; `UploadBusy` while another request holds the lease. A finished upload's
    window carries its result (a retried final PATCH whose answer was lost)."""
    upload = _own_upload(db, actor, upload_id, asked, for_update=True)
    now = clock.now()
    _refuse_if_gone(upload, now)
    if client_offset != upload.offset:
        raise Conflict(
            "offset_mismatch",
            f"the upload is at offset {upload.offset}, not {client_offset}; ask with HEAD and resume there",
            offset=upload.offset,
        )
    if declared is not None and declared > upload.length - upload.offset:
        raise TooLarge(
            "too_large", f"the body is longer than the {upload.length - upload.offset} bytes still due"
        )
    window = Window(upload.id, token, upload.offset, upload.length, upload.sha256, upload.expires_at)
    if upload.state == UploadState.COMPLETED:
        return replace(window, finished_result=upload.result or "")
    if upload.lock_token and upload.locked_until and upload.locked_until > now:
        # The holder usually finishes within seconds; its lease is only the bound for one that died.
        wait = min(LOCKED_RETRY_SECONDS, max(1, int((upload.locked_until - now).total_seconds()) + 1))
        raise UploadBusy(
            "locked", "another request is writing to this upload; try again shortly", retry_after=wait
        )
    upload.lock_token, upload.locked_until = token, now + LEASE
    return window


def hold_lease(db: Session, clock: Clock, window: Window, *, renew: bool) -> bool:
    """Renew or give up the lease; False if it is no longer this request's (taken over, or upload gone)."""
    upload = db.get(Upload, window.upload_id, with_for_update=True)
    if upload is None or upload.lock_token != window.token:
        return False
    now = clock.now()
    if renew and upload.state == UploadState.RECEIVING and not past_expiry(upload, now):
        upload.locked_until = now + LEASE
        return True
    upload.lock_token = upload.locked_until = None
    return not renew


def commit_chunk(db: Session, clock: Clock, window: Window, size: int) -> int | None:
    """Advance the offset past a stored chunk; None if the upload stopped being writable meanwhile
    (terminated or expired: nobody writes to it any more, so its chunk can go)."""
    upload = db.get(Upload, window.upload_id, with_for_update=True)
    if upload is None or upload.state != UploadState.RECEIVING or past_expiry(upload, clock.now()):
        return None
    if upload.lock_token != window.token or upload.offset != window.offset:
        raise LeaseLost()
    upload.offset += size
    if upload.offset < upload.length:  # free at once, so a HEAD that sees the new offset may resume there
        upload.lock_token = upload.locked_until = None
    return upload.offset


def assemble(store: ObjectStore, window: Window, whole: BinaryIO) -> str:
    """Copy the chunks, in order, into `whole`; returns the SHA-256 (hex) of what was copied."""
    digest, copied = hashlib.sha256(), 0
    for key in sorted(store.list(chunk_prefix(window.upload_id))):
        start = int(key.rsplit("/", 1)[1])
        if start != copied:
            raise ChunksInconsistent(f"chunk at byte {start} where byte {copied} was due")
        for piece in store.iter_chunks(key):
            whole.write(piece)
            digest.update(piece)
            copied += len(piece)
    if copied != window.length:
        raise ChunksInconsistent(f"{copied} bytes stored of {window.length}")
    return digest.hexdigest()


def finish_upload(
    db: Session,
    actor: Actor,
    clock: Clock,
    store: ObjectStore,
    window: Window,
    whole: BinaryIO,
    digest: str | None,
    problem: str,
) -> str:
    """Decide a finished upload: failed (`problem`, or the file's SHA-256 `digest` is not the declared
    one), else its file ingested, an ECG into the upload's case, anything else as a DICOM instance.
    Returns the result: failed, stored, duplicate, conflict or invalid."""
    upload = db.get(Upload, window.upload_id, with_for_update=True)
    if upload is None or upload.lock_token != window.token:
        raise LeaseLost()
    upload.completed_at = clock.now()
    upload.lock_token = upload.locked_until = None
    where: dict[str, Any] = {
        "resource_type": "upload",
        "resource_id": upload.id,
        "patient_id": _patient_id(upload),
    }
    if digest != upload.sha256:
        upload.state = UploadState.FAILED
        upload.detail = problem or (
            f"the file that arrived has SHA-256 {digest}, not {upload.sha256} as declared: "
            "it is not the file that was meant, so nothing was stored; upload the file again"
        )
        actor.audit(db, "upload_failed", outcome=audit.FAILED, detail={"reason": upload.detail}, **where)
        return "failed"
    upload.state = UploadState.COMPLETED
    whole.seek(0)
    data = whole.read()
    if ecg_format_of(data) is not None:  # an ECG (a DICOM waveform too) goes to the ECG path
        return _finish_ecg(db, actor, store, upload, data, where)
    try:
        with db.begin_nested():
            outcome = receive_instance(
                db,
                actor,
                store,
                data,
                institution_id=upload.institution_id,
                case=upload.case,
                via={"upload": upload.id},
            )
    except InvalidDicom as exc:
        upload.result, upload.detail = "invalid", f"not a usable DICOM instance: {exc}"
        actor.audit(
            db,
            "upload_failed",
            outcome=audit.FAILED,
            detail={"result": "invalid", "reason": str(exc)},
            **where,
        )
        return "invalid"
    upload.result, upload.detail = outcome.status, RESULT_DETAIL[outcome.status]
    upload.study_uid, upload.sop_uid = outcome.study_uid, outcome.sop_uid
    actor.audit(
        db, "upload_completed", detail={"result": outcome.status, "sop_uid": outcome.sop_uid}, **where
    )

    queue_previews(partial(enqueue, db), [outcome])
    return outcome.status


def _finish_ecg(
    db: Session, actor: Actor, store: ObjectStore, upload: Upload, data: bytes, where: dict[str, Any]
) -> str:
    """Ingest a finished ECG upload into its case; an ECG without a case cannot be placed."""
    problem = None
    outcome = None
    if upload.case is None:
        problem = "an ECG belongs to a case: start the upload with case_id in Upload-Metadata"
    else:
        try:
            with db.begin_nested():
                outcome = store_ecg(
                    db, actor, store, upload.case, data, filename=upload.filename, via={"upload": upload.id}
                )
        except InvalidEcg as exc:
            problem = f"not a usable ECG: {exc}"
    if outcome is None:
        upload.result, upload.detail = "invalid", problem
        actor.audit(
            db,
            "upload_failed",
            outcome=audit.FAILED,
            detail={"result": "invalid", "reason": problem},
            **where,
        )
        return "invalid"
    upload.result, upload.detail = outcome.status, ECG_RESULT_DETAIL[outcome.status]
    actor.audit(db, "upload_completed", detail={"result": outcome.status, "ecg": outcome.record_id}, **where)
    return outcome.status
