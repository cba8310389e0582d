"""A consult recorded end to end: the signalling server and a worker as their own processes, the village
doctor and the radiologist (host) as real aiortc peers. The host records for ~20 s while driving the
viewer; the worker's MP4 must span the session clock up to `stop`, with the viewer events inside it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from server.config import Settings
from server.models import Recording
from server.storage import open_store
from tests.support.rtc import RtcPeer
from tests.support.services import process_env, running, telemed_command
from tests.test_consult_media import meet, room_url, token, turn

__all__ = ["room_url", "turn"]  # fixtures, imported for pytest

RECORD_S = 20
VIEWER_AT_S = (2, 7, 12, 17)  # seconds after `recording start`
TOLERANCE_MS = 500


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running(telemed_command("worker"), process_env(settings), log=log):
        yield


async def viewer(host: RtcPeer, index: int) -> int:
    """Send a `slice` viewer event; its `t_ms` on the session clock, from the server's echo. The server
    handles one socket's frames in order, so this marks the session time of the host's next frame."""
    after = len(host.frames)
    await host.send({"type": "viewer", "event": {"kind": "slice", "index": index}})
    _, echo = await host.next_frame("viewer", after=after)
    return int(echo["t_ms"])


async def consent(*peers: RtcPeer) -> None:
    """Each consents; returns once the host has seen every consent."""
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


def mp4_duration_ms(data: bytes, tmp: Any) -> int:
    path = tmp / "recording.mp4"
    path.write_bytes(data)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return round(float(probe.stdout) * 1000)


def test_a_recorded_consult_becomes_an_mp4_on_the_session_clock_with_its_viewer_events(app: Any, room_url: str, worker: None, settings: Settings, session_factory: Any, tmp_path: Any) -> None:  # fmt: skip
    async def scenario() -> tuple[int, int, int, list[int]]:
        village = RtcPeer(room_url, token(app, "village"), ice_servers=[])
        host = RtcPeer(room_url, token(app, "radiologist"), ice_servers=[])
        try:
            await meet(village, host)
            await consent(village, host)
            sent = [await viewer(host, 0)]  # marks `start`
            began = time.monotonic()
            await host.send({"type": "recording", "action": "start"})
            index, on = await host.next_frame("recording")
            assert on["state"] == "on"
            await server_joined(village)
            for i, at in enumerate((*VIEWER_AT_S, RECORD_S), start=1):  # the last marks `stop`
                await asyncio.sleep(max(0.0, began + at - time.monotonic()))
                sent.append(await viewer(host, i))
            await host.send({"type": "recording", "action": "stop"})
            index, off = await host.next_frame("recording", after=index + 1)
            assert off["state"] == "off"
            await host.next_frame("peer_left", after=index)  # the recorder closed its files and left
            return host.welcome["room"]["session_id"], sent
        finally:
            await host.close()
            await village.close()

    session_id, sent = asyncio.run(scenario())
    start_ms, stop_ms = sent[0], sent[-1]
    deadline = time.monotonic() + 30
    while (rows := recordings_of(session_factory, session_id)) and rows[0].state not in ("ready", "failed"):
        assert time.monotonic() < deadline, f"recording still {rows[0].state}"
        time.sleep(0.3)
    [row] = rows
    assert (row.state, row.error) == ("ready", None)
    assert row.ended_at is not None and len(row.consent_user_ids) == 2

    store = open_store(settings)
    manifest = json.loads(store.read_bytes(row.object_keys["manifest.json"]))
    # The MP4 starts at session t=0 (mux holds the first frame back to 0), so it ends where `stop` was.
    duration_ms = mp4_duration_ms(store.read_bytes(row.object_keys["recording.mp4"]), tmp_path)
    tracks = manifest["tracks"]
    assert {t["file"].split("-")[1] for t in tracks} == {"audio", "video"}
    assert start_ms <= min(t["start_ms"] for t in tracks) <= start_ms + 3000  # after ICE and DTLS
    assert abs(max(t["end_ms"] for t in tracks) - stop_ms) <= TOLERANCE_MS, (tracks, stop_ms)
    assert abs(duration_ms - stop_ms) <= TOLERANCE_MS, (duration_ms, stop_ms)

    events = json.loads(store.read_bytes(row.object_keys["events.json"]))
    replayed = [e for e in events if e["kind"] == "viewer"]
    assert [(e["t_ms"], e["payload"]["index"]) for e in replayed] == [(t, i) for i, t in enumerate(sent)]
    assert sent == sorted(sent) and len(set(sent)) == len(sent)  # inside [start, stop], in order


def test_without_every_consent_nothing_is_recorded(app: Any, room_url: str, settings: Settings, session_factory: Any) -> None:  # fmt: skip
    recordings = settings.data_dir / "recordings"
    before = set(recordings.iterdir()) if recordings.exists() else set()

    async def scenario() -> int:
        village = RtcPeer(room_url, token(app, "village"), ice_servers=[])
        host = RtcPeer(room_url, token(app, "radiologist"), ice_servers=[])
        try:
            await meet(village, host)
            await consent(host)
            await host.send({"type": "recording", "action": "start"})
            _, error = await host.next_frame("error")
            assert error["error"] == "consent_missing"
            await asyncio.sleep(1)
            assert not [f for f in village.frames if f["type"] == "recording" or f.get("role") == "server"]
            return host.welcome["room"]["session_id"]
        finally:
            await host.close()
            await village.close()

    session_id = asyncio.run(scenario())
    assert recordings_of(session_factory, session_id) == []
    assert (set(recordings.iterdir()) if recordings.exists() else set()) == before
