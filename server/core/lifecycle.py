"""A lifecycle as data: which action moves a thing from which state to which, and who may take it.

Cases (`server.cases.workflow`) and referrals (`server.referrals.lifecycle`) are both a table of
`Transition`s read by one `Lifecycle`. `decide` is side-effect free: the state is checked before the
person, so whoever may see the thing learns why nothing can happen now (`IllegalTransition`, 409)
rather than only that they may not (`NotPermitted`, an audited 403). A table may split its rows by
`variant` (a referral's direction), each variant a lifecycle of its own.

`Dispatcher` runs the side of a step the table cannot say: one performer function per action.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from server.core.errors import Conflict, DomainError, Forbidden, NotFound

A = TypeVar("A", bound=enum.Enum)  # actions
S = TypeVar("S", bound=enum.Enum)  # states
P = TypeVar("P", bound=enum.Enum)  # parties: how a person stands to the thing
R = TypeVar("R")  # what a performer returns


@dataclass(frozen=True)
class Transition(Generic[A, S, P]):
    action: A
    sources: frozenset[S]
    by: frozenset[P]
    target: S | None  # None: the thing keeps its state
    variant: Hashable = None


def transition(
    action: A, sources: Iterable[S], by: Iterable[P], target: S | None, variant: Hashable = None
) -> Transition[A, S, P]:
    return Transition(action, frozenset(sources), frozenset(by), target, variant)


class Refusal(DomainError):
    """An action that may not be taken now; `action` and `state` say which and when."""

    def __init__(self, code: str, action: enum.Enum, state: enum.Enum, message: str) -> None:
        super().__init__(code, message, action=action.value, state=state.value)
        self.action = action
        self.state = state


class IllegalTransition(Refusal, Conflict):
    """Nobody may take this action in the current state."""


class NotPermitted(Refusal, Forbidden):
    """The action is possible in this state, but not for this person (the door audits it as a refusal)."""


class Lifecycle(Generic[A, S, P]):
    """The rules of one kind of thing (`noun`, for messages) as a table of transitions."""

    def __init__(self, noun: str, transitions: Iterable[Transition[A, S, P]], *, system: P | None = None):
        self.noun = noun
        self.transitions = tuple(transitions)
        self.system = system  # the party that stands for the platform itself: never a button

    def _rows(self, action: A, variant: Hashable) -> list[Transition[A, S, P]]:
        return [t for t in self.transitions if t.action == action and t.variant == variant]

    def _what(self, variant: Hashable) -> str:
        return f"{variant} {self.noun}" if variant is not None else self.noun

    def decide(self, action: A, state: S, parties: Iterable[P], variant: Hashable = None) -> S:
        """The state `action` leads to from `state` for a person standing as `parties`, or a `Refusal`."""
        rows = [t for t in self._rows(action, variant) if state in t.sources]
        if not rows:
            allowed = sorted(s.value for t in self._rows(action, variant) for s in t.sources)
            when = f"possible only when {', '.join(allowed)}" if allowed else "never possible"
            article = "an" if self._what(variant)[0] in "aeiou" else "a"
            raise IllegalTransition(
                "illegal_transition",
                action,
                state,
                f"cannot {action.value} {article} {self._what(variant)} that is {state.value} ({when})",
            )
        held = set(parties)
        for row in rows:
            if row.by & held:
                return state if row.target is None else row.target
        who = sorted({p.value for row in rows for p in row.by})
        raise NotPermitted(
            "forbidden",
            action,
            state,
            f"only the {self.noun}'s {' or '.join(who)} may {action.value} it when it is {state.value}",
        )

    def actions_for(self, state: S, parties: Iterable[P], variant: Hashable = None) -> list[A]:
        """What a person standing as `parties` may do now (for the UI's buttons); never the platform's own."""
        held = set(parties)
        return sorted(
            {
                t.action
                for t in self.transitions
                if t.variant == variant
                and state in t.sources
                and t.by & held
                and (self.system is None or self.system not in t.by)
            },
            key=lambda action: action.value,
        )


class Dispatcher(Generic[A, R]):
    """One performer per action a person takes through a door: `dispatch` looks it up by name."""

    def __init__(self, noun: str, actions: type[A], performers: dict[A, Callable[..., R]]) -> None:
        self.noun = noun
        self.actions = actions
        self.performers = performers

    def action(self, name: str) -> A:
        """The action called `name`, or a 404 naming the ones there are."""
        for action in self.performers:
            if action.value == name:
                return action
        names = ", ".join(a.value for a in self.performers)
        raise NotFound("unknown_action", f"no action {name!r}; actions: {names}")

    def performer(self, action: A) -> Callable[..., R]:
        return self.performers[action]
