"""The one place that decides who may see and do what.

Endpoints declare which roles may call them (`server.api.routing.Access`); for a patient record
they then ask `require_case`, whose answer comes from `case_scope`, the same SQL predicate that
filters every case list. A row check and a list can therefore never disagree.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from server.models import Case, DicomStudy, Institution, Role, User

# Roles that work with identified patient data (trainees and auditors never do).
CLINICAL_ROLES = frozenset({Role.REQUESTER, Role.READER, Role.DISPATCHER, Role.EXPERT, Role.ADMIN})


class AccessDenied(Exception):
    """The user may not touch this resource. Carries what the audit log needs."""

    def __init__(self, resource_type: str, resource_id: object, patient_id: int | None = None) -> None:
        super().__init__(f"access to {resource_type} {resource_id} denied")
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.patient_id = patient_id


def _community_institutions(user: User):  # type: ignore[no-untyped-def]
    return select(Institution.id).where(Institution.community_id == user.community_id)


def case_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `Case`: the cases this user may see."""
    match user.role:
        case Role.REQUESTER:
            return Case.institution_id == user.institution_id
        case Role.READER:
            return or_(Case.assigned_to_id == user.id, Case.centre_id == user.centre_id)
        case Role.DISPATCHER:
            return Case.centre_id == user.centre_id
        case Role.EXPERT:
            return Case.assigned_to_id == user.id
        case Role.ADMIN:
            return Case.institution_id.in_(_community_institutions(user))
        case _:
            return false()


def can_see_case(db: Session, user: User, case: Case) -> bool:
    return db.scalar(select(Case.id).where(Case.id == case.id, case_scope(user))) is not None


def require_case(db: Session, user: User, case: Case) -> None:
    if not can_see_case(db, user, case):
        raise AccessDenied("case", case.id, case.patient_id)


def study_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `DicomStudy`: studies of cases the user may see, and a requester's own uploads."""
    visible_cases = select(Case.id).where(case_scope(user))
    by_case = DicomStudy.case_id.in_(visible_cases)
    if user.role == Role.REQUESTER:
        return or_(by_case, DicomStudy.institution_id == user.institution_id)
    if user.role == Role.ADMIN:
        return or_(by_case, DicomStudy.institution_id.in_(_community_institutions(user)))
    return by_case
