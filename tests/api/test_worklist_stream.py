"""The live worklist: server-sent events from a real server process when another user changes a case."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.access.models import AuditEvent
from server.community.models import User
from tests.support.accounts import add_reader

WAIT_SECONDS = 10


class Subscriber:
    """A worklist stream read in a thread, as a browser's EventSource would; events land in a queue."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.opened = threading.Event()
        self.ended = threading.Event()
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(5, read=60))
        self._stop = False
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        assert self.opened.wait(WAIT_SECONDS), "the stream did not open"

    def _read(self, url: str) -> None:
        try:
            with self._client.stream("GET", f"{url}/api/worklist/stream") as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                self.opened.set()
                self._parse(response.iter_lines())
        except httpx.TransportError:
            if not self._stop:  # only our own close() may cut the connection
                raise
        finally:
            self.ended.set()

    def _parse(self, lines: Iterator[str]) -> None:
        kind, data = "message", ""
        for line in lines:
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                self.events.put((kind, json.loads(data)))
                kind, data = "message", ""

    def next_for(self, case_id: int, action: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                kind, data = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if kind == "case" and data["case_id"] == case_id and data["action"] == action:
                return data
        raise AssertionError(f"no '{action}' event for case {case_id} within {WAIT_SECONDS} s")

    def seen_cases(self) -> set[int]:
        seen = set()
        while not self.events.empty():
            kind, data = self.events.get_nowait()
            if kind == "case":
                seen.add(data["case_id"])
        return seen

    def close(self) -> None:
        self._stop = True
        self._client.close()  # drops the connection, as a closed browser tab does
        self._thread.join(timeout=WAIT_SECONDS)


@contextmanager
def subscribed(url: str, headers: dict[str, str]) -> Iterator[Subscriber]:
    subscriber = Subscriber(url, headers)
    try:
        yield subscriber
    finally:
        subscriber.close()


def stream_ends(session_factory: sessionmaker[Session], username: str, after_id: int) -> list[AuditEvent]:
    with session_factory() as db:
        return list(
            db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "worklist_stream_end",
                    AuditEvent.username == username,
                    AuditEvent.id > after_id,
                )
            )
        )


def last_audit_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as db:
        return db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def test_the_worklist_stream_tells_readers_of_submissions_and_claims(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    platform = live_server.platform
    url = platform.url
    second = add_reader(session_factory)
    village = httpx.Client(headers=platform.bearer("village"), timeout=30)
    other_reader = httpx.Client(headers=platform.bearer(second), timeout=30)
    before = last_audit_id(session_factory)

    with (
        subscribed(url, platform.bearer("radiologist")) as radiologist,
        subscribed(url, platform.bearer("ecgreader")) as ecg,
    ):
        case_id = village.post(
            f"{url}/api/cases", json={"kind": "imaging", "patient": {"name": "直播测试"}}
        ).json()["id"]
        village.post(f"{url}/api/cases/{case_id}/actions/submit", json={})
        queued = radiologist.next_for(case_id, "queue")
        assert queued["to_status"] == "queued" and queued["case"]["kind"] == "imaging"
        assert "patient" not in queued  # events name the case only; the worklist read is audited

        other_reader.post(f"{url}/api/cases/{case_id}/actions/claim", json={})
        claimed = radiologist.next_for(case_id, "claim")
        assert claimed["from_status"] == "queued" and claimed["case"]["status"] == "assigned"
        assert case_id not in ecg.seen_cases()  # the ECG centre never hears of the imaging case

    # Both streams ended on the server when their clients went away, and said so in the audit log.
    deadline = time.monotonic() + WAIT_SECONDS
    while not (
        stream_ends(session_factory, "radiologist", before)
        and stream_ends(session_factory, "ecgreader", before)
    ):
        assert time.monotonic() < deadline, "the server kept a closed stream open"
        time.sleep(0.2)
    (ended,) = stream_ends(session_factory, "radiologist", before)
    assert ended.detail["reason"] == "client_closed" and ended.detail["events_sent"] >= 3
    village.close()
    other_reader.close()


def test_the_stream_ends_when_the_login_session_does(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    platform = live_server.platform
    headers = platform.bearer("dispatcher")
    subscriber = Subscriber(platform.url, headers)
    try:
        assert httpx.post(f"{platform.url}/api/auth/logout", headers=headers).status_code == 204
        assert subscriber.ended.wait(WAIT_SECONDS), "the stream outlived the session"
        kinds = []
        while not subscriber.events.empty():
            kinds.append(subscriber.events.get_nowait())
        assert ("end", {"reason": "session_ended"}) in kinds
    finally:
        subscriber.close()
    with session_factory() as db:
        dispatcher = db.scalar(select(User.id).where(User.username == "dispatcher"))
        reasons = db.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "worklist_stream_end", AuditEvent.user_id == dispatcher
            )
        ).all()
    assert {"reason": "session_ended"}.items() <= reasons[-1].items()


def test_a_stream_needs_a_clinical_login(live_server) -> None:
    url = live_server.platform.url
    assert httpx.get(f"{url}/api/worklist/stream").status_code == 401
    assert (
        httpx.get(f"{url}/api/worklist/stream", headers=live_server.platform.bearer("trainee")).status_code
        == 403
    )
