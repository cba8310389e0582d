"""The indicators of a medical community's dashboard (数据驾驶舱), each counted in SQL from the records.

A figure covers one calendar month in China Standard Time (the time the member units keep their books
in, `server.billing.rules.parse_month`) and one medical community. Each carries its definition, in Chinese
and English, so the number and its meaning never travel apart; `docs/indicators.md` says why each
definition is what it is.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from server.billing.models import BillableItem
from server.billing.rules import parse_month
from server.cases.models import Case, CaseEvent, CaseKind, Report, ReportStatus, Urgency
from server.cases.workflow import Action
from server.community.models import Community, Institution, ReadingCentre, Tier, User
from server.dashboard.models import OutreachDay
from server.referrals.lifecycle import GRASSROOTS_TIERS
from server.referrals.models import Referral, ReferralDirection, ReferralState
from server.teaching.models import TeachingAttendance, TeachingKind, TeachingSession

COUNTY_VISIT_TARGET = 90  # 县域内就诊率: the national aim of ~90% of care within the county
GRASSROOTS_SHARE_TARGET = 65  # 基层服务占比 ≥ 65%
NOT_REFERRED = (ReferralState.DECLINED, ReferralState.CANCELLED)  # a referral that never took the patient
EXPERT_GROUP = "expert"  # cases addressed to a named expert rather than queued at a reading centre

KIND_LABELS = {
    CaseKind.IMAGING: "影像",
    CaseKind.ECG: "心电",
    CaseKind.PATHOLOGY: "病理",
    CaseKind.CONSULT: "会诊",
    CaseKind.MDT: "多学科会诊",
    CaseKind.REFERRAL: "转诊",
}
TIER_LABELS = {
    Tier.VILLAGE_CLINIC: "村卫生室",
    Tier.TOWNSHIP_CENTRE: "乡镇卫生院",
    Tier.COUNTY_HOSPITAL: "县级医院",
    Tier.TERTIARY_HOSPITAL: "三级医院",
}
TEACHING_LABELS = {
    TeachingKind.WARD_ROUND: "教学查房",
    TeachingKind.BEDSIDE: "临床带教",
    TeachingKind.SURGICAL_DEMO: "远程手术示教",
    TeachingKind.LECTURE: "远程教育",
}


@dataclass(frozen=True)
class Text:
    zh: str
    en: str


@dataclass(frozen=True)
class Point:
    """One bar of a chart. `count` is how many records stand behind a rate or a percentile."""

    key: str
    label: str
    value: float | None
    count: int | None = None


@dataclass(frozen=True)
class Series:
    key: str
    name: Text
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Indicator:
    key: str
    name: Text
    definition: Text
    unit: str  # count | percent | minutes | person_times | person_days
    value: float | None
    target: float | None = None  # a rate's aim, reached at or above it
    numerator: int | None = None
    denominator: int | None = None
    series: tuple[Series, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    month: str
    community: Community
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class _Scope:
    """One community and one month: what every indicator is counted over."""

    community_id: int
    start: datetime
    end: datetime

    @property
    def institutions(self) -> Select[int]:
        return select(Institution.id).where(Institution.community_id == self.community_id)

    def within(
        self, column: QueryableAttribute[datetime] | QueryableAttribute[datetime | None]
    ) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the two nearest ranks, as PostgreSQL's `percentile_cont`."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percent(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 1) if denominator else None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _institutions(db: Session, scope: _Scope) -> list[tuple[object, str]]:
    return [
        (institution_id, name)
        for institution_id, name in db.execute(
            select(Institution.id, Institution.name)
            .where(Institution.community_id == scope.community_id)
            .order_by(Institution.id)
        )
    ]


def _centres(db: Session, scope: _Scope, *, with_experts: bool) -> list[tuple[str, str]]:
    """The community's reading centres (keyed by id as text), and the group of expert-addressed cases."""
    centres: list[tuple[str, str]] = [
        (str(centre_id), name)
        for centre_id, name in db.execute(
            select(ReadingCentre.id, ReadingCentre.name)
            .where(ReadingCentre.institution_id.in_(scope.institutions))
            .order_by(ReadingCentre.id)
        )
    ]
    return [*centres, (EXPERT_GROUP, "专家直接会诊")] if with_experts else centres


def _counted(
    groups: Iterable[tuple[object, str]], counts: Counter[object] | dict[object, int]
) -> tuple[Point, ...]:
    return tuple(Point(str(key), label, counts.get(key, 0)) for key, label in groups)


def _rates(
    key: str, name: Text, groups: Iterable[tuple[object, str]], hits: Counter[object], totals: Counter[object]
) -> Series:
    points = tuple(Point(str(k), label, percent(hits[k], totals[k]), totals[k]) for k, label in groups)
    return Series(key, name, points)


def _kinds() -> list[tuple[object, str]]:
    return [(kind.value, KIND_LABELS[kind]) for kind in CaseKind]


def requests(db: Session, scope: _Scope) -> Indicator:
    first_submitted = (
        select(CaseEvent.case_id, func.min(CaseEvent.at).label("at"))
        .where(CaseEvent.action == Action.SUBMIT.value, CaseEvent.at < scope.end)
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    rows = db.execute(
        select(Case.institution_id, Case.kind, func.count())
        .join(first_submitted, first_submitted.c.case_id == Case.id)
        .where(Case.institution_id.in_(scope.institutions), first_submitted.c.at >= scope.start)
        .group_by(Case.institution_id, Case.kind)
    ).all()
    by_institution: Counter[object] = Counter()
    by_kind: Counter[object] = Counter()
    for institution_id, kind, n in rows:
        by_institution[institution_id] += n
        by_kind[kind.value] += n
    return Indicator(
        key="requests",
        name=Text("申请量", "Requests"),
        definition=Text(
            "当月首次提交的申请（阅片、会诊、转诊）数，按申请机构和类型统计；退回后再次提交不重复计数。",
            "Requests (reads, consults, referrals) first submitted in the month, by requesting institution "
            "and kind; a request returned and submitted again counts once, in the month it was first sent.",
        ),
        unit="count",
        value=sum(by_kind.values()),
        series=(
            Series(
                "by_institution",
                Text("按申请机构", "By institution"),
                _counted(_institutions(db, scope), by_institution),
            ),
            Series("by_kind", Text("按类型", "By kind"), _counted(_kinds(), by_kind)),
        ),
    )


def _turnarounds(db: Session, scope: _Scope) -> dict[str, list[float]]:
    """Minutes from (last) submission to the first signed report, per centre key, for the month's reports."""
    rows = db.execute(
        select(Case.centre_id, Case.submitted_at, Case.reported_at).where(
            Case.institution_id.in_(scope.institutions),
            scope.within(Case.reported_at),
            Case.submitted_at.is_not(None),
        )
    ).all()
    minutes: dict[str, list[float]] = defaultdict(list)
    for centre_id, submitted, reported in rows:
        key = EXPERT_GROUP if centre_id is None else str(centre_id)
        assert submitted is not None and reported is not None  # (the query's conditions)
        minutes[key].append((reported - submitted).total_seconds() / 60)
    return minutes


def turnaround(db: Session, scope: _Scope) -> list[Indicator]:
    minutes = _turnarounds(db, scope)
    every = [m for group in minutes.values() for m in group]
    groups = _centres(db, scope, with_experts=EXPERT_GROUP in minutes)
    made = []
    for fraction, key, zh, en in (
        (0.5, "turnaround_p50", "中位数", "median"),
        (0.9, "turnaround_p90", "P90", "p90"),
    ):
        made.append(
            Indicator(
                key=key,
                name=Text(f"报告周转时间（{zh}）", f"Turnaround, {en}"),
                definition=Text(
                    f"当月签发首份报告的病例，自（最后一次）提交至首份报告签发的分钟数的{zh}"
                    "（线性插值），按诊断中心统计；直接指定专家的病例单列。",
                    f"The {en} (linear interpolation) of minutes from the case's (last) submission to its "
                    "first signed report, over cases first reported in the month, per reading centre; "
                    "cases addressed to a named expert form their own group.",
                ),
                unit="minutes",
                value=_minutes(percentile(every, fraction)),
                denominator=len(every),
                series=(
                    Series(
                        "by_centre",
                        Text("按诊断中心", "By centre"),
                        tuple(
                            Point(
                                gk,
                                label,
                                _minutes(percentile(minutes.get(gk, []), fraction)),
                                len(minutes.get(gk, [])),
                            )
                            for gk, label in groups
                        ),
                    ),
                ),
            )
        )
    return made


def urgent_overdue(db: Session, scope: _Scope) -> Indicator:
    rows = db.execute(
        select(Case.centre_id, func.count())
        .where(
            Case.institution_id.in_(scope.institutions),
            Case.urgency == Urgency.URGENT,
            scope.within(Case.overdue_at),
        )
        .group_by(Case.centre_id)
    ).all()
    by_centre: Counter[object] = Counter({str(cid) if cid else EXPERT_GROUP: n for cid, n in rows})
    groups = _centres(db, scope, with_experts=EXPERT_GROUP in by_centre)
    return Indicator(
        key="urgent_overdue",
        name=Text("急诊超时", "Urgent cases past target"),
        definition=Text(
            "当月被标记超时的急诊病例数：急诊病例在目标时间（提交后 2 小时）前仍未签发报告，平台即标记并提醒中心。",
            "Urgent cases flagged overdue in the month: still without a signed report at their target "
            "time (2 h after submission), when the platform flags them and alerts their centre.",
        ),
        unit="count",
        value=sum(by_centre.values()),
        series=(Series("by_centre", Text("按诊断中心", "By centre"), _counted(groups, by_centre)),),
    )


def _outside_county(scope: _Scope) -> Select[int]:
    """Institutions beyond the county: tertiary hospitals and any institution of another community."""
    return select(Institution.id).where(
        or_(Institution.tier == Tier.TERTIARY_HOSPITAL, Institution.community_id != scope.community_id)
    )


def county_visit_rate(db: Session, scope: _Scope) -> Indicator:
    outside = _outside_county(scope)
    left_the_county = or_(
        Case.escalated_to_id.in_(select(User.id).where(User.institution_id.in_(outside))),
        exists().where(
            Report.case_id == Case.id,
            Report.status == ReportStatus.SIGNED,
            Report.signed_institution_id.in_(outside),
        ),
        exists().where(
            Referral.case_id == Case.id,
            Referral.direction == ReferralDirection.UP,
            Referral.to_institution_id.in_(outside),
            Referral.state.not_in(NOT_REFERRED),
        ),
    )
    rows = db.execute(
        select(Case.kind, func.count(), func.count().filter(left_the_county))
        .where(Case.institution_id.in_(scope.institutions), scope.within(Case.reported_at))
        .group_by(Case.kind)
    ).all()
    reported: Counter[object] = Counter({kind.value: n for kind, n, _out in rows})
    within: Counter[object] = Counter({kind.value: n - out for kind, n, out in rows})
    total, resolved_within = sum(reported.values()), sum(within.values())
    return Indicator(
        key="county_visit_rate",
        name=Text("县域内就诊率", "Share resolved within the county"),
        definition=Text(
            "当月签发首份报告的病例中，未升级至县外专家、未由县外机构（三级医院或其他医共体）签发任何报告、"
            "也未上转至县外的病例所占比例。",
            "Of the cases first reported in the month, the share that was neither escalated to an expert "
            "beyond the county, nor had any report signed beyond it (at a tertiary hospital or an "
            "institution of another community), nor was referred up beyond it.",
        ),
        unit="percent",
        value=percent(resolved_within, total),
        target=COUNTY_VISIT_TARGET,
        numerator=resolved_within,
        denominator=total,
        series=(_rates("by_kind", Text("按类型", "By kind"), _kinds(), within, reported),),
    )


def referrals(db: Session, scope: _Scope) -> list[Indicator]:
    rows = db.execute(
        select(Referral.direction, Referral.from_institution_id, Referral.to_institution_id, Institution.tier)
        .join(Institution, Institution.id == Referral.to_institution_id)
        .where(
            Referral.case_id.in_(select(Case.id).where(Case.institution_id.in_(scope.institutions))),
            scope.within(Referral.created_at),
        )
    ).all()
    up = [row for row in rows if row.direction == ReferralDirection.UP]
    up_from: Counter[object] = Counter(row.from_institution_id for row in up)
    up_to_tier: Counter[object] = Counter(row.tier for row in up)
    down_to: Counter[object] = Counter(
        r.to_institution_id for r in rows if r.direction == ReferralDirection.DOWN
    )
    institutions = _institutions(db, scope)
    return [
        Indicator(
            key="referrals_up",
            name=Text("上转", "Referrals up"),
            definition=Text(
                "当月发出的上转（双向转诊中由下级机构转往上级机构）数，含其后被拒收或撤回的，按转出机构和接收机构级别统计。",
                "Referrals up (from a lower to a higher institution) sent in the month, those later "
                "declined or cancelled included, by referring institution and by the receiving tier.",
            ),
            unit="count",
            value=sum(up_from.values()),
            series=(
                Series(
                    "by_institution",
                    Text("按转出机构", "By referring institution"),
                    _counted(institutions, up_from),
                ),
                Series(
                    "by_tier",
                    Text("按接收机构级别", "By receiving tier"),
                    _counted([(tier, TIER_LABELS[tier]) for tier in Tier], up_to_tier),
                ),
            ),
        ),
        Indicator(
            key="referrals_down",
            name=Text("下转", "Referrals down"),
            definition=Text(
                "当月发出的下转（上级机构将患者连同出院小结和随访计划转回基层）数，按接收机构统计。",
                "Referrals down (a patient sent back to the grassroots with a discharge summary and "
                "follow-up plan) sent in the month, by receiving institution.",
            ),
            unit="count",
            value=sum(down_to.values()),
            series=(
                Series(
                    "by_institution",
                    Text("按接收机构", "By receiving institution"),
                    _counted(institutions, down_to),
                ),
            ),
        ),
    ]


def grassroots_service_share(db: Session, scope: _Scope) -> Indicator:
    rows = db.execute(
        select(BillableItem.member_institution_id, func.count())
        .where(
            BillableItem.member_institution_id.in_(scope.institutions),
            scope.within(BillableItem.completed_at),
        )
        .group_by(BillableItem.member_institution_id)
    ).all()
    by_institution: Counter[object] = Counter(dict(rows))
    grassroots = set(
        db.scalars(
            select(Institution.id).where(
                Institution.community_id == scope.community_id, Institution.tier.in_(GRASSROOTS_TIERS)
            )
        )
    )
    total = sum(by_institution.values())
    numerator = sum(n for institution_id, n in by_institution.items() if institution_id in grassroots)
    return Indicator(
        key="grassroots_service_share",
        name=Text("基层服务占比", "Grassroots share of services"),
        definition=Text(
            "当月完成的计费服务中，由村卫生室、乡镇卫生院（社区卫生服务中心）申请的所占比例。",
            "Of the billable services completed in the month for the community's member units, the share "
            "requested by village clinics and township (community) health centres.",
        ),
        unit="percent",
        value=percent(numerator, total),
        target=GRASSROOTS_SHARE_TARGET,
        numerator=numerator,
        denominator=total,
        series=(
            Series(
                "by_institution",
                Text("按申请机构", "By institution"),
                _counted(_institutions(db, scope), by_institution),
            ),
        ),
    )


def _held_sessions(scope: _Scope) -> Select[int]:
    return select(TeachingSession.id).where(
        TeachingSession.community_id == scope.community_id, scope.within(TeachingSession.held_at)
    )


def teaching(db: Session, scope: _Scope) -> list[Indicator]:
    sessions: Counter[object] = Counter(
        dict(
            db.execute(
                select(TeachingSession.kind, func.count())
                .where(TeachingSession.id.in_(_held_sessions(scope)))
                .group_by(TeachingSession.kind)
            ).all()
        )
    )
    attendance_rows = db.execute(
        select(TeachingSession.kind, User.institution_id, func.count())
        .join(TeachingAttendance, TeachingAttendance.session_id == TeachingSession.id)
        .join(User, User.id == TeachingAttendance.trainee_id)
        .where(TeachingSession.id.in_(_held_sessions(scope)))
        .group_by(TeachingSession.kind, User.institution_id)
    ).all()
    attended_by_kind: Counter[object] = Counter()
    attended_by_institution: Counter[object] = Counter()
    for kind, institution_id, n in attendance_rows:
        attended_by_kind[kind] += n
        attended_by_institution[institution_id] += n
    kinds = [(kind, TEACHING_LABELS[kind]) for kind in TeachingKind]
    return [
        Indicator(
            key="teaching_sessions",
            name=Text("教学活动", "Teaching sessions held"),
            definition=Text(
                "当月举行的教学活动数（教学查房、临床带教、远程手术示教、远程教育），以实际举行时间计。",
                "Teaching sessions held in the month (ward rounds, bedside teaching, surgical "
                "demonstrations, remote lectures), by the time they were actually held.",
            ),
            unit="count",
            value=sum(sessions.values()),
            series=(Series("by_kind", Text("按形式", "By kind"), _counted(kinds, sessions)),),
        ),
        Indicator(
            key="teaching_attendance",
            name=Text("学员参与", "Trainee attendance"),
            definition=Text(
                "当月举行的教学活动的学员参与人次（每名学员每次活动计一次），按活动形式和学员所在机构统计。",
                "Trainee attendances (person-times: each trainee once per session) at the teaching "
                "sessions held in the month, by kind of session and by the trainee's institution.",
            ),
            unit="person_times",
            value=sum(attended_by_kind.values()),
            series=(
                Series("by_kind", Text("按形式", "By kind"), _counted(kinds, attended_by_kind)),
                Series(
                    "by_institution",
                    Text("按学员机构", "By trainee's institution"),
                    _counted(_institutions(db, scope), attended_by_institution),
                ),
            ),
        ),
    ]


def outreach_days(db: Session, scope: _Scope) -> Indicator:
    rows = db.execute(
        select(OutreachDay.host_institution_id, func.count())
        .where(
            OutreachDay.host_institution_id.in_(scope.institutions),
            OutreachDay.day >= scope.start.date(),
            OutreachDay.day < scope.end.date(),
        )
        .group_by(OutreachDay.host_institution_id)
    ).all()
    by_host: Counter[object] = Counter(dict(rows))
    return Indicator(
        key="outreach_days",
        name=Text("专家下沉", "Specialists' outreach days"),
        definition=Text(
            "当月专家到成员单位坐诊、带教的人天数（每名专家每天计一次），按接收机构统计。",
            "Days specialists worked at member institutions in the month (person-days: each specialist "
            "once a day), by host institution.",
        ),
        unit="person_days",
        value=sum(by_host.values()),
        series=(
            Series(
                "by_institution",
                Text("按接收机构", "By host institution"),
                _counted(_institutions(db, scope), by_host),
            ),
        ),
    )


def dashboard(db: Session, community: Community, month: str) -> Dashboard:
    """Every indicator of `community` for `month` (YYYY-MM; `BillingError` if malformed)."""
    start, end = parse_month(month)
    scope = _Scope(community.id, start, end)
    return Dashboard(
        month=month,
        community=community,
        indicators=(
            requests(db, scope),
            *turnaround(db, scope),
            urgent_overdue(db, scope),
            *referrals(db, scope),
            county_visit_rate(db, scope),
            grassroots_service_share(db, scope),
            *teaching(db, scope),
            outreach_days(db, scope),
        ),
    )
