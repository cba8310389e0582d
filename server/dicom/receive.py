"""One DICOM instance received by any door (C-STORE, a finished resumable upload): ingested and audited.

Both doors call `receive_instance`, so an instance is stored, indexed and recorded in the audit trail
the same way whichever way it came; `via` says how (the calling AE, the upload). Previews are queued by
the caller: the DIMSE door once the association closes (a series' thumbnail from the whole series),
the upload as soon as the instance is committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from server.access import audit
from server.access.actor import Actor
from server.cases.models import Case
from server.dicom.ingest import IngestOutcome, ingest_instance
from server.storage import ObjectStore


def receive_instance(
    db: Session,
    actor: Actor,
    store: ObjectStore,
    data: bytes,
    *,
    institution_id: int,
    case: Case | None = None,
    via: Mapping[str, Any],
) -> IngestOutcome:
    """Validate, store and index one instance of `institution_id` (and `case`), and audit it.

    Raises `InvalidDicom` (nothing stored) for bad input and `IndexingConflict` when concurrent
    uploads kept it from being indexed; the object store's and the database's errors pass through.
    """
    outcome = ingest_instance(db, store, data, institution_id=institution_id, user=actor.user, case=case)
    record_stored(db, actor, outcome, case, via=via)
    return outcome


def record_stored(
    db: Session, actor: Actor, outcome: IngestOutcome, case: Case | None, *, via: Mapping[str, Any]
) -> None:
    """Record a stored (or already stored) instance in the audit trail, with the door's `via` detail."""
    actor.audit(
        db,
        "dicom_store",
        resource_type="dicom_instance",
        resource_id=outcome.sop_uid,
        patient_id=case.patient_id if case else None,
        detail={**via, "status": outcome.status, "study": outcome.study_uid},
    )


def refuse_instance(db: Session, actor: Actor, reason: str, *, via: Mapping[str, Any]) -> None:
    """Record an instance that was not a usable DICOM data set (nothing was stored)."""
    actor.audit(db, "dicom_store", outcome=audit.FAILED, detail={**via, "reason": reason})
