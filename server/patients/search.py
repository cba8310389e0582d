"""Finding a patient of one's own clinic, by the start of the name or the last digits of an identifier."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.core.clock import Clock
from server.core.errors import Invalid
from server.patients.models import Patient

MAX_PATIENTS = 50


def search_patients(db: Session, actor: Actor, clock: Clock, q: str) -> list[Patient]:
    """The caller's institution's patients whose name starts with, or whose ID or health card ends
    with, `q` (at most 50); the search and what it found are audited."""
    q = q.strip()
    if not q:
        raise Invalid("invalid_query", "give a name, or the last digits of the ID or health card, as q")
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    patients = list(
        db.scalars(
            select(Patient)
            .where(
                Patient.institution_id == actor.person.institution_id,
                or_(
                    Patient.name.like(f"{pattern}%", escape="\\"),
                    Patient.national_id.like(f"%{pattern}", escape="\\"),
                    Patient.health_card_no.like(f"%{pattern}", escape="\\"),
                ),
            )
            .order_by(Patient.name, Patient.id)
            .limit(MAX_PATIENTS)
        )
    )
    actor.audit(
        db,
        "patient_search",
        resource_type="patient",
        detail={"count": len(patients), "ids": [p.id for p in patients]},
    )
    return patients
