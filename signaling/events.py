"""The writer that persists a room's event stream (the rules of its state: `server.consults.viewer_events`).

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
