"""A recent history for the demo community, so `telemed demo` / `telemed up` open on a platform in use.

Over the last weeks the demo's people read and reported cases (one report signed and later amended,
one returned for more information and resubmitted, one escalated to the provincial expert, one
closed by its requester, one withdrawn), sent referrals up (declined with a reason, treated as an
outpatient and closed, cancelled by the sender, sent back down onto a follow-up list that was
re-triaged and later ended), and settled last month's services (an agreement, a statement submitted
by the village clinic, checked and invoiced by the administrator).

Every step is a service function the HTTP API calls too (`server.cases`, `server.referrals`,
`server.billing`), taken by the demo user who would have taken it (`Actor(user, user_agent=...)`) on
a clock standing at its moment. So the history obeys every rule, bills what was signed, and each
step is in the audit trail under its user (the audit records when the loader ran).

`load_demo` adds it only when asked (`history=True`, the `telemed demo` command): the test suite
loads the demo without it and counts its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.billing import rules as billing_rules
from server.billing import service as billing
from server.billing.models import SettlementRule
from server.cases import notifications, reports
from server.cases import service as cases
from server.cases.models import CaseKind, Notification, Urgency
from server.cases.service import NewCase, NewPatient
from server.cases.workflow import TargetTimes
from server.community.models import Institution, User
from server.core.clock import CHINA_TIME, SYSTEM_CLOCK, FixedClock
from server.patients.models import IdentityDocument
from server.referrals import follow_up
from server.referrals import office as referral_office
from server.referrals import service as referrals
from server.referrals.identity import check_identity
from server.referrals.models import FollowUpEntry, ReferralNoteKind, SlotKind, TriageColour
from server.referrals.service import DownLetter, FollowUpPlan, UpLetter

CHINA = CHINA_TIME  # the hospitals' wall clock; billing months and slot days are in it
QUOTA_SHARE_BP = 4000  # the referral office reserves 40% of the slots it publishes from now on


class History:
    """The demo's people, and a clock set to the moment of each step."""

    def __init__(
        self,
        db: Session,
        institutions: dict[str, Institution],
        users: dict[str, User],
        now: datetime,
        targets: TargetTimes,
        user_agent: str,
    ) -> None:
        self.db = db
        self.institutions = institutions
        self.users = users
        self.now = now
        self.targets = targets
        self.user_agent = user_agent
        self.clock = FixedClock(now)

    @property
    def county(self) -> int:
        return self.institutions["county"].id

    def by(self, username: str) -> Actor:
        return Actor(self.users[username], user_agent=self.user_agent)

    def at(self, day: date, hhmm: str) -> FixedClock:
        """The clock at `hhmm` China time on `day`."""
        hour, minute = (int(part) for part in hhmm.split(":"))
        self.clock.set(datetime.combine(day, time(hour, minute), CHINA))
        return self.clock

    def this_month_start(self) -> datetime:
        return billing_rules.parse_month(billing_rules.month_of(self.now))[0]

    def last_month(self, days_before_this_month: int) -> date:
        """A day of last month: `days_before_this_month` (1–27) days before this month began."""
        return (self.this_month_start() - timedelta(days=days_before_this_month)).date()

    def days_ago(self, days: int) -> date:
        return (self.now.astimezone(CHINA) - timedelta(days=days)).date()

    # ---- steps used by several stories -------------------------------------------------------

    def opened_and_submitted(
        self,
        requester: str,
        patient: NewPatient,
        kind: CaseKind,
        question: str,
        day: date,
        hhmm: str,
        *,
        urgency: Urgency = Urgency.ROUTINE,
    ) -> int:
        """The requester opens a case for a new patient at `hhmm` and submits it five minutes later."""
        clock = self.at(day, hhmm)
        case = cases.create_case(
            self.db, self.by(requester), clock, NewCase(kind, urgency, question, patient=patient)
        )
        clock.advance(minutes=5)
        return cases.submit(self.db, self.by(requester), clock, case.case.id, targets=self.targets).case.id

    def reported(self, reader: str, case_id: int, content: dict[str, Any], day: date, hhmm: str) -> None:
        """A centre's reader claims the queued case at `hhmm`, reviews it, writes and signs the report."""
        self.signed(reader, case_id, content, self.taken(reader, case_id, day, hhmm))

    def taken(self, reader: str, case_id: int, day: date, hhmm: str) -> FixedClock:
        """A centre's reader claims the queued case at `hhmm` and starts reviewing it a minute later."""
        clock = self.at(day, hhmm)
        cases.claim(self.db, self.by(reader), clock, case_id)
        clock.advance(minutes=1)
        cases.start_review(self.db, self.by(reader), clock, case_id)
        return clock

    def signed(self, reader: str, case_id: int, content: dict[str, Any], clock: FixedClock) -> None:
        """The report written over a quarter of an hour (the draft saved first) and signed; signing bills it."""
        clock.advance(minutes=12)
        reports.save_draft(self.db, self.by(reader), clock, case_id, content)
        clock.advance(minutes=6)
        reports.sign(self.db, self.by(reader), clock, case_id)

    def read_notifications(self, username: str, case_id: int, day: date, hhmm: str) -> None:
        """The user opens their unread notifications about the case (and each is marked read)."""
        clock = self.at(day, hhmm)
        unread = self.db.scalars(
            select(Notification.id)
            .where(
                Notification.case_id == case_id,
                Notification.recipient_user_id == self.users[username].id,
                Notification.read_at.is_(None),
            )
            .order_by(Notification.id)
        ).all()
        for notification_id in unread:
            notifications.mark_read(self.db, self.by(username), clock, notification_id)

    def sent_up_and_booked(
        self, doctor: str, case_id: int, letter: dict[str, str], day: date, clinic: str
    ) -> int:
        """The office publishes the next day's `clinic` slots at 07:50; the grassroots doctor sends the
        case's patient up at 08:30; the office receives the referral at 09:00 and books it into them."""
        clock = self.at(day, "07:50")
        slot = referral_office.publish_slot(
            self.db,
            self.by("referral"),
            clock,
            self.county,
            day + timedelta(days=1),
            SlotKind.OUTPATIENT,
            20,
            clinic,
        )
        up = UpLetter(case_id, self.county, **letter)
        referral = referrals.create_referral(
            self.db, self.by(doctor), self.at(day, "08:30"), up
        ).summary.referral
        referrals.receive(self.db, self.by("referral"), self.at(day, "09:00"), referral.id)
        referrals.book(self.db, self.by("referral"), self.at(day, "09:08"), referral.id, slot.id)
        return referral.id

    def identity_checked(
        self, username: str, referral_id: int, national_id: str, day: date, hhmm: str
    ) -> None:
        """`username` types the patient's national ID before opening the referral's record."""
        clock = self.at(day, hhmm)
        check_identity(
            self.db, self.by(username), clock, referral_id, IdentityDocument.NATIONAL_ID, national_id
        )

    def arrived_and_treated(
        self, referral_id: int, national_id: str, note: tuple[ReferralNoteKind, str], day: date
    ) -> None:
        """The patient checks in at the office at 08:10; the county physician sees them, writes, treats."""
        self.identity_checked("referral", referral_id, national_id, day, "08:10")
        referrals.arrive(self.db, self.by("referral"), self.clock, referral_id)
        self.identity_checked("internist", referral_id, national_id, day, "08:40")
        kind, text = note
        referrals.add_note(self.db, self.by("internist"), self.at(day, "11:00"), referral_id, kind, text)
        referrals.treat(self.db, self.by("internist"), self.at(day, "11:20"), referral_id, "门诊诊疗结束")


# ---- the patients ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPatient:
    name: str
    sex: str
    born: date
    national_id: str

    def new(self) -> NewPatient:
        return NewPatient(self.name, self.sex, self.born, self.national_id)


CHEN_SHUFEN = DemoPatient("陈淑芬", "F", date(1961, 9, 21), "110101196109212029")  # 青山村
LIU_JIANGUO = DemoPatient("刘建国", "M", date(1957, 4, 8), "110101195704081532")  # 石桥村
MA_XIAOJUN = DemoPatient("马小军", "M", date(1988, 12, 5), "110101198812052513")  # 青山乡
SUN_ZHIMING = DemoPatient("孙志明", "M", date(1952, 2, 17), "110101195202170316")  # 青山乡
HUANG_MEIHUA = DemoPatient("黄美华", "F", date(1970, 5, 11), "110101197005112044")  # 青山村
YANG_DEFU = DemoPatient("杨德福", "M", date(1950, 10, 3), "110101195010030618")  # 青山村

# The letters (转诊单) the grassroots doctors send up: reason, diagnosis, history, treatment so far.
CHEN_SHUFEN_LETTER = {
    "reason": "抗感染治疗3天仍发热（38.6℃），胸片示右下肺炎伴少量胸腔积液，需上级医院进一步诊治",
    "diagnosis": "社区获得性肺炎（右下）；右侧少量胸腔积液",
    "history": "既往体健，无药物过敏史",
    "treatment": "头孢呋辛酯0.5g bid口服3天",
}
LIU_JIANGUO_LETTER = {
    "reason": "心电图示QTc延长（508 ms），孙教授会诊建议上级医院门诊行动态心电图及电解质检查",
    "diagnosis": "QT间期延长（药物相关？）",
    "history": "慢性支气管炎10年；近一周口服阿奇霉素",
    "treatment": "已停用阿奇霉素",
}
SUN_ZHIMING_LETTER = {
    "reason": "右膝关节疼痛加重，行走受限，保守治疗半年无效，要求县医院骨科评估关节置换",
    "diagnosis": "右膝骨性关节炎（K-L Ⅲ级）",
    "history": "高血压5年，口服氨氯地平",
    "treatment": "塞来昔布口服，玻璃酸钠关节腔注射3次",
}
YANG_DEFU_LETTER = {
    "reason": "高血压3级，联合用药血压仍170/100 mmHg左右，心电图示左心室高电压、ST-T改变，需明确靶器官损害并调整方案",
    "diagnosis": "高血压3级（很高危）；左心室肥厚？",
    "history": "高血压10年；吸烟40年",
    "treatment": "硝苯地平缓释片20mg bid，氢氯噻嗪12.5mg qd",
}


# ---- last month: a report signed and amended, a referral cancelled, the month settled ----------------


def chest_film_signed_and_amended(h: History) -> int:
    """陈淑芬's chest film: claimed from the queue, reported, closed by 王村医, amended the next morning."""
    day = h.last_month(9)
    case_id = h.opened_and_submitted(
        "village",
        CHEN_SHUFEN.new(),
        CaseKind.IMAGING,
        "发热咳嗽5天，右下肺可闻及湿啰音，胸部正位片排除肺炎",
        day,
        "09:10",
    )
    clock = h.taken("radiologist", case_id, day, "10:02")
    clock.advance(minutes=15)
    reports.save_draft(
        h.db, h.by("radiologist"), clock, case_id, {"findings": "右下肺野见斑片状模糊影，边缘不清。"}
    )
    h.signed(
        "radiologist",
        case_id,
        {
            "findings": "右下肺野见斑片状模糊影，边缘不清。心影大小、形态正常。",
            "impression": "右下肺炎，建议抗感染治疗后1–2周复查胸片。",
        },
        clock,
    )
    h.read_notifications("village", case_id, day, "11:05")
    cases.close(
        h.db,
        h.by("village"),
        h.at(day, "16:00"),
        case_id,
        note="已电话告知患者，按社区获得性肺炎口服抗感染治疗",
    )
    reports.amend(
        h.db,
        h.by("radiologist"),
        h.at(day + timedelta(days=1), "08:40"),
        case_id,
        content={
            "findings": "右下肺野见斑片状模糊影，边缘不清；右侧肋膈角变钝。心影大小、形态正常。",
            "impression": "右下肺炎伴右侧少量胸腔积液，建议抗感染治疗后1–2周复查胸片。",
        },
        reason="复阅原片：右侧肋膈角变钝，补充少量胸腔积液，诊断意见相应修改",
    )
    h.read_notifications("village", case_id, day + timedelta(days=1), "09:30")
    return case_id


def referral_cancelled_by_sender(h: History, case_id: int) -> None:
    """陈淑芬 still has fever: referred up and booked, then withdrawn once the new antibiotic works."""
    day = h.last_month(6)
    referral_id = h.sent_up_and_booked("village", case_id, CHEN_SHUFEN_LETTER, day, "呼吸内科")
    referrals.cancel(
        h.db,
        h.by("village"),
        h.at(day, "18:20"),
        referral_id,
        "改用阿莫西林克拉维酸钾后今日体温降至37.2℃，患者及家属要求暂不上转，继续村卫生室观察",
    )


def imaging_agreement(h: History) -> None:
    """The county hospital reads the village clinic's films at 20% off (医联体协议)."""
    day = h.last_month(20)
    terms = billing.AgreementTerms(
        provider_institution_id=h.county,
        member_institution_id=h.institutions["qingshan_village"].id,
        service_code="TM-IMAGING-READ",
        rule=SettlementRule.DISCOUNT,
        rate_bp=2000,
        baseline_cost_rate_bp=3500,
        baseline_recorded_on=day,
    )
    billing.save_agreement(h.db, h.by("admin"), h.at(day, "10:00"), terms)


def last_month_settled(h: History) -> None:
    """In the first days of this month 王村医 submits last month's statement; the administrator checks
    and invoices it (on the 2nd, 3rd and 4th, or sooner when this month is younger than that)."""
    start = h.this_month_start()
    month = billing_rules.month_of(start - timedelta(days=1))

    def moment(step: int) -> datetime:
        return start + min(timedelta(days=step, hours=1), (h.now - start) * step / 4)

    h.clock.set(moment(1))
    village = h.institutions["qingshan_village"].id
    statements = billing.submit_statements(h.db, h.by("village"), h.clock, month, village)
    for step, name in ((2, "check"), (3, "invoice")):
        h.clock.set(moment(step))
        for statement in statements:
            billing.advance_statement(h.db, h.by("admin"), h.clock, statement.id, name)


# ---- the last four weeks -----------------------------------------------------------------------------


def ecg_second_opinion(h: History) -> int:
    """刘建国's ECG: the ECG reader asks 孙教授 for a second opinion before signing; 何村医 closes it."""
    day = h.days_ago(12)
    case_id = h.opened_and_submitted(
        "shiqiao",
        LIU_JIANGUO.new(),
        CaseKind.ECG,
        "活动后心悸气短两天，近日口服阿奇霉素，心电图请上级判读",
        day,
        "14:00",
        urgency=Urgency.URGENT,
    )
    h.taken("ecgreader", case_id, day, "14:12")
    cases.escalate(
        h.db,
        h.by("ecgreader"),
        h.at(day, "14:30"),
        case_id,
        expert_id=h.users["expert"].id,
        note="QTc约508 ms，患者近日服用阿奇霉素，请孙教授复核是否需上转",
    )
    cases.answer(
        h.db,
        h.by("expert"),
        h.at(day, "15:10"),
        case_id,
        note="同意QTc延长，考虑药物相关：立即停用阿奇霉素，查血钾、血镁，转县医院心内科门诊行动态心电图",
    )
    ecg = {
        "rhythm": "窦性心律",
        "heart_rate": 88,
        "pr_ms": 168,
        "qrs_ms": 92,
        "qt_ms": 420,
        "qtc_ms": 508,
        "axis_deg": 45,
        "interpretation": "窦性心律；QTc延长（508 ms），考虑药物相关；建议停用阿奇霉素，复查电解质及心电图",
    }
    h.signed("ecgreader", case_id, ecg, h.at(day, "15:12"))
    h.read_notifications("shiqiao", case_id, day, "15:40")
    cases.close(
        h.db, h.by("shiqiao"), h.at(day, "17:00"), case_id, note="已嘱患者停用阿奇霉素，明日上转县医院心内科"
    )
    return case_id


def outpatient_referral_closed(h: History, case_id: int) -> None:
    """刘建国 is seen at the county cardiology clinic and comes home; 何村医 closes the referral."""
    day = h.days_ago(11)
    referral_id = h.sent_up_and_booked("shiqiao", case_id, LIU_JIANGUO_LETTER, day, "心内科")
    plan = "动态心电图未见恶性心律失常；血钾3.3 mmol/L。予氯化钾缓释片1g tid口服一周，禁用延长QT的药物，一周后村卫生室复查心电图。"
    h.arrived_and_treated(
        referral_id, LIU_JIANGUO.national_id, (ReferralNoteKind.TREATMENT_PLAN, plan), day + timedelta(days=1)
    )
    referrals.close(
        h.db,
        h.by("shiqiao"),
        h.at(day + timedelta(days=2), "10:00"),
        referral_id,
        "患者已返回，按县医院方案随访",
    )


def referral_declined(h: History) -> None:
    """孙志明's knee: reported, then referred up for a joint replacement, which the office declines, saying why."""
    day = h.days_ago(9)
    case_id = h.opened_and_submitted(
        "township",
        SUN_ZHIMING.new(),
        CaseKind.IMAGING,
        "右膝关节疼痛半年，上下楼加重，右膝关节正侧位片",
        day,
        "10:00",
    )
    knee = {
        "findings": "右膝关节内侧间隙明显变窄，关节边缘骨赘形成，软骨下骨硬化，未见骨折及骨质破坏。",
        "impression": "右膝关节骨性关节炎（K-L Ⅲ级）。",
    }
    h.reported("radiologist", case_id, knee, day, "14:20")
    ago_4 = h.days_ago(4)
    letter = UpLetter(case_id, h.county, **SUN_ZHIMING_LETTER)
    referral_id = referrals.create_referral(
        h.db, h.by("township"), h.at(ago_4, "09:00"), letter
    ).summary.referral.id
    referrals.receive(h.db, h.by("referral"), h.at(ago_4, "10:10"), referral_id)
    referrals.decline(
        h.db,
        h.by("referral"),
        h.at(ago_4, "10:30"),
        referral_id,
        "关节置换为择期手术，需先经骨科门诊评估：请先为患者预约县医院骨科专家门诊，"
        "并补充血常规、凝血功能及双下肢血管彩超结果后再行转诊。",
    )


def referred_back_down_and_followed(h: History) -> None:
    """杨德福's hypertension: ECG, seen upstairs, sent back down with a plan; on the village follow-up list
    he is re-triaged yellow, and the follow-up ends when he moves away."""
    day = h.days_ago(26)
    case_id = h.opened_and_submitted(
        "village",
        YANG_DEFU.new(),
        CaseKind.ECG,
        "高血压10年，近一周头晕，血压170/100 mmHg，心电图请判读",
        day,
        "08:40",
    )
    ecg = {
        "rhythm": "窦性心律",
        "heart_rate": 72,
        "pr_ms": 176,
        "qrs_ms": 98,
        "qt_ms": 392,
        "qtc_ms": 429,
        "axis_deg": -10,
        "interpretation": "窦性心律；左心室高电压；ST-T改变（V5、V6导联ST段压低0.05 mV）",
    }
    h.reported("ecgreader", case_id, ecg, day, "09:30")
    sent = day + timedelta(days=1)
    seen = sent + timedelta(days=1)
    up = h.sent_up_and_booked("village", case_id, YANG_DEFU_LETTER, sent, "心内科")
    findings = "心脏超声：室间隔12 mm，左室射血分数62%；24小时动态血压均值158/96 mmHg；尿微量白蛋白阴性。"
    h.arrived_and_treated(up, YANG_DEFU.national_id, (ReferralNoteKind.RECORD, findings), seen)
    letter_down = DownLetter(
        diagnosis="高血压3级（很高危）；左心室肥厚",
        discharge_summary="门诊完善心脏超声及动态血压，降压方案调整为氨氯地平5mg qd + 厄贝沙坦150mg qd，停用氢氯噻嗪。",
        follow_up=FollowUpPlan(
            plan="每周测血压两次，目标<140/90 mmHg；低盐饮食、戒烟；四周后复查心电图及肾功能",
            due_dates=[seen + timedelta(days=n) for n in (7, 14, 28)],
            colour=TriageColour.GREEN,
        ),
    )
    down = referrals.refer_down(
        h.db, h.by("internist"), h.at(seen, "11:30"), up, letter_down
    ).summary.referral.id
    # Back home: on 王村医's follow-up list, and the referral up closes with it.
    referrals.receive(h.db, h.by("village"), h.at(seen + timedelta(days=1), "09:00"), down)
    entry_id = h.db.scalar(select(FollowUpEntry.id).where(FollowUpEntry.referral_id == down))
    assert entry_id is not None, "receiving the referral down puts the patient on the follow-up list"
    follow_up.change_colour(
        h.db,
        h.by("village"),
        h.at(h.days_ago(12), "16:00"),
        entry_id,
        TriageColour.YELLOW,
        "两次随访血压均在160/100 mmHg以上，调整为县医院全专门诊管理",
    )
    referrals.close(
        h.db, h.by("village"), h.at(h.days_ago(5), "10:30"), down, "患者随子女迁居杭州，随访转出本辖区管理"
    )


def wrist_film_returned_and_resubmitted(h: History) -> None:
    """马小军's wrist: the dispatcher assigns it, the radiologist returns it for the history (退回补充),
    李医生 adds it; the case is back with the radiologist."""
    day = h.days_ago(2)
    case_id = h.opened_and_submitted(
        "township", MA_XIAOJUN.new(), CaseKind.IMAGING, "外伤后右腕肿痛，右腕关节正侧位片", day, "09:00"
    )
    cases.assign(
        h.db,
        h.by("dispatcher"),
        h.at(day, "09:40"),
        case_id,
        assignee_id=h.users["radiologist"].id,
        note="陈医生请处理，患者在卫生院候诊",
    )
    cases.start_review(h.db, h.by("radiologist"), h.at(day, "10:15"), case_id)
    cases.return_case(
        h.db,
        h.by("radiologist"),
        h.at(day, "10:25"),
        case_id,
        note="请补充受伤经过及压痛部位（有无鼻烟窝压痛），以便判断舟骨骨折可能",
    )
    h.read_notifications("township", case_id, day, "11:00")
    cases.resubmit(
        h.db,
        h.by("township"),
        h.at(h.days_ago(1), "08:30"),
        case_id,
        targets=h.targets,
        note="补充：前日骑电动车摔倒，右手掌撑地；鼻烟窝压痛明显，腕关节活动受限",
    )


def case_withdrawn(h: History) -> None:
    """黄美华's abdominal film is withdrawn: she went straight to the county emergency department."""
    day = h.days_ago(6)
    case_id = h.opened_and_submitted(
        "village",
        HUANG_MEIHUA.new(),
        CaseKind.IMAGING,
        "上腹痛三天伴呕吐，腹部立位平片排除肠梗阻",
        day,
        "15:00",
    )
    cases.cancel(
        h.db,
        h.by("village"),
        h.at(day, "16:30"),
        case_id,
        note="患者腹痛加重，家属已直接送县医院急诊，撤回申请",
    )


def quota_raised(h: History) -> None:
    """Two hours ago the office raised the grassroots reserve of the slots it publishes next."""
    h.clock.set(h.now - timedelta(hours=2))
    referral_office.set_quota(h.db, h.by("referral"), h.clock, h.county, QUOTA_SHARE_BP)


def load_history(
    db: Session,
    institutions: dict[str, Institution],
    users: dict[str, User],
    *,
    targets: TargetTimes,
    user_agent: str,
) -> None:
    """The demo community's last weeks, step by step (see the module's docstring)."""
    h = History(db, institutions, users, SYSTEM_CLOCK.now(), targets, user_agent)
    imaging_agreement(h)
    chest_film = chest_film_signed_and_amended(h)
    referral_cancelled_by_sender(h, chest_film)
    referred_back_down_and_followed(h)
    outpatient_referral_closed(h, ecg_second_opinion(h))
    referral_declined(h)
    case_withdrawn(h)
    wrist_film_returned_and_resubmitted(h)
    last_month_settled(h)  # after every signature: whatever was signed last month is on the statement
    quota_raised(h)  # after every slot was published
    db.flush()
