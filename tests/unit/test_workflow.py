"""The case state machine, exhaustively: every action in every state for every relation to the case."""

from __future__ import annotations

import itertools

import pytest

from server.api.errors import http_status
from server.cases.models import CaseStatus as S
from server.cases.workflow import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Relation,
    actions_for,
    decide,
)
from server.core.lifecycle import IllegalTransition, NotPermitted

R = Relation

# The lifecycle of the issue, written out by hand: the table must contain exactly these steps.
EXPECTED = {
    (Action.SUBMIT, S.DRAFT, R.REQUESTER): S.SUBMITTED,
    (Action.QUEUE, S.SUBMITTED, R.SYSTEM): S.QUEUED,
    (Action.ADDRESS, S.SUBMITTED, R.SYSTEM): S.ASSIGNED,
    (Action.CLAIM, S.QUEUED, R.CENTRE_READER): S.ASSIGNED,
    (Action.ASSIGN, S.QUEUED, R.CENTRE_DISPATCHER): S.ASSIGNED,
    (Action.ASSIGN, S.QUEUED, R.ADMIN): S.ASSIGNED,
    (Action.ASSIGN, S.ASSIGNED, R.CENTRE_DISPATCHER): S.ASSIGNED,
    (Action.ASSIGN, S.ASSIGNED, R.ADMIN): S.ASSIGNED,
    (Action.START_REVIEW, S.ASSIGNED, R.ASSIGNEE): S.IN_REVIEW,
    (Action.RETURN, S.QUEUED, R.CENTRE_READER): S.RETURNED,
    (Action.RETURN, S.QUEUED, R.CENTRE_DISPATCHER): S.RETURNED,
    (Action.RETURN, S.ASSIGNED, R.ASSIGNEE): S.RETURNED,
    (Action.RETURN, S.ASSIGNED, R.CENTRE_DISPATCHER): S.RETURNED,
    (Action.RETURN, S.IN_REVIEW, R.ASSIGNEE): S.RETURNED,
    (Action.RETURN, S.IN_REVIEW, R.CENTRE_DISPATCHER): S.RETURNED,
    (Action.RESUBMIT, S.RETURNED, R.REQUESTER): S.SUBMITTED,
    (Action.ESCALATE, S.IN_REVIEW, R.ASSIGNEE): S.ESCALATED,
    (Action.ANSWER, S.ESCALATED, R.ESCALATION_EXPERT): S.IN_REVIEW,
    (Action.WRITE_REPORT, S.IN_REVIEW, R.ASSIGNEE): S.IN_REVIEW,
    (Action.WRITE_REPORT, S.ESCALATED, R.ESCALATION_EXPERT): S.ESCALATED,
    (Action.SIGN, S.IN_REVIEW, R.ASSIGNEE): S.REPORTED,
    (Action.SIGN, S.ESCALATED, R.ESCALATION_EXPERT): S.REPORTED,
    (Action.AMEND, S.REPORTED, R.ASSIGNEE): S.REPORTED,
    (Action.AMEND, S.REPORTED, R.ESCALATION_EXPERT): S.REPORTED,
    (Action.AMEND, S.CLOSED, R.ASSIGNEE): S.CLOSED,
    (Action.AMEND, S.CLOSED, R.ESCALATION_EXPERT): S.CLOSED,
    (Action.CLOSE, S.REPORTED, R.REQUESTER): S.CLOSED,
    (Action.CLOSE, S.REPORTED, R.ADMIN): S.CLOSED,
    **{
        (Action.CANCEL, state, who): S.CANCELLED
        for state in (S.DRAFT, S.SUBMITTED, S.QUEUED, S.ASSIGNED, S.RETURNED)
        for who in (R.REQUESTER, R.ADMIN)
    },
}

EVERY_CASE = list(itertools.product(Action, S, Relation))


@pytest.mark.parametrize(("action", "state", "who"), EVERY_CASE, ids=lambda v: v.value)
def test_every_action_in_every_state_for_every_relation(action: Action, state: S, who: Relation) -> None:
    expected = EXPECTED.get((action, state, who))
    if expected is not None:
        assert decide(action, state, {who}) == expected
        return
    possible_here = any(a == action and s == state for a, s, _ in EXPECTED)
    refusal = NotPermitted if possible_here else IllegalTransition
    with pytest.raises(refusal) as refused:
        decide(action, state, {who})
    # The message names the state the case is in, so the client can tell the user why.
    assert state.value in str(refused.value) and action.value in str(refused.value)
    assert http_status(refused.value) == (403 if possible_here else 409)


def test_the_table_says_nothing_beyond_the_expected_lifecycle() -> None:
    from_table = {
        (t.action, state, who): (t.target or state)
        for t in TRANSITIONS
        for state in t.sources
        for who in t.by
    }
    assert from_table == EXPECTED


def test_holding_several_relations_allows_what_any_of_them_allows() -> None:
    # A reader of the centre who claimed the case is also its assignee: they may start the review.
    assert decide(Action.START_REVIEW, S.ASSIGNED, {R.CENTRE_READER, R.ASSIGNEE}) == S.IN_REVIEW
    with pytest.raises(NotPermitted):
        decide(Action.START_REVIEW, S.ASSIGNED, {R.CENTRE_READER})
    with pytest.raises(NotPermitted):
        decide(Action.CLAIM, S.QUEUED, set())


def test_every_state_is_reachable_from_draft_and_every_open_case_can_end() -> None:
    edges: dict[S, set[S]] = {}
    for (_action, source, _who), target in EXPECTED.items():
        edges.setdefault(source, set()).add(target)

    def reachable(start: S) -> set[S]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges.get(todo.pop(), set()) - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    assert reachable(S.DRAFT) == set(S)
    for state in set(S) - TERMINAL_STATES:
        assert reachable(state) & TERMINAL_STATES, f"a {state.value} case can never be closed or cancelled"
    # Terminal states: nothing but amending the report of a closed case, and that keeps it closed.
    assert {t for (_a, s, _w), t in EXPECTED.items() if s in TERMINAL_STATES} == {S.CLOSED}
    assert OPEN_STATES.isdisjoint(TERMINAL_STATES | {S.DRAFT, S.RETURNED, S.REPORTED})


def test_routing_is_the_platform_s_alone_and_no_user_is_offered_it() -> None:
    for who in set(Relation) - {R.SYSTEM}:
        for action in (Action.QUEUE, Action.ADDRESS):
            with pytest.raises(NotPermitted):
                decide(action, S.SUBMITTED, {who})
    assert actions_for(S.SUBMITTED, set(Relation)) == [Action.CANCEL]
    assert actions_for(S.QUEUED, {R.CENTRE_READER}) == [Action.CLAIM, Action.RETURN]
    assert actions_for(S.REPORTED, {R.REQUESTER}) == [Action.CLOSE]
