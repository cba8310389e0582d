"""JSON shapes of domain objects, one function per object, shared by every endpoint."""

from __future__ import annotations

from typing import Any

from server.community.models import Institution, User
from server.patients.models import Patient


def institution_json(institution: Institution) -> dict[str, Any]:
    return {"id": institution.id, "name": institution.name, "tier": institution.tier.value}


def user_json(user: User) -> dict[str, Any]:
    institution = user.institution
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "institution": institution_json(institution) if institution else None,
        "community": (
            {"id": institution.community.id, "name": institution.community.name} if institution else None
        ),
        "centre": (
            {"id": user.centre.id, "name": user.centre.name, "kind": user.centre.kind.value}
            if user.centre
            else None
        ),
    }


def patient_json(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "name": patient.name,
        "sex": patient.sex,
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        "national_id_masked": patient.national_id_masked,
    }


def person_json(user: User | None) -> dict[str, Any] | None:
    """A colleague as cases and reports name them: enough to recognise, nothing more."""
    if user is None:
        return None
    return {"id": user.id, "display_name": user.display_name, "role": user.role.value}
