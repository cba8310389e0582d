"""Two-way referral (双向转诊) as data: its lifecycle, who moves it, priority flags, quotas and triage.

Up (上转): a grassroots doctor sends a referral with a letter and the source case's material; the
receiving hospital's referral office (分级诊疗办公室) receives it and books a slot from the quota it
reserves for its community's grassroots institutions (or declines it, saying why); the patient
arrives, is treated as an outpatient or admitted and discharged, and the referral closes.
Down (下转): the receiving doctor sends the patient back with a discharge summary and a follow-up
plan; when the grassroots doctor receives it, the patient joins their follow-up list and the up
referral's loop is closed.

Like `server.cases.workflow` for cases, `TRANSITIONS` is the whole rule and `decide` has no side effects;
the sides a user stands on are worked out in SQL by `server.access.policy.referral_sides`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from server.community.models import Institution, Tier, User
from server.core.lifecycle import Lifecycle, Transition, transition
from server.patients.models import Patient
from server.referrals.models import ReferralDirection, TriageColour
from server.referrals.models import ReferralState as S

UP, DOWN = ReferralDirection.UP, ReferralDirection.DOWN

DEFAULT_RESERVED_SHARE_BP = 3000  # 30% of slots kept for the community's grassroots referrals
GRASSROOTS_TIERS = frozenset({Tier.VILLAGE_CLINIC, Tier.TOWNSHIP_CENTRE})
TIER_LEVEL = {
    Tier.VILLAGE_CLINIC: 0,
    Tier.TOWNSHIP_CENTRE: 1,
    Tier.COUNTY_HOSPITAL: 2,
    Tier.TERTIARY_HOSPITAL: 3,
}

# 两免三优先 for a patient referred up by their family doctor: two fees waived, three priorities.
TWO_FREE_THREE_PRIORITY = (
    "no_registration_fee",  # 免挂号费
    "no_health_management_fee",  # 免健康管理费
    "priority_visit",  # 优先就诊
    "priority_exam",  # 优先检查
    "priority_admission",  # 优先住院
)

# 三色分级分层管理: who manages the chronic patient, in Chinese and English.
TRIAGE_MEANINGS: dict[TriageColour, tuple[str, str]] = {
    TriageColour.GREEN: ("绿色：交基层（村卫生室）管理", "green: managed at the village clinic"),
    TriageColour.YELLOW: ("黄色：交县医院全专门诊管理", "yellow: county hospital GP + specialist clinic"),
    TriageColour.RED: ("红色：由上级专科联盟专家会诊指导", "red: specialist-alliance experts guide care"),
}

DISCHARGE_TRIAGE_REASON = "出院下转时的分级 · triage at discharge"  # the first colour of a follow-up entry


class Side(enum.StrEnum):
    """How a user stands to a referral; one user may stand on several sides."""

    SENDER = "sender"  # a doctor of the referring institution
    RECEIVER = "receiver"  # a doctor of the receiving institution
    OFFICE = "office"  # a member of the receiving institution's referral office
    ADMIN = "admin"  # an administrator of the community


class ReferralAction(enum.StrEnum):
    """What a person does to a referral (named for the contracts: cases have their own `Action`)."""

    RECEIVE = "receive"
    BOOK = "book"
    DECLINE = "decline"
    ARRIVE = "arrive"
    ADMIT = "admit"
    TREAT = "treat"
    DISCHARGE = "discharge"
    REFER_DOWN = "refer_down"  # send the patient back with a plan; the up referral keeps its state
    CLOSE = "close"
    CANCEL = "cancel"


Action = ReferralAction


def _t(
    direction: ReferralDirection, action: Action, sources: Iterable[S], by: Iterable[Side], target: S | None
) -> Transition[Action, S, Side]:
    return transition(action, sources, by, target, variant=direction)


OF, RE, SE = Side.OFFICE, Side.RECEIVER, Side.SENDER

TRANSITIONS: tuple[Transition[Action, S, Side], ...] = (
    _t(UP, Action.RECEIVE, [S.SENT], [OF], S.RECEIVED),
    _t(UP, Action.BOOK, [S.RECEIVED], [OF], S.BOOKED),
    _t(UP, Action.DECLINE, [S.SENT, S.RECEIVED], [OF], S.DECLINED),
    _t(UP, Action.ARRIVE, [S.BOOKED], [OF, RE], S.ARRIVED),
    _t(UP, Action.ADMIT, [S.ARRIVED], [RE], S.ADMITTED),
    _t(UP, Action.TREAT, [S.ARRIVED], [RE], S.TREATED),
    _t(UP, Action.DISCHARGE, [S.ADMITTED], [RE], S.DISCHARGED),
    _t(UP, Action.REFER_DOWN, [S.TREATED, S.DISCHARGED], [RE], None),
    _t(UP, Action.CLOSE, [S.TREATED, S.DISCHARGED], [SE, RE], S.CLOSED),
    _t(UP, Action.CANCEL, [S.SENT, S.RECEIVED, S.BOOKED], [SE], S.CANCELLED),
    _t(DOWN, Action.RECEIVE, [S.SENT], [RE, OF], S.RECEIVED),
    _t(DOWN, Action.CLOSE, [S.RECEIVED], [RE], S.CLOSED),
    _t(DOWN, Action.CANCEL, [S.SENT], [SE], S.CANCELLED),
)

# States whose referral still holds its patient's place (one open up referral per case).
OPEN_STATES = frozenset({S.SENT, S.RECEIVED, S.BOOKED, S.ARRIVED, S.ADMITTED})


REFERRALS: Lifecycle[Action, S, Side] = Lifecycle("referral", TRANSITIONS)


def decide(direction: ReferralDirection, action: Action, state: S, sides: Iterable[Side]) -> S:
    """The state `action` leads to, or a `Refusal`; the state is checked before the person."""
    return REFERRALS.decide(action, state, sides, variant=direction)


def actions_for(direction: ReferralDirection, state: S, sides: Iterable[Side]) -> list[Action]:
    return REFERRALS.actions_for(state, sides, variant=direction)


def is_upward(source: Institution, target: Institution) -> bool:
    """A referral up goes to a higher tier of the same medical community."""
    return source.community_id == target.community_id and TIER_LEVEL[target.tier] > TIER_LEVEL[source.tier]


def priority_flags(doctor: User, patient: Patient) -> list[str]:
    """两免三优先 when the patient's family doctor refers them up: a grassroots doctor of their own unit."""
    institution = doctor.institution
    if institution is None or institution.tier not in GRASSROOTS_TIERS:
        return []
    return list(TWO_FREE_THREE_PRIORITY) if patient.institution_id == institution.id else []


def reserved_slots(capacity: int, share_bp: int) -> int:
    """Slots of `capacity` kept for grassroots referrals: the share rounded up, so 30% of 1 is 1."""
    return min(capacity, -(-capacity * share_bp // 10000))
