"""A person's action on a case, by name: the one `Dispatcher` every door uses to reach the performers.

Routing (`queue`, `address`) is the platform's and drafts are saved with `reports.save_draft`, so
neither is an action a person takes here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.cases import reports, service
from server.cases.service import Step
from server.cases.workflow import Action, TargetTimes
from server.core.clock import Clock
from server.core.lifecycle import Dispatcher


@dataclass(frozen=True)
class ActionRequest:
    """What a person sends with an action; each action reads the parts it needs."""

    targets: TargetTimes  # the installation's target times ((re)submission)
    note: str | None = None
    expert_id: int | None = None  # submit: the addressed expert; escalate: the second opinion's
    assignee_id: int | None = None  # assign
    reason: str | None = None  # amend
    content: dict[str, Any] | None = None  # amend


Performer = Callable[[Session, Actor, Clock, int, ActionRequest], Step]

PERFORMERS: dict[Action, Performer] = {
    Action.SUBMIT: lambda db, actor, clock, case_id, r: service.submit(
        db, actor, clock, case_id, targets=r.targets, note=r.note, expert_id=r.expert_id
    ),
    Action.RESUBMIT: lambda db, actor, clock, case_id, r: service.resubmit(
        db, actor, clock, case_id, targets=r.targets, note=r.note
    ),
    Action.CLAIM: lambda db, actor, clock, case_id, r: service.claim(db, actor, clock, case_id),
    Action.ASSIGN: lambda db, actor, clock, case_id, r: service.assign(
        db, actor, clock, case_id, assignee_id=r.assignee_id, note=r.note
    ),
    Action.START_REVIEW: lambda db, actor, clock, case_id, r: service.start_review(db, actor, clock, case_id),
    Action.RETURN: lambda db, actor, clock, case_id, r: service.return_case(
        db, actor, clock, case_id, note=r.note
    ),
    Action.ESCALATE: lambda db, actor, clock, case_id, r: service.escalate(
        db, actor, clock, case_id, expert_id=r.expert_id, note=r.note
    ),
    Action.ANSWER: lambda db, actor, clock, case_id, r: service.answer(
        db, actor, clock, case_id, note=r.note
    ),
    Action.SIGN: lambda db, actor, clock, case_id, r: reports.sign(db, actor, clock, case_id),
    Action.AMEND: lambda db, actor, clock, case_id, r: reports.amend(
        db, actor, clock, case_id, content=r.content, reason=r.reason
    ),
    Action.CLOSE: lambda db, actor, clock, case_id, r: service.close(db, actor, clock, case_id, note=r.note),
    Action.CANCEL: lambda db, actor, clock, case_id, r: service.cancel(
        db, actor, clock, case_id, note=r.note
    ),
}

CASE_ACTIONS: Dispatcher[Action, Step] = Dispatcher("case", Action, PERFORMERS)


def take_action(
    db: Session, actor: Actor, clock: Clock, case_id: int, action_name: str, request: ActionRequest
) -> Step:
    """Take the action called `action_name` on a case (404 `unknown_action` naming the ones there are)."""
    action = CASE_ACTIONS.action(action_name)
    return CASE_ACTIONS.performer(action)(db, actor, clock, case_id, request)
