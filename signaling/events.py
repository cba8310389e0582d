"""The room's viewer state (a fold of its event stream) and the writer that persists the stream.

Events are written off the event loop by one background task, a batch per transaction, so a busy
room never waits on the database; `close` drains what is queued.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from server.consults.models import RoomEvent
from server.core.db import transaction

log = logging.getLogger(__name__)


def empty_state() -> dict[str, Any]:
    return {"seq": 0, "open": None, "slice": None, "window": None, "viewport": None, "annotations": {}}


def fold(state: dict[str, Any], seq: int, event: dict[str, Any]) -> dict[str, Any]:
    """The state after `event`: what a late joiner needs to see what everybody else sees."""
    kind = event["kind"]
    body = {key: value for key, value in event.items() if key != "kind"}
    if kind == "open":
        state = {**empty_state(), "open": body["target"]}
    elif kind in ("slice", "window", "viewport"):
        state = {**state, kind: body["index"] if kind == "slice" else body}
    elif kind == "annotation_added":
        state = {**state, "annotations": {**state["annotations"], body["id"]: body["shape"]}}
    elif kind == "annotation_removed":
        annotations = dict(state["annotations"])
        annotations.pop(body["id"], None)
        state = {**state, "annotations": annotations}
    return {**state, "seq": seq}  # pointer moves are in the stream but not in the state


def for_observer(event: dict[str, Any]) -> dict[str, Any] | None:
    """What a trainee observer is shown of a viewer event: the kind of material opened but not its id
    (an original study's UIDs lead to the patient: PS3.15 replaces them), and no annotations (their
    shapes name original images). Trainees see the de-identified copies once the host publishes the
    recording to the teaching library; live, they watch the presenter's screen in the video."""
    kind = event["kind"]
    if kind == "open":
        return {"kind": "open", "target": {"type": event["target"]["type"], "id": ""}}
    if kind in ("annotation_added", "annotation_removed"):
        return None
    return event


def observer_state(state: dict[str, Any]) -> dict[str, Any]:
    """`state` as `for_observer` would have folded it."""
    opened = state["open"]
    return {**state, "open": opened and {"type": opened["type"], "id": ""}, "annotations": {}}


@dataclass(frozen=True)
class PendingEvent:
    session_id: int
    seq: int
    t_ms: int
    at: datetime
    user_id: int | None
    kind: str
    payload: dict[str, Any]


@dataclass
class EventWriter:
    """Queues room events and writes them in batches from a background task."""

    factory: sessionmaker[Session]
    max_batch: int = 200
    _queue: asyncio.Queue[PendingEvent | None] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def add(self, event: PendingEvent) -> None:
        self._queue.put_nowait(event)

    async def close(self) -> None:
        """Write everything queued, then stop."""
        self._queue.put_nowait(None)
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[PendingEvent] = []
            item = await self._queue.get()
            while True:
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= self.max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                try:
                    await asyncio.to_thread(self._write, batch)
                except Exception:  # a lost batch must not stop the room; the log says what was lost
                    log.exception("could not persist %d room events", len(batch))

    def _write(self, batch: list[PendingEvent]) -> None:
        with transaction(self.factory) as db:
            db.add_all(RoomEvent(**vars(event)) for event in batch)
