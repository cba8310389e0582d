"""The one place that decides who may see and do what.

Endpoints declare which roles may call them (`server.api.routing.Access`); for a patient record
they then ask `require_case`, whose answer comes from `case_scope`, the same SQL predicate that
filters every case list. A row check and a list can therefore never disagree.

An outside expert's share link is the other kind of caller: it reaches exactly one study, with the
link's scope, while it is neither expired nor revoked. Those rules are here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from server.auth.sessions import token_hash
from server.cases.models import Case
from server.cases.workflow import Relation
from server.community.models import Institution, Role, User
from server.core.orm import utcnow
from server.dicom.models import DicomStudy
from server.patients.models import IdentityResult
from server.referrals.lifecycle import Side
from server.referrals.models import (
    FollowUpEntry,
    IdentityCheck,
    Referral,
    ReferralDirection,
    ReferralOfficeMember,
)
from server.sharing.models import ShareLink, ShareScope
from server.teaching.models import (
    TeachingEcg,
    TeachingItem,
    TeachingItemState,
    TeachingMaterial,
    TeachingSlide,
)

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


def _community_institutions(user: User) -> Select[int]:
    return select(Institution.id).where(Institution.community_id == user.community_id)


def _equals(column: Any, value: int | None) -> ColumnElement[bool]:
    """`column = value`, never `IS NULL`: a user without a centre or institution matches nothing."""
    return false() if value is None else column == value


def relation_predicates(user: User) -> dict[Relation, ColumnElement[bool]]:
    """SQL predicates on `Case`, one per relation this user's role can hold to a case (see `server.cases.workflow`)."""
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
    """SQL predicate on `DicomStudy`: studies of cases the user may see, and a requester's own uploads.

    A referral's material is seen upstairs too, by whoever has confirmed the patient's identity for it
    within the last `server.patients.identity.CHECK_VALIDITY` (the referring side sees its own cases anyway).
    """
    visible_cases = select(Case.id).where(case_scope(user))
    by_case = or_(
        DicomStudy.case_id.in_(visible_cases), DicomStudy.case_id.in_(_checked_referral_cases(user))
    )
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


def share_link_refusal(
    link: ShareLink, now: datetime | None = None
) -> Literal["revoked", "expired", "withdrawn"] | None:
    """Why a link may no longer be used, or None while it may. A link dies with its creator's account,
    as their sessions do: whoever deactivates a departed colleague needs not hunt for their links."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= (now or utcnow()):
        return "expired"
    if not link.created_by.active:
        return "withdrawn"
    return None


def shared_study_scope(link: ShareLink) -> ColumnElement[bool]:
    """SQL predicate on `DicomStudy` for a share link: its one study, while still attached to its case."""
    return and_(DicomStudy.id == link.study_id, DicomStudy.case_id == link.case_id)


def dicomweb_study_scope(user: User | None, link: ShareLink | None) -> ColumnElement[bool]:
    """The studies a DICOMweb request reaches: a share link's one study; inside `teaching_library_reads`
    the teaching library's de-identified copies only; else the signed-in user's."""
    if link is not None:
        return shared_study_scope(link)
    assert user is not None, "a DICOMweb request carries a user or a share link"
    if _TEACHING_LIBRARY.get():
        return teaching_study_scope(user)
    return study_scope(user)


# ---- the teaching library (de-identified copies, trainees included) ------------------------------

_TEACHING_LIBRARY: ContextVar[bool] = ContextVar("teaching_library", default=False)


@contextmanager
def teaching_library_reads() -> Iterator[None]:
    """DICOMweb handlers called inside reach the teaching library's copies and nothing else: how
    `/api/teaching/dicomweb/...` re-mounts them (the handlers are those of `/dicomweb`)."""
    token = _TEACHING_LIBRARY.set(True)
    try:
        yield
    finally:
        _TEACHING_LIBRARY.reset(token)


def teaching_item_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `TeachingItem`: the items of the user's community; trainees see ready ones only."""
    if user.community_id is None or user.role == Role.AUDITOR:
        return false()
    own = TeachingItem.community_id == user.community_id
    if user.role == Role.TRAINEE:
        return and_(own, TeachingItem.state == TeachingItemState.READY)
    return own


def teaching_study_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `DicomStudy`: the de-identified copies linked to library items the user sees."""
    copies = (
        select(TeachingMaterial.copy_id)
        .join(TeachingItem, TeachingItem.id == TeachingMaterial.item_id)
        .where(TeachingMaterial.kind == "study", teaching_item_scope(user))
    )
    return DicomStudy.study_uid.in_(copies)


def teaching_slide_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `TeachingSlide`: slide copies of library items the user sees."""
    return TeachingSlide.item_id.in_(select(TeachingItem.id).where(teaching_item_scope(user)))


def teaching_ecg_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `TeachingEcg`: ECG copies of library items the user sees."""
    return TeachingEcg.item_id.in_(select(TeachingItem.id).where(teaching_item_scope(user)))


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


def _checked_referral_cases(user: User) -> Select[int]:
    """Source cases of the referrals this user may see and has a valid identity check for, now."""
    return (
        select(Referral.case_id)
        .join(IdentityCheck, IdentityCheck.referral_id == Referral.id)
        .where(
            IdentityCheck.user_id == user.id,
            IdentityCheck.result == IdentityResult.MATCHED,
            IdentityCheck.valid_until > utcnow(),
            referral_scope(user),
        )
    )


# Roles that treat patients, and so may send, receive and write for a referral of their institution.
DOCTOR_ROLES = frozenset({Role.REQUESTER, Role.READER, Role.EXPERT})


def referral_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `Referral`: those sent from or to the user's institution, or in the admin's community."""
    if user.role not in CLINICAL_ROLES:
        return false()
    own = or_(
        _equals(Referral.from_institution_id, user.institution_id),
        _equals(Referral.to_institution_id, user.institution_id),
    )
    if user.role == Role.ADMIN:
        return or_(own, Referral.from_institution_id.in_(_community_institutions(user)))
    return own


def referral_sides(db: Session, user: User, referral: Referral) -> frozenset[Side]:
    """The sides `user` stands on for `referral`: sending or receiving doctor, referral office, admin."""
    sides = set()
    if user.role in DOCTOR_ROLES and user.institution_id is not None:
        if user.institution_id == referral.from_institution_id:
            sides.add(Side.SENDER)
        if user.institution_id == referral.to_institution_id:
            sides.add(Side.RECEIVER)
    if user.role in CLINICAL_ROLES and is_office_member(db, user, referral.to_institution_id):
        sides.add(Side.OFFICE)
    if user.role == Role.ADMIN and referral.from_institution.community_id == user.community_id:
        sides.add(Side.ADMIN)
    return frozenset(sides)


def is_office_member(db: Session, user: User, institution_id: int) -> bool:
    """Whether the user staffs this institution's referral office (分级诊疗办公室)."""
    return (
        db.scalar(
            select(ReferralOfficeMember.id).where(
                ReferralOfficeMember.institution_id == institution_id, ReferralOfficeMember.user_id == user.id
            )
        )
        is not None
    )


def require_referral(db: Session, user: User, referral: Referral) -> None:
    if db.scalar(select(Referral.id).where(Referral.id == referral.id, referral_scope(user))) is None:
        raise AccessDenied("referral", referral.id, referral.patient_id)


def needs_identity_check(direction: ReferralDirection, sides: frozenset[Side]) -> bool:
    """Whether the user must confirm the patient's identity before opening the referral's record.

    The referring doctors know their patient, and so does the grassroots doctor a patient is referred
    back down to; everyone else (the upper hospital's doctors and office, administrators) must check.
    """
    if Side.SENDER in sides:
        return False
    return not (direction == ReferralDirection.DOWN and Side.RECEIVER in sides)


def follow_up_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `FollowUpEntry`: the grassroots doctor's own unit's list; the admin's community."""
    if user.role == Role.REQUESTER:
        return _equals(FollowUpEntry.institution_id, user.institution_id)
    if user.role == Role.ADMIN:
        return FollowUpEntry.institution_id.in_(_community_institutions(user))
    return false()
