"""The demo community's two-way referrals: the county hospital's referral office, a week of its slots,
one referral up being booked, and one patient referred back down onto the village doctor's follow-up list.

Everything goes through the referral service functions (`server.referrals`), as the people of the demo
would have done it, on a clock set to the moment of each step: so the demo obeys every rule (the
reserved quota, identity checks before the record opens, the loop closing when the patient is back).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.cases.models import Case, CaseKind, CaseStatus
from server.community.models import Institution, User
from server.core.clock import SYSTEM_CLOCK, FixedClock
from server.patients.models import IdentityDocument, Patient
from server.referrals import office as referral_office
from server.referrals import service
from server.referrals.identity import check_identity
from server.referrals.models import OfficeDuty, ReferralSlot, SlotKind, TriageColour
from server.referrals.office import local_today
from server.referrals.service import DownLetter, FollowUpPlan, UpLetter

# kind, department, capacity per day
WEEKLY_SLOTS = [
    (SlotKind.OUTPATIENT, "心内科", 20),
    (SlotKind.OUTPATIENT, "内分泌科", 10),
    (SlotKind.CT, "", 12),
    (SlotKind.MRI, "", 6),
    (SlotKind.ULTRASOUND, "", 10),
]

# The letters (转诊单) the village doctor sends up: reason, diagnosis, history, treatment so far.
WANG_JIANHUA_LETTER = {
    "reason": "血糖控制不佳，口服药效果差",
    "diagnosis": "2型糖尿病；高血压2级",
    "history": "糖尿病8年，高血压12年",
    "treatment": "二甲双胍0.5g tid，硝苯地平缓释片",
}
LI_GUOQIANG_LETTER = {
    "reason": "反复胸闷一周，今日加重，村卫生室心电图提示ST段改变，需上级医院明确诊断",
    "diagnosis": "胸闷待查：冠心病？",
    "history": "高血压10年，口服氨氯地平；吸烟30年",
    "treatment": "硝酸甘油舌下含服后缓解",
}


class Demo:
    """Who does what when: each step on a clock standing at its moment."""

    def __init__(self, db: Session, start: datetime) -> None:
        self.db = db
        self.clock = FixedClock(start)

    def at(self, moment: datetime) -> FixedClock:
        self.clock.set(moment)
        return self.clock

    def refer_up(self, doctor: User, letter: UpLetter, moment: datetime) -> int:
        return service.create_referral(self.db, Actor(doctor), self.at(moment), letter).summary.referral.id

    def receive_and_book(
        self, office: User, referral_id: int, slot_id: int, received: datetime, booked: datetime
    ) -> None:
        """The referral office takes note of the referral, then books it into the slot."""
        service.receive(self.db, Actor(office), self.at(received), referral_id)
        service.book(self.db, Actor(office), self.at(booked), referral_id, slot_id)

    def identity_checked(self, user: User, referral_id: int, patient: Patient, moment: datetime) -> None:
        """`user` types the patient's national ID before opening the referral's record."""
        assert patient.national_id is not None, "demo patients carry a national ID"
        check_identity(
            self.db,
            Actor(user),
            self.at(moment),
            referral_id,
            IdentityDocument.NATIONAL_ID,
            patient.national_id,
        )


def _publish_week(
    demo: Demo, office: User, county: Institution, today: date, moment: datetime
) -> list[ReferralSlot]:
    clock = demo.at(moment)
    return [
        referral_office.publish_slot(
            demo.db, Actor(office), clock, county.id, today + timedelta(days=d), kind, cap, dept
        )
        for d in range(7)
        for kind, dept, cap in WEEKLY_SLOTS
    ]


def load_referrals(
    db: Session, institutions: dict[str, Institution], users: dict[str, User], li_guoqiang_case: Case
) -> None:
    county, village = institutions["county"], institutions["qingshan_village"]
    doctor, office, specialist = users["village"], users["referral"], users["internist"]
    now = SYSTEM_CLOCK.now()
    demo = Demo(db, now - timedelta(days=30))
    today = local_today(SYSTEM_CLOCK)
    referral_office.add_office_member(
        db, Actor(users["admin"]), demo.clock, county.id, office.id, OfficeDuty.HEAD
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
    sent_up = admitted_on - timedelta(days=1)
    case = Case(
        institution=village,
        patient=patient,
        created_by_id=doctor.id,
        kind=CaseKind.REFERRAL,
        status=CaseStatus.CLOSED,
        clinical_question="血糖控制不佳，空腹血糖13 mmol/L，上转县医院内分泌科",
        created_at=sent_up,
        closed_at=now - timedelta(days=1),
    )
    db.add(case)
    db.flush()
    past_slot = referral_office.publish_slot(
        db,
        Actor(office),
        demo.at(sent_up - timedelta(hours=1)),
        county.id,
        local_today(FixedClock(admitted_on)),
        SlotKind.OUTPATIENT,
        10,
        "内分泌科",
    )
    earlier = demo.refer_up(doctor, UpLetter(case.id, county.id, **WANG_JIANHUA_LETTER), sent_up)
    demo.receive_and_book(
        office, earlier, past_slot.id, admitted_on - timedelta(hours=22), admitted_on - timedelta(hours=20)
    )
    demo.identity_checked(office, earlier, patient, admitted_on)
    service.arrive(db, Actor(office), demo.clock, earlier)
    demo.identity_checked(specialist, earlier, patient, admitted_on + timedelta(minutes=10))
    service.admit(db, Actor(specialist), demo.clock, earlier)
    discharged = now - timedelta(days=2)
    demo.identity_checked(specialist, earlier, patient, discharged)
    service.discharge(db, Actor(specialist), demo.clock, earlier)
    down = service.refer_down(
        db,
        Actor(specialist),
        demo.at(discharged + timedelta(minutes=30)),
        earlier,
        DownLetter(
            diagnosis="2型糖尿病；高血压2级",
            discharge_summary="住院7天，调整为甘精胰岛素12U qn联合二甲双胍，空腹血糖降至7 mmol/L左右，出院。",
            follow_up=FollowUpPlan(
                plan="每周测空腹及餐后血糖、血压；注意低血糖；一月后县医院全专门诊复诊",
                due_dates=[today + timedelta(days=n) for n in (7, 30, 90)],
                colour=TriageColour.YELLOW,
            ),
        ),
    ).summary.referral.id
    # Back home: on the village doctor's follow-up list, and the referral up is closed.
    service.receive(db, Actor(doctor), demo.at(now - timedelta(days=1)), down)

    # Up, in progress: 李国强's chest tightness, booked into tomorrow's cardiology clinic.
    sent = now - timedelta(hours=20)
    week = _publish_week(demo, office, county, today, sent - timedelta(hours=1))
    tomorrow_cardiology = week[len(WEEKLY_SLOTS)]
    up = demo.refer_up(doctor, UpLetter(li_guoqiang_case.id, county.id, **LI_GUOQIANG_LETTER), sent)
    demo.receive_and_book(
        office, up, tomorrow_cardiology.id, sent + timedelta(hours=1), sent + timedelta(hours=2)
    )
