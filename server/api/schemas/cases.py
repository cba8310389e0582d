"""The contracts of the case endpoints: cases and their steps, reports, notifications, worklists.

Request bodies are checked as `server.api.routing.body_field` always checked them: an integer is a
JSON integer within 32 bits (never a boolean or a string of digits), a text is a JSON string; a
missing or null optional field is absent. Answers keep the JSON the web UI reads, key for key.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr, field_validator

from server.api.routing import MAX_INT
from server.api.schemas.common import Contract, Timestamp
from server.cases.models import (
    Case,
    CaseKind,
    CaseStatus,
    Notification,
    NotificationKind,
    ReportStatus,
    Urgency,
)
from server.cases.reports import Field as TemplateFieldSpec
from server.cases.service import CaseView, NewCase, NewPatient, Step
from server.cases.workflow import Action
from server.cases.worklist import Sort, WorklistEntry
from server.community.models import Role, Tier

Int32 = Annotated[StrictInt, Field(ge=-MAX_INT, le=MAX_INT)]


# ---- request bodies ----------------------------------------------------------------------------------


class NewPatientBody(BaseModel):
    """A patient registered with the case at the requester's institution."""

    name: StrictStr
    sex: Literal["M", "F", "O"] | None = None
    birth_date: date | None = Field(default=None, description="YYYY-MM-DD")
    national_id: StrictStr | None = None
    health_card_no: StrictStr | None = None

    @field_validator("birth_date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError("patient.birth_date must be YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("patient.birth_date must be YYYY-MM-DD") from None

    def domain(self) -> NewPatient:
        return NewPatient(self.name, self.sex, self.birth_date, self.national_id, self.health_card_no)


class CreateCaseBody(BaseModel):
    """A new draft case: for an existing patient of the institution (`patient_id`) or a new `patient`."""

    patient_id: Int32 | None = None
    patient: NewPatientBody | None = None
    kind: CaseKind
    urgency: Urgency | None = None
    clinical_question: StrictStr | None = None

    def domain(self) -> NewCase:
        return NewCase(
            kind=self.kind,
            urgency=self.urgency or Urgency.ROUTINE,
            clinical_question=self.clinical_question or "",
            patient_id=self.patient_id,
            patient=self.patient.domain() if self.patient else None,
        )


class CaseActionBody(BaseModel):
    """What an action reads: `note` (required to return or answer), `expert` (submit to a named expert,
    escalate), `assignee` (assign), `reason` and `content` (amend)."""

    note: StrictStr | None = None
    expert: Int32 | None = None
    assignee: Int32 | None = None
    reason: StrictStr | None = None
    content: dict[str, Any] | None = None


class ReportDraftBody(BaseModel):
    """A report draft's content, keyed by the fields of the case kind's template."""

    content: dict[str, Any]


# ---- answers -----------------------------------------------------------------------------------------


class StaffMember(Contract):
    """A colleague as cases and reports name them: enough to recognise, nothing more."""

    id: int
    display_name: str
    role: Role


class CasePatient(Contract):
    id: int
    name: str
    sex: str | None
    birth_date: date | None
    national_id_masked: str


class CaseInstitution(Contract):
    id: int
    name: str


class CaseCentre(Contract):
    id: int
    name: str


class CaseSummary(Contract):
    """A case as lists show it."""

    id: int
    kind: CaseKind
    status: CaseStatus
    urgency: Urgency
    clinical_question: str
    patient: CasePatient
    institution: CaseInstitution
    centre: CaseCentre | None
    assigned_to: StaffMember | None
    escalated_to: StaffMember | None
    overdue: bool
    created_at: Timestamp
    updated_at: Timestamp
    submitted_at: Timestamp | None
    target_at: Timestamp | None
    claimed_at: Timestamp | None
    reported_at: Timestamp | None
    closed_at: Timestamp | None
    overdue_at: Timestamp | None

    @staticmethod
    def fields_of(case: Case) -> dict[str, Any]:
        return {
            "id": case.id,
            "kind": case.kind,
            "status": case.status,
            "urgency": case.urgency,
            "clinical_question": case.clinical_question,
            "patient": CasePatient.model_validate(case.patient),
            "institution": CaseInstitution.model_validate(case.institution),
            "centre": CaseCentre.model_validate(case.centre) if case.centre else None,
            "assigned_to": StaffMember.model_validate(case.assigned_to) if case.assigned_to else None,
            "escalated_to": StaffMember.model_validate(case.escalated_to) if case.escalated_to else None,
            "overdue": case.overdue_at is not None,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "submitted_at": case.submitted_at,
            "target_at": case.target_at,
            "claimed_at": case.claimed_at,
            "reported_at": case.reported_at,
            "closed_at": case.closed_at,
            "overdue_at": case.overdue_at,
        }

    @classmethod
    def of(cls, case: Case) -> CaseSummary:
        return cls(**cls.fields_of(case))


class CaseDetail(CaseSummary):
    """A case with what the caller may do with it now (the UI's buttons)."""

    actions: list[Action]

    @classmethod
    def of_view(cls, view: CaseView) -> CaseDetail:
        return cls(**cls.fields_of(view.case), actions=view.actions)


class CaseList(BaseModel):
    items: list[CaseSummary]


class CaseEventOut(Contract):
    """One step of a case's lifecycle (`actor` null: the platform itself)."""

    id: int
    case_id: int
    action: str
    from_status: CaseStatus
    to_status: CaseStatus
    actor: StaffMember | None
    at: Timestamp
    note: str
    detail: dict[str, Any]


class CaseEventList(BaseModel):
    items: list[CaseEventOut]


class CaseActionResult(BaseModel):
    """The case after the action, and the events it wrote (its own, then the routing's)."""

    case: CaseDetail
    events: list[CaseEventOut]

    @classmethod
    def of(cls, step: Step) -> CaseActionResult:
        return cls(
            case=CaseDetail.of_view(CaseView(step.case, step.actions)),
            events=[CaseEventOut.model_validate(event) for event in step.events],
        )


class SigningInstitution(Contract):
    id: int
    name: str
    tier: Tier


class ReportOut(Contract):
    """One report version; signed ones never change."""

    id: int
    version: int
    status: ReportStatus
    content: dict[str, Any]
    author: StaffMember | None
    signed_by: StaffMember | None
    signed_at: Timestamp | None
    signed_institution: SigningInstitution | None
    amendment_reason: str | None
    created_at: Timestamp


class ReportList(BaseModel):
    items: list[ReportOut]


class ReportTemplateField(Contract):
    key: str
    label_zh: str
    label_en: str
    type: Literal["text", "number"]
    required: bool


class ReportTemplate(BaseModel):
    kind: CaseKind
    fields: list[ReportTemplateField]

    @classmethod
    def of(cls, kind: CaseKind, fields: tuple[TemplateFieldSpec, ...]) -> ReportTemplate:
        return cls(kind=kind, fields=[ReportTemplateField.model_validate(f) for f in fields])


class NotificationCase(Contract):
    id: int
    kind: CaseKind
    status: CaseStatus


class NotificationOut(BaseModel):
    """A message about one case, to the caller (`for_centre` false) or to their reading centre."""

    id: int
    kind: NotificationKind
    case: NotificationCase
    for_centre: bool
    created_at: Timestamp
    read_at: Timestamp | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        return cls(
            id=notification.id,
            kind=notification.kind,
            case=NotificationCase.model_validate(notification.case),
            for_centre=notification.recipient_centre_id is not None,
            created_at=notification.created_at,
            read_at=notification.read_at,
        )


class NotificationList(BaseModel):
    items: list[NotificationOut]


class WorklistItem(CaseSummary):
    """A case on a worklist, with how long it has waited since (re)submission while still open."""

    waiting_seconds: int | None

    @classmethod
    def of_entry(cls, entry: WorklistEntry) -> WorklistItem:
        return cls(**cls.fields_of(entry.case), waiting_seconds=entry.waiting_seconds)


class Worklist(BaseModel):
    items: list[WorklistItem]
    sort: Sort


class StreamCaseState(BaseModel):
    status: CaseStatus
    kind: CaseKind
    urgency: Urgency
    overdue: bool


class WorklistStreamEvent(BaseModel):
    """The data of one `event: case` of `GET /api/worklist/stream` (no patient data: reload the worklist)."""

    event_id: int
    case_id: int
    action: str
    from_status: CaseStatus
    to_status: CaseStatus
    at: Timestamp
    case: StreamCaseState
