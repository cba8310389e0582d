"""STOW-RS: a requester stores the instances of one request, optionally for one case of their institution.

The parts go through the one ingest path together (`server.dicom.ingest`) but are judged one by one: a
bad file never blocks the others. Each stored or refused part is audited; previews are queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.cases.models import Case
from server.community.models import User
from server.core.errors import Invalid, not_found
from server.core.tasks import enqueue
from server.dicom.ingest import IngestOutcome, IngestResult, InvalidDicom, ingest_instances, queue_previews
from server.dicom.receive import record_stored, refuse_instance
from server.storage import ObjectStore


def _target_case(db: Session, user: User, case_id: int | None) -> Case | None:
    """The case the instances are for, which must be of the requester's institution."""
    if case_id is None:
        return None
    case = db.get(Case, case_id)
    if case is None or case.institution_id != user.institution_id:
        raise not_found("case")
    return case


def store_instances(
    db: Session, actor: Actor, store: ObjectStore, parts: Sequence[bytes], case_id: int | None = None
) -> list[IngestResult]:
    """Ingest the DICOM files `parts` for the actor's institution (and the case `case_id`, if given):
    one result per part, in order (an outcome, or why that part was refused)."""
    user = actor.person
    if user.institution_id is None:
        raise Invalid("no_institution", "your account belongs to no institution")
    case = _target_case(db, user, case_id)
    results = ingest_instances(db, store, parts, institution_id=user.institution_id, user=user, case=case)
    outcomes: list[IngestOutcome] = []
    for index, result in enumerate(results):
        if isinstance(result, InvalidDicom):
            refuse_instance(db, actor, str(result), via={"part": index + 1})
        elif isinstance(result, IngestOutcome):
            outcomes.append(result)
            record_stored(db, actor, result, case, via={})
    queue_previews(partial(enqueue, db), outcomes)
    return results
