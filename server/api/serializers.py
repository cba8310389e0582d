"""JSON shapes of domain objects, one function per object, shared by every endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.cases.models import Case, CaseEvent, Notification, Report
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


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def person_json(user: User | None) -> dict[str, Any] | None:
    """A colleague as cases and reports name them: enough to recognise, nothing more."""
    if user is None:
        return None
    return {"id": user.id, "display_name": user.display_name, "role": user.role.value}


def case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "kind": case.kind.value,
        "status": case.status.value,
        "urgency": case.urgency.value,
        "clinical_question": case.clinical_question,
        "patient": patient_json(case.patient),
        "institution": {"id": case.institution.id, "name": case.institution.name},
        "centre": {"id": case.centre.id, "name": case.centre.name} if case.centre else None,
        "assigned_to": person_json(case.assigned_to),
        "escalated_to": person_json(case.escalated_to),
        "overdue": case.overdue_at is not None,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "submitted_at": _time(case.submitted_at),
        "target_at": _time(case.target_at),
        "claimed_at": _time(case.claimed_at),
        "reported_at": _time(case.reported_at),
        "closed_at": _time(case.closed_at),
        "overdue_at": _time(case.overdue_at),
    }


def case_event_json(event: CaseEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "case_id": event.case_id,
        "action": event.action,
        "from_status": event.from_status.value,
        "to_status": event.to_status.value,
        "actor": person_json(event.actor),
        "at": event.at.isoformat(),
        "note": event.note,
        "detail": event.detail,
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "version": report.version,
        "status": report.status.value,
        "content": report.content,
        "author": person_json(report.author),
        "signed_by": person_json(report.signed_by),
        "signed_at": _time(report.signed_at),
        "signed_institution": (
            institution_json(report.signed_institution) if report.signed_institution else None
        ),
        "amendment_reason": report.amendment_reason,
        "created_at": report.created_at.isoformat(),
    }


def notification_json(notification: Notification) -> dict[str, Any]:
    case = notification.case
    return {
        "id": notification.id,
        "kind": notification.kind.value,
        "case": {"id": case.id, "kind": case.kind.value, "status": case.status.value},
        "for_centre": notification.recipient_centre_id is not None,
        "created_at": notification.created_at.isoformat(),
        "read_at": _time(notification.read_at),
    }
