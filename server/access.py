"""The one place that decides who may see and do what.

Endpoints declare which roles may call them (`server.api.routing.Access`); for a patient record
they then ask `require_case`, whose answer comes from `case_scope`, the same SQL predicate that
filters every case list. A row check and a list can therefore never disagree.

An outside expert's share link is the other kind of caller: it reaches exactly one study, with the
link's scope, while it is neither expired nor revoked. Those rules are here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from server.auth.sessions import token_hash
from server.models import Case, DicomStudy, Institution, Role, ShareLink, ShareScope, User, utcnow
from server.workflow import Relation

# Roles that work with identified patient data (trainees and auditors never do).
CLINICAL_ROLES = frozenset({Role.REQUESTER, Role.READER, Role.DISPATCHER, Role.EXPERT, Role.ADMIN})


class AccessDenied(Exception):
    """The user may not touch this resource. Carries what the audit log needs."""

    def __init__(
        self,
        resource_type: str,
        resource_id: object,
        patient_id: int | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"access to {resource_type} {resource_id} denied")
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.patient_id = patient_id
        self.reason = reason  # shown to the caller instead of the generic refusal, when it helps them


def _community_institutions(user: User):  # type: ignore[no-untyped-def]
    return select(Institution.id).where(Institution.community_id == user.community_id)


def _equals(column: Any, value: int | None) -> ColumnElement[bool]:
    """`column = value`, never `IS NULL`: a user without a centre or institution matches nothing."""
    return false() if value is None else column == value


def relation_predicates(user: User) -> dict[Relation, ColumnElement[bool]]:
    """SQL predicates on `Case`, one per relation this user's role can hold to a case (see `server.workflow`)."""
    match user.role:
        case Role.REQUESTER:
            return {Relation.REQUESTER: _equals(Case.institution_id, user.institution_id)}
        case Role.READER:
            return {
                Relation.CENTRE_READER: _equals(Case.centre_id, user.centre_id),
                Relation.ASSIGNEE: Case.assigned_to_id == user.id,
            }
        case Role.DISPATCHER:
            return {Relation.CENTRE_DISPATCHER: _equals(Case.centre_id, user.centre_id)}
        case Role.EXPERT:
            return {
                Relation.ASSIGNEE: Case.assigned_to_id == user.id,
                Relation.ESCALATION_EXPERT: Case.escalated_to_id == user.id,
            }
        case Role.ADMIN:
            return {Relation.ADMIN: Case.institution_id.in_(_community_institutions(user))}
        case _:
            return {}


def case_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `Case`: the cases this user may see, i.e. those they stand in some relation to."""
    predicates = list(relation_predicates(user).values())
    return or_(*predicates) if predicates else false()


def case_relations(db: Session, user: User, case: Case) -> frozenset[Relation]:
    """The relations `user` holds to `case` now, from the same predicates that make `case_scope`."""
    predicates = relation_predicates(user)
    if not predicates:
        return frozenset()
    row = db.execute(
        select(*(predicate.label(relation.value) for relation, predicate in predicates.items())).where(
            Case.id == case.id
        )
    ).one()
    return frozenset(relation for relation in predicates if row._mapping[relation.value])


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


# Who may share a case's images with an outside expert: whoever works with the case's identified data.
SHARING_ROLES = CLINICAL_ROLES


def require_can_share(db: Session, user: User, case: Case) -> None:
    """Creating, listing and revoking a case's share links needs a clinical role and sight of the case."""
    if user.role not in SHARING_ROLES:
        raise AccessDenied("case", case.id, case.patient_id)
    require_case(db, user, case)


def share_link_for(db: Session, token: str) -> ShareLink | None:
    """The link a token names, usable or not (None if no link has this token)."""
    return db.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash(token)))


def share_link_refusal(link: ShareLink, now: datetime | None = None) -> Literal["revoked", "expired"] | None:
    """Why a link may no longer be used, or None while it may."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= (now or utcnow()):
        return "expired"
    return None


def shared_study_scope(link: ShareLink) -> ColumnElement[bool]:
    """SQL predicate on `DicomStudy` for a share link: its one study, while still attached to its case."""
    return and_(DicomStudy.id == link.study_id, DicomStudy.case_id == link.case_id)


def dicomweb_study_scope(user: User | None, link: ShareLink | None) -> ColumnElement[bool]:
    """The studies a DICOMweb request reaches: a share link's one study, else the signed-in user's."""
    if link is not None:
        return shared_study_scope(link)
    assert user is not None, "a DICOMweb request carries a user or a share link"
    return study_scope(user)


def require_share_scope(link: ShareLink, needed: ShareScope) -> None:
    """A share link reaches what its scope names: `read` views the study, `download` also takes originals."""
    if needed == ShareScope.DOWNLOAD and link.scope != ShareScope.DOWNLOAD:
        raise AccessDenied(
            "share_link",
            link.id,
            link.case.patient_id,
            reason="this share link allows viewing only; downloading the original files needs a download link",
        )


def billing_institutions(user: User) -> ColumnElement[bool]:
    """SQL predicate on `Institution`: whose fees and statements the user may see.

    The community administrator sees every member's; a member unit's doctors see their own unit's.
    """
    if user.role == Role.ADMIN:
        return _equals(Institution.community_id, user.community_id)
    if user.role == Role.REQUESTER:
        return _equals(Institution.id, user.institution_id)
    return false()
