"""The demo community's two-way referrals: the county hospital's referral office, a week of its slots,
one referral up being booked, and one patient referred back down onto the village doctor's follow-up list."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from server.billing.rules import BOOKS_TIMEZONE
from server.cases.models import Case, CaseKind, CaseStatus
from server.community.models import Institution, User
from server.patients.models import Patient
from server.referrals.lifecycle import (
    DEFAULT_RESERVED_SHARE_BP,
    DISCHARGE_TRIAGE_REASON,
    TWO_FREE_THREE_PRIORITY,
    reserved_slots,
)
from server.referrals.models import (
    FollowUpColourChange,
    FollowUpEntry,
    OfficeDuty,
    Referral,
    ReferralDirection,
    ReferralEvent,
    ReferralOfficeMember,
    ReferralSlot,
    ReferralState,
    SlotKind,
    TriageColour,
)

# kind, department, capacity per day
WEEKLY_SLOTS = [
    (SlotKind.OUTPATIENT, "心内科", 20),
    (SlotKind.OUTPATIENT, "内分泌科", 10),
    (SlotKind.CT, "", 12),
    (SlotKind.MRI, "", 6),
    (SlotKind.ULTRASOUND, "", 10),
]


def _slot(county: Institution, day: date, kind: SlotKind, department: str, capacity: int, at: datetime):
    return ReferralSlot(
        institution=county,
        day=day,
        kind=kind,
        department=department,
        capacity=capacity,
        reserved=reserved_slots(capacity, DEFAULT_RESERVED_SHARE_BP),
        booked=0,
        published_at=at,
    )


def _history(
    referral: Referral, steps: list[tuple[str, ReferralState | None, ReferralState, User, datetime]]
):
    return [
        ReferralEvent(referral=referral, action=a, from_state=f, to_state=t, actor_id=u.id, at=at)
        for a, f, t, u, at in steps
    ]


def load_referrals(
    db: Session, institutions: dict[str, Institution], users: dict[str, User], li_guoqiang_case: Case
) -> None:
    county, village = institutions["county"], institutions["qingshan_village"]
    doctor, office, specialist = users["village"], users["referral"], users["internist"]
    now = datetime.now(BOOKS_TIMEZONE)
    today = now.date()
    db.add(ReferralOfficeMember(institution=county, user=office, duty=OfficeDuty.HEAD, added_at=now))
    week = [
        _slot(county, today + timedelta(days=d), kind, dept, cap, now)
        for d in range(7)
        for kind, dept, cap in WEEKLY_SLOTS
    ]
    db.add_all(week)

    # Up, in progress: 李国强's chest tightness, booked into tomorrow's cardiology clinic.
    tomorrow_cardiology = week[len(WEEKLY_SLOTS)]
    tomorrow_cardiology.booked = 1
    sent = now - timedelta(hours=20)
    up = Referral(
        direction=ReferralDirection.UP,
        state=ReferralState.BOOKED,
        case=li_guoqiang_case,
        patient=li_guoqiang_case.patient,
        from_institution=village,
        to_institution=county,
        created_by=doctor,
        created_at=sent,
        updated_at=sent + timedelta(hours=2),
        reason="反复胸闷一周，今日加重，村卫生室心电图提示ST段改变，需上级医院明确诊断",
        diagnosis="胸闷待查：冠心病？",
        history="高血压10年，口服氨氯地平；吸烟30年",
        treatment="硝酸甘油舌下含服后缓解",
        priority=list(TWO_FREE_THREE_PRIORITY),
        slot=tomorrow_cardiology,
        booked_by_id=office.id,
        booked_at=sent + timedelta(hours=2),
    )
    db.add(up)
    db.add_all(
        _history(
            up,
            [
                ("send", None, ReferralState.SENT, doctor, sent),
                ("receive", ReferralState.SENT, ReferralState.RECEIVED, office, sent + timedelta(hours=1)),
                ("book", ReferralState.RECEIVED, ReferralState.BOOKED, office, sent + timedelta(hours=2)),
            ],
        )
    )

    # Down: 王建华 was admitted for uncontrolled diabetes, discharged, and is back on the village's list.
    patient = Patient(
        institution=village,
        name="王建华",
        sex="M",
        birth_date=date(1955, 6, 18),
        national_id="110101195506180038",
        health_card_no="HC3301550618",
    )
    admitted_on = now - timedelta(days=9)
    case = Case(
        institution=village,
        patient=patient,
        created_by_id=doctor.id,
        kind=CaseKind.REFERRAL,
        status=CaseStatus.CLOSED,
        clinical_question="血糖控制不佳，空腹血糖13 mmol/L，上转县医院内分泌科",
        created_at=admitted_on - timedelta(days=1),
        closed_at=now - timedelta(days=1),
    )
    past_slot = _slot(county, admitted_on.date(), SlotKind.OUTPATIENT, "内分泌科", 10, admitted_on)
    past_slot.booked = 1
    earlier = Referral(
        direction=ReferralDirection.UP,
        state=ReferralState.CLOSED,
        case=case,
        patient=patient,
        from_institution=village,
        to_institution=county,
        created_by=doctor,
        created_at=admitted_on - timedelta(days=1),
        updated_at=now - timedelta(days=1),
        reason="血糖控制不佳，口服药效果差",
        diagnosis="2型糖尿病；高血压2级",
        history="糖尿病8年，高血压12年",
        treatment="二甲双胍0.5g tid，硝苯地平缓释片",
        priority=list(TWO_FREE_THREE_PRIORITY),
        slot=past_slot,
        booked_by_id=office.id,
        booked_at=admitted_on - timedelta(hours=20),
        closed_at=now - timedelta(days=1),
    )
    down = Referral(
        direction=ReferralDirection.DOWN,
        state=ReferralState.RECEIVED,
        case=case,
        parent=earlier,
        patient=patient,
        from_institution=county,
        to_institution=village,
        created_by=specialist,
        created_at=now - timedelta(days=2),
        updated_at=now - timedelta(days=1),
        diagnosis="2型糖尿病；高血压2级",
        discharge_summary="住院7天，调整为甘精胰岛素12U qn联合二甲双胍，空腹血糖降至7 mmol/L左右，出院。",
        follow_up_plan={
            "plan": "每周测空腹及餐后血糖、血压；注意低血糖；一月后县医院全专门诊复诊",
            "due_dates": [(today + timedelta(days=n)).isoformat() for n in (7, 30, 90)],
            "colour": TriageColour.YELLOW.value,
        },
    )
    db.add_all([earlier, down])
    db.add_all(
        _history(
            earlier,
            [
                ("send", None, ReferralState.SENT, doctor, admitted_on - timedelta(days=1)),
                (
                    "receive",
                    ReferralState.SENT,
                    ReferralState.RECEIVED,
                    office,
                    admitted_on - timedelta(hours=22),
                ),
                (
                    "book",
                    ReferralState.RECEIVED,
                    ReferralState.BOOKED,
                    office,
                    admitted_on - timedelta(hours=20),
                ),
                ("arrive", ReferralState.BOOKED, ReferralState.ARRIVED, office, admitted_on),
                ("admit", ReferralState.ARRIVED, ReferralState.ADMITTED, specialist, admitted_on),
                (
                    "discharge",
                    ReferralState.ADMITTED,
                    ReferralState.DISCHARGED,
                    specialist,
                    now - timedelta(days=2),
                ),
                ("close", ReferralState.DISCHARGED, ReferralState.CLOSED, doctor, now - timedelta(days=1)),
            ],
        )
        + _history(
            down,
            [
                ("send", None, ReferralState.SENT, specialist, now - timedelta(days=2)),
                ("receive", ReferralState.SENT, ReferralState.RECEIVED, doctor, now - timedelta(days=1)),
            ],
        )
    )
    entry = FollowUpEntry(
        institution_id=village.id,
        patient=patient,
        referral=down,
        plan=down.follow_up_plan["plan"],
        due_dates=down.follow_up_plan["due_dates"],
        colour=TriageColour.YELLOW,
        created_at=now - timedelta(days=1),
    )
    db.add(entry)
    db.add(
        FollowUpColourChange(
            entry=entry,
            to_colour=TriageColour.YELLOW,
            reason=DISCHARGE_TRIAGE_REASON,
            changed_by_id=specialist.id,
            at=now - timedelta(days=1),
        )
    )
