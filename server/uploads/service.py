"""Resumable uploads' chunks in the object store, and the expiry of uploads left unfinished.

The tus protocol itself is the HTTP door's (`server.api.uploads`); what outlives a request — where a
chunk is kept, and the hourly expiry the worker runs (`uploads.expire_stale`) — is here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access import audit
from server.core.orm import utcnow
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
