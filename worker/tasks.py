"""Background tasks. Each is idempotent: running it twice leaves the same state as running it once."""

from __future__ import annotations

import hashlib

from server.models import StoredFile, utcnow
from server.storage import ObjectNotFound
from worker import resources
from worker.app import celery_app
from worker.base import RecordedTask


@celery_app.task(base=RecordedTask, bind=True, name="storage.verify_stored_file")
def verify_stored_file(self: RecordedTask, file_id: int) -> dict[str, object]:
    """Re-read a stored object and compare its size and SHA-256 with what was recorded at upload."""
    with resources.session_factory()() as db, db.begin():
        stored = db.get(StoredFile, file_id)
        if stored is None:
            return {"file_id": file_id, "status": "unknown_file"}
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in resources.store().iter_chunks(stored.object_key):
                digest.update(chunk)
                size += len(chunk)
        except ObjectNotFound:
            stored.integrity_error = "object missing from the store"
        else:
            if size != stored.size or digest.hexdigest() != stored.sha256:
                stored.integrity_error = f"stored object differs: size {size} (expected {stored.size}), sha256 {digest.hexdigest()}"
            else:
                stored.integrity_error = None
        stored.verified_at = utcnow()
        status = "ok" if stored.integrity_error is None else "corrupt"
        return {"file_id": file_id, "status": status}
