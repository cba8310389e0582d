"""Contracts of two-way referral, the referral office and the follow-up list (server/api/referrals.py,
referral_office.py, follow_up.py): request bodies as the handlers read them, answers as the web UI
(web/src/apis/referrals.ts) and the tests read them.

Body fields are typed as `body_field` checked them: integers are JSON integers within the database's
range, texts are JSON strings, dates are "YYYY-MM-DD" strings; whether a text may be blank is the
domain's rule (`server.referrals.service.letter_text`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ConfigDict, Field, StrictStr, field_validator

from server.api.schemas.cases import ReportOut
from server.api.schemas.common import Contract, Timestamp
from server.api.schemas.directory import Int32, IsoDate, PatientSummary, Person
from server.cases.models import CaseKind
from server.community.models import Institution, Tier, User
from server.patients.models import IdentityDocument, IdentityResult
from server.referrals import follow_up, office, service
from server.referrals.lifecycle import TRIAGE_MEANINGS, Action, Side
from server.referrals.models import (
    OfficeDuty,
    ReferralDirection,
    ReferralEvent,
    ReferralNote,
    ReferralNoteKind,
    ReferralOfficeMember,
    ReferralSlot,
    ReferralState,
    SlotKind,
    TriageColour,
)

# --- request bodies ---------------------------------------------------------------------------------


class ReferralUpIn(Contract):
    """The letter (转诊单) sent up with a case: `reason` and `diagnosis` must not be blank."""

    case_id: Int32
    to_institution_id: Int32
    reason: StrictStr
    diagnosis: StrictStr
    history: StrictStr | None = None
    treatment: StrictStr | None = None


class IdentityCheckIn(Contract):
    document: IdentityDocument
    number: StrictStr


class ReferralStepIn(Contract):
    """What may come with a step: `slot_id` to book, `reason` to decline (required), `note` otherwise."""

    note: StrictStr | None = None
    reason: StrictStr | None = None
    slot_id: Int32 | None = None


class ReferralNoteIn(Contract):
    kind: ReferralNoteKind
    text: StrictStr


class FollowUpPlanIn(Contract):
    plan: StrictStr
    due_dates: list[IsoDate] | None = None
    colour: TriageColour | None = None  # green unless said

    @field_validator("colour", mode="before")
    @classmethod
    def _blank_is_unsaid(cls, value: object) -> object:
        return None if value == "" else value


class ReferralDownIn(Contract):
    """A discharge summary and the plan the grassroots doctor follows."""

    diagnosis: StrictStr
    discharge_summary: StrictStr
    reason: StrictStr | None = None
    follow_up: FollowUpPlanIn


class SlotIn(Contract):
    institution_id: Int32
    day: IsoDate
    kind: SlotKind
    capacity: Int32
    department: StrictStr | None = None


class QuotaIn(Contract):
    reserved_share_bp: Int32  # basis points: 3000 = 30%


class OfficeMemberIn(Contract):
    user_id: Int32
    duty: OfficeDuty | None = None  # staff unless said


class ColourChangeIn(Contract):
    colour: TriageColour
    reason: StrictStr


# --- answers ----------------------------------------------------------------------------------------


class TieredInstitution(Contract):
    id: int
    name: str
    tier: Tier

    @classmethod
    def of(cls, institution: Institution) -> TieredInstitution:
        return cls.model_validate(institution)


def person(user: User | None) -> Person | None:
    """A colleague, enough to recognise (the directory's contract)."""
    return None if user is None else Person.model_validate(user)


class Slot(Contract):
    id: int
    institution_id: int
    day: date
    kind: SlotKind
    department: str
    capacity: int
    reserved: int
    booked: int
    available: int  # what is left of the grassroots reserve

    @classmethod
    def of(cls, slot: ReferralSlot) -> Slot:
        return cls.model_validate(office.slot_facts(slot))


class MaskedPatient(Contract):
    name_masked: str
    sex: str | None


class _ReferralFacts(Contract):
    id: int
    direction: ReferralDirection
    state: ReferralState
    parent_id: int | None
    from_institution: TieredInstitution
    to_institution: TieredInstitution
    priority: list[str]  # 两免三优先 codes
    slot: Slot | None
    decline_reason: str | None
    created_by: Person | None
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    sides: list[Side]
    actions: list[Action]  # what this user may do now
    identity_check_required: bool  # open the record only after confirming the patient's identity


def _facts(summary: service.ReferralSummary) -> dict[str, Any]:
    referral = summary.referral
    return {
        "id": referral.id,
        "direction": referral.direction,
        "state": referral.state,
        "parent_id": referral.parent_id,
        "from_institution": TieredInstitution.of(referral.from_institution),
        "to_institution": TieredInstitution.of(referral.to_institution),
        "priority": referral.priority,
        "slot": Slot.of(referral.slot) if referral.slot else None,
        "decline_reason": referral.decline_reason,
        "created_by": person(referral.created_by),
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "closed_at": referral.closed_at,
        "sides": sorted(summary.sides),
        "actions": summary.actions,
        "identity_check_required": summary.identity_check_required,
    }


class ReferralSummary(_ReferralFacts):
    """What anyone who may see the referral sees: the patient's name masked, no record."""

    patient: MaskedPatient

    @classmethod
    def of(cls, summary: service.ReferralSummary) -> ReferralSummary:
        patient = summary.referral.patient
        return cls(
            **_facts(summary),
            patient=MaskedPatient(name_masked=service.masked_name(patient.name), sex=patient.sex),
        )


class ReferralList(Contract):
    items: list[ReferralSummary]


class RecordPatient(Contract):
    id: int
    name: str
    sex: str | None
    birth_date: date | None
    national_id: str | None
    health_card_no: str | None


class Letter(Contract):
    reason: str
    diagnosis: str
    history: str
    treatment: str


class MaterialCase(Contract):
    id: int
    kind: CaseKind
    clinical_question: str


class MaterialStudy(Contract):
    study_uid: str
    study_date: str | None
    description: str | None
    modalities: list[str]


class ReferralMaterial(Contract):
    """What the source case carries: its studies and its latest signed report."""

    case: MaterialCase
    studies: list[MaterialStudy]
    report: ReportOut | None


class ReferralNoteItem(Contract):
    id: int
    kind: ReferralNoteKind
    text: str
    author: Person | None
    created_at: Timestamp

    @classmethod
    def of(cls, note: ReferralNote) -> ReferralNoteItem:
        return cls(
            id=note.id,
            kind=note.kind,
            text=note.text,
            author=person(note.author),
            created_at=note.created_at,
        )


class ReferralEventItem(Contract):
    action: str
    from_state: ReferralState | None
    to_state: ReferralState
    actor: Person | None
    at: Timestamp
    note: str

    @classmethod
    def of(cls, event: ReferralEvent) -> ReferralEventItem:
        return cls(
            action=event.action,
            from_state=event.from_state,
            to_state=event.to_state,
            actor=person(event.actor),
            at=event.at,
            note=event.note,
        )


class ReferralRecord(_ReferralFacts):
    """The whole referral: summary, letter, identifiers, material, notes and history."""

    identity_checked_until: Timestamp | None
    patient: RecordPatient
    letter: Letter
    material: ReferralMaterial
    discharge_summary: str
    follow_up_plan: dict[str, Any]  # a referral down's plan (plan, due_dates, colour); {} going up
    down_referral_id: int | None
    notes: list[ReferralNoteItem]
    events: list[ReferralEventItem]

    @classmethod
    def of(cls, record: service.ReferralRecord) -> ReferralRecord:
        referral = record.summary.referral
        case = record.case
        return cls(
            **_facts(record.summary),
            identity_checked_until=record.checked_until,
            patient=RecordPatient.model_validate(referral.patient),
            letter=Letter.model_validate(referral),
            material=ReferralMaterial(
                case=MaterialCase.model_validate(case),
                studies=[
                    MaterialStudy(
                        study_uid=m.study.study_uid,
                        study_date=m.study.study_date,
                        description=m.study.description,
                        modalities=m.modalities,
                    )
                    for m in record.studies
                ],
                report=ReportOut.model_validate(record.report) if record.report else None,
            ),
            discharge_summary=referral.discharge_summary,
            follow_up_plan=referral.follow_up_plan,
            down_referral_id=record.down_referral_id,
            notes=[ReferralNoteItem.of(n) for n in record.notes],
            events=[ReferralEventItem.of(e) for e in record.events],
        )


class IdentityCheckResult(Contract):
    result: IdentityResult
    document: IdentityDocument
    valid_until: Timestamp | None


class NoteCreated(Contract):
    id: int
    kind: ReferralNoteKind
    created_at: Timestamp


class SlotList(Contract):
    institution_id: int
    reserved_share_bp: int
    items: list[Slot]

    @classmethod
    def of(cls, listed: office.SlotList) -> SlotList:
        return cls(
            institution_id=listed.institution_id,
            reserved_share_bp=listed.reserved_share_bp,
            items=[Slot.of(s) for s in listed.slots],
        )


class Quota(Contract):
    institution_id: int
    reserved_share_bp: int


class OfficeMember(Person):
    duty: OfficeDuty

    @classmethod
    def of(cls, member: ReferralOfficeMember) -> OfficeMember:
        user = member.user
        return cls(id=user.id, display_name=user.display_name, role=user.role, duty=member.duty)


class OfficeList(Contract):
    institution_id: int
    items: list[OfficeMember]


# --- follow-up ----------------------------------------------------------------------------------------


class ColourMeaning(Contract):
    code: TriageColour
    meaning_zh: str
    meaning_en: str

    @classmethod
    def of(cls, colour: TriageColour) -> ColourMeaning:
        zh, en = TRIAGE_MEANINGS[colour]
        return cls(code=colour, meaning_zh=zh, meaning_en=en)


class FollowUpReferral(Contract):
    id: int
    from_institution: TieredInstitution
    diagnosis: str
    discharge_summary: str


class ColourChange(Contract):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    from_: TriageColour | None = Field(alias="from")
    to: TriageColour
    reason: str
    by: Person | None
    at: Timestamp


class FollowUpEntry(Contract):
    id: int
    patient: PatientSummary
    colour: ColourMeaning
    plan: str
    due_dates: list[str]
    next_due: str | None
    referral: FollowUpReferral
    created_at: Timestamp
    closed_at: Timestamp | None

    @staticmethod
    def _fields(shown: follow_up.FollowUp) -> dict[str, Any]:
        entry = shown.entry
        referral = entry.referral
        return {
            "id": entry.id,
            "patient": PatientSummary.model_validate(entry.patient),
            "colour": ColourMeaning.of(entry.colour),
            "plan": entry.plan,
            "due_dates": entry.due_dates,
            "next_due": shown.next_due,
            "referral": FollowUpReferral(
                id=referral.id,
                from_institution=TieredInstitution.of(referral.from_institution),
                diagnosis=referral.diagnosis,
                discharge_summary=referral.discharge_summary,
            ),
            "created_at": entry.created_at,
            "closed_at": entry.closed_at,
        }

    @classmethod
    def of(cls, shown: follow_up.FollowUp) -> FollowUpEntry:
        return cls(**cls._fields(shown))


class FollowUpDetail(FollowUpEntry):
    """An entry with every change of its colour (the first is the colour it started with)."""

    colour_history: list[ColourChange]

    @classmethod
    def of(cls, shown: follow_up.FollowUp) -> FollowUpDetail:
        history = [
            ColourChange.model_validate(
                {
                    "from": c.from_colour,
                    "to": c.to_colour,
                    "reason": c.reason,
                    "by": person(c.changed_by),
                    "at": c.at,
                }
            )
            for c in shown.entry.colour_changes
        ]
        return cls(**cls._fields(shown), colour_history=history)


class FollowUpList(Contract):
    items: list[FollowUpEntry]
    colours: list[ColourMeaning]
