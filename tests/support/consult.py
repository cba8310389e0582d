"""Helpers shared by the consult tests: logins, the signalling server (in-process or as a process with
coturn), two aiortc participants meeting, and driving a recording (consent, viewer events, the worker).

The fixtures built on them (`turn`, `room_url`, `worker`) are in tests/media/conftest.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.cases.models import Case
from server.community.models import Institution, User
from server.consults.models import Recording
from server.core.config import Settings
from server.core.db import transaction
from server.teaching.models import TeachingKind, TeachingSession
from signaling.app import create_app
from tests.support.accounts import DEMO_PASSWORD
from tests.support.live import LivePlatform, live_platform
from tests.support.rtc import RtcPeer
from tests.support.services import free_port, process_env, running, telemed_command

MIN_VIDEO_FRAMES, MIN_AUDIO_FRAMES = 20, 50  # about 1 s of each

_TOKENS: dict[str, str] = {}


def bearer(api: Any, username: str) -> dict[str, str]:
    """`Authorization` for a demo user, from one real API login per user and test session."""
    if username not in _TOKENS:
        response = TestClient(api).post(
            "/api/auth/login", json={"username": username, "password": DEMO_PASSWORD, "bearer": True}
        )
        _TOKENS[username] = response.json()["token"]
    return {"Authorization": f"Bearer {_TOKENS[username]}"}


def token(app: Any, username: str) -> str:
    return bearer(app, username)["Authorization"].removeprefix("Bearer ")


def with_rtc(settings: Settings, **rtc: Any) -> Settings:
    return dataclasses.replace(settings, rtc=dataclasses.replace(settings.rtc, **rtc))


@contextmanager
def signalling_server(settings: Settings) -> Iterator[TestClient]:
    """The signalling app with a 1 s grace period, its lifespan (event writer) running."""
    with TestClient(create_app(with_rtc(settings, grace_seconds=1))) as client:
        yield client


def next_of(ws: Any, kind: str, *, limit: int = 20) -> dict[str, Any]:
    """The next frame of type `kind`, skipping presence and other frames on the way."""
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind!r} frame within {limit} frames")


def village_case_id(session_factory: Any) -> int:
    with session_factory() as db:
        return db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )


def user_id_of(session_factory: Any, username: str) -> int:
    with session_factory() as db:
        return db.scalar(select(User.id).where(User.username == username))


def refusal(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path, headers=headers) as ws:
        ws.receive_json()
    return refused.value.code, refused.value.reason


@contextmanager
def signalling_process(
    settings: Settings, turn_urls: list[str], turn_secret: str, log: Path
) -> Iterator[int]:
    """The signalling server as its own process handing out these TURN URLs; yields its port."""
    port = free_port()
    env = {
        **process_env(settings),
        "TELEMED_SIGNALING_PORT": str(port),
        "TELEMED_TURN_URLS": ",".join(turn_urls),
        "TELEMED_TURN_SECRET": turn_secret,
    }
    with running(telemed_command("signaling"), env, ready_url=f"http://127.0.0.1:{port}/healthz", log=log):
        yield port


@contextmanager
def platform_with_signalling(settings: Settings, logs: Path) -> Iterator[tuple[LivePlatform, str]]:
    """API, worker and signalling server processes, the API handing browsers the signalling port;
    yields the platform and that port. A closed browser's peer stays "away" for the grace period:
    1 s here, so one test's leftovers have left before the next test's browsers join the same room."""
    port = str(free_port())
    env = {"TELEMED_SIGNALING_PORT": port, "TELEMED_SIGNALING_GRACE_SECONDS": "1"}
    signalling = running(
        telemed_command("signaling"),
        {**process_env(settings), **env},
        ready_url=f"http://127.0.0.1:{port}/healthz",
        log=logs / "signaling.log",
    )
    with signalling, live_platform(settings, DEMO_PASSWORD, logs, extra_env=env) as platform:
        yield platform, port


async def until_flowing(*peers: RtcPeer, timeout: float = 20) -> None:
    """Until each peer has had about a second of both audio and video, or fail the test."""

    def enough(peer: RtcPeer) -> bool:
        frames = peer.received.frames
        return frames["video"] >= MIN_VIDEO_FRAMES and frames["audio"] >= MIN_AUDIO_FRAMES

    async def flowing() -> None:
        while not all(enough(peer) for peer in peers):
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(flowing(), timeout)
    except TimeoutError:
        pytest.fail(f"media did not flow: {[peer.received.frames for peer in peers]}")


async def meet(village: RtcPeer, reader: RtcPeer, timeout: float = 20) -> None:
    """Join both (the reader second, so it offers), wait until each has had enough of both kinds."""
    await village.join()
    await reader.join()
    await until_flowing(village, reader, timeout=timeout)


async def viewer(host: RtcPeer, index: int) -> int:
    """Send a `slice` viewer event; its `t_ms` on the session clock, from the server's echo. The server
    handles one socket's frames in order, so this marks the session time of the host's next frame."""
    after = len(host.frames)
    await host.send({"type": "viewer", "event": {"kind": "slice", "index": index}})
    _, echo = await host.next_frame("viewer", after=after)
    return int(echo["t_ms"])


async def consent(*peers: RtcPeer) -> None:
    """Each consents; returns once the host (the last peer) has seen every consent."""
    host = peers[-1]
    for peer in peers:
        await peer.send({"type": "consent", "recording": True})
    want = {p.welcome["peer_id"] for p in peers}
    while want - {f["peer_id"] for f in host.frames if f["type"] == "peer_updated" and f["consent"]}:
        await asyncio.sleep(0.05)


async def server_joined(peer: RtcPeer) -> None:
    """Until `peer` has seen the recorder join (role `server`)."""
    index = 0
    while (found := await peer.next_frame("peer_joined", after=index))[1]["role"] != "server":
        index = found[0] + 1


def recordings_of(session_factory: Any, session_id: int) -> list[Recording]:
    with session_factory() as db:
        return list(db.scalars(select(Recording).where(Recording.consult_session_id == session_id)))


def finished_recordings(session_factory: Any, session_id: int, timeout: float = 30) -> list[Recording]:
    """The session's recordings once the worker has made them `ready` or `failed`."""
    deadline = time.monotonic() + timeout
    while (rows := recordings_of(session_factory, session_id)) and rows[0].state not in ("ready", "failed"):
        assert time.monotonic() < deadline, f"recording still {rows[0].state}"
        time.sleep(0.3)
    return rows


def mp4_duration_ms(data: bytes, tmp: Path) -> int:
    path = tmp / "recording.mp4"
    path.write_bytes(data)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return round(float(probe.stdout) * 1000)


def new_teaching_session(session_factory: Any, title: str, host: str = "radiologist") -> int:
    """A teaching round (教学查房) of the demo community hosted by `host`, scheduled now; its id."""
    with transaction(session_factory) as db:
        user = db.scalar(select(User).where(User.username == host))
        assert user is not None, f"no user {host!r}"
        session = TeachingSession(
            community_id=user.community_id,
            title=title,
            kind=TeachingKind.WARD_ROUND,
            host_id=user.id,
            institution_id=user.institution_id,
            scheduled_at=datetime.now(UTC),
            created_by_id=user.id,
        )
        db.add(session)
        db.flush()
        return session.id
