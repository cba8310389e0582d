"""The case lifecycle as data: which action moves a case from which state to which, and who may take it.

A case is drafted by a requester's institution, submitted, routed (queued at the reading centre of
its kind, or addressed to a named expert), taken by a reader (claimed from the queue or assigned by
the centre's dispatcher), reviewed, perhaps returned for more information (退回补充) or escalated to a
tertiary expert for a second opinion, reported (signed), and closed when the requester has the
result (结果反馈); it may be cancelled before it is reported.

`TRANSITIONS` is the whole rule, read by the one lifecycle engine (`server.core.lifecycle`); `decide`
answers one question about it and has no side effects;
the relations a user holds to a case are worked out in SQL by `server.access.policy.case_relations`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from server.cases.models import CaseStatus as S
from server.cases.models import Urgency
from server.core.config import Settings
from server.core.lifecycle import Lifecycle, Transition, transition


class Relation(enum.StrEnum):
    """How a user stands to a case. One user may hold several (a centre's reader who claimed it)."""

    REQUESTER = "requester"  # a requesting doctor of the case's institution
    CENTRE_READER = "centre_reader"  # a reader at the reading centre the case is queued at
    CENTRE_DISPATCHER = "centre_dispatcher"  # the dispatcher of that centre
    ASSIGNEE = "assignee"  # the reader or expert the case is assigned or addressed to
    ESCALATION_EXPERT = "escalation_expert"  # the expert asked for a second opinion
    ADMIN = "admin"  # an administrator of the case's medical community
    SYSTEM = "system"  # the platform itself (routing after submission)


class Action(enum.StrEnum):
    SUBMIT = "submit"
    QUEUE = "queue"  # routing: to the reading centre of the case's kind
    ADDRESS = "address"  # routing: to the named expert or the reader who returned it
    CLAIM = "claim"
    ASSIGN = "assign"
    START_REVIEW = "start_review"
    RETURN = "return"  # 退回补充
    RESUBMIT = "resubmit"
    ESCALATE = "escalate"
    ANSWER = "answer"  # the escalation expert gives the second opinion back to the reader
    WRITE_REPORT = "write_report"  # save a report draft; the case stays where it is
    SIGN = "sign"
    AMEND = "amend"  # a new signed report version; the case stays where it is
    CLOSE = "close"
    CANCEL = "cancel"


R = Relation


_t = transition

TRANSITIONS: tuple[Transition[Action, S, Relation], ...] = (
    _t(Action.SUBMIT, [S.DRAFT], [R.REQUESTER], S.SUBMITTED),
    _t(Action.QUEUE, [S.SUBMITTED], [R.SYSTEM], S.QUEUED),
    _t(Action.ADDRESS, [S.SUBMITTED], [R.SYSTEM], S.ASSIGNED),
    _t(Action.CLAIM, [S.QUEUED], [R.CENTRE_READER], S.ASSIGNED),
    _t(Action.ASSIGN, [S.QUEUED, S.ASSIGNED], [R.CENTRE_DISPATCHER, R.ADMIN], S.ASSIGNED),
    _t(Action.START_REVIEW, [S.ASSIGNED], [R.ASSIGNEE], S.IN_REVIEW),
    _t(Action.RETURN, [S.QUEUED], [R.CENTRE_READER, R.CENTRE_DISPATCHER], S.RETURNED),
    _t(Action.RETURN, [S.ASSIGNED, S.IN_REVIEW], [R.ASSIGNEE, R.CENTRE_DISPATCHER], S.RETURNED),
    _t(Action.RESUBMIT, [S.RETURNED], [R.REQUESTER], S.SUBMITTED),
    _t(Action.ESCALATE, [S.IN_REVIEW], [R.ASSIGNEE], S.ESCALATED),
    _t(Action.ANSWER, [S.ESCALATED], [R.ESCALATION_EXPERT], S.IN_REVIEW),
    _t(Action.WRITE_REPORT, [S.IN_REVIEW], [R.ASSIGNEE], None),
    _t(Action.WRITE_REPORT, [S.ESCALATED], [R.ESCALATION_EXPERT], None),
    _t(Action.SIGN, [S.IN_REVIEW], [R.ASSIGNEE], S.REPORTED),
    _t(Action.SIGN, [S.ESCALATED], [R.ESCALATION_EXPERT], S.REPORTED),
    _t(Action.AMEND, [S.REPORTED, S.CLOSED], [R.ASSIGNEE, R.ESCALATION_EXPERT], None),
    _t(Action.CLOSE, [S.REPORTED], [R.REQUESTER, R.ADMIN], S.CLOSED),
    _t(
        Action.CANCEL,
        [S.DRAFT, S.SUBMITTED, S.QUEUED, S.ASSIGNED, S.RETURNED],
        [R.REQUESTER, R.ADMIN],
        S.CANCELLED,
    ),
)

# States in which a case waits on the reading side; only these can become overdue.
OPEN_STATES = frozenset({S.SUBMITTED, S.QUEUED, S.ASSIGNED, S.IN_REVIEW, S.ESCALATED})
TERMINAL_STATES = frozenset({S.CLOSED, S.CANCELLED})


@dataclass(frozen=True)
class TargetTimes:
    """How long after submission an answer is due (urgent 急: 2 h; routine: 48 h by default)."""

    urgent: timedelta = timedelta(hours=2)
    routine: timedelta = timedelta(hours=48)

    def for_urgency(self, urgency: Urgency) -> timedelta:
        return self.urgent if urgency == Urgency.URGENT else self.routine

    @classmethod
    def configured(cls, settings: Settings) -> TargetTimes:
        """The target times an installation configures (`TELEMED_URGENT_TARGET_MINUTES`, ...)."""
        return cls(
            urgent=timedelta(minutes=settings.urgent_target_minutes),
            routine=timedelta(hours=settings.routine_target_hours),
        )


CASES: Lifecycle[Action, S, Relation] = Lifecycle("case", TRANSITIONS, system=Relation.SYSTEM)


def decide(action: Action, state: S, relations: Iterable[Relation]) -> S:
    """The state `action` leads to from `state` for a user holding `relations`, or a `Refusal`."""
    return CASES.decide(action, state, relations)


def routing_action(has_addressee: bool) -> Action:
    """After (re)submission: to the named expert / the reader who returned it, else to the centre queue."""
    return Action.ADDRESS if has_addressee else Action.QUEUE


def actions_for(state: S, relations: Iterable[Relation]) -> list[Action]:
    """What a user holding `relations` may do now (for the UI's buttons)."""
    return CASES.actions_for(state, relations)
