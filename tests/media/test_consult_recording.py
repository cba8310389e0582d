"""A consult recorded end to end: the signalling server and a worker as their own processes, the village
doctor and the radiologist (host) as real aiortc peers. The host records for ~20 s while driving the
viewer; the worker's MP4 must span the session clock up to `stop`, with the viewer events inside it."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

from server.core.config import Settings
from server.storage import open_store
from tests.support.consult import (
    consent,
    finished_recordings,
    meet,
    mp4_duration_ms,
    recordings_of,
    server_joined,
    token,
    until_flowing,
    user_id_of,
    viewer,
)
from tests.support.rtc import RtcPeer

RECORD_S = 20
VIEWER_AT_S = (2, 7, 12, 17)  # seconds after `recording start`
TOLERANCE_MS = 500


def test_a_recorded_consult_becomes_an_mp4_on_the_session_clock_with_its_viewer_events(app: Any, room_url: str, worker: None, settings: Settings, session_factory: Any, tmp_path: Any) -> None:  # fmt: skip
    async def scenario() -> tuple[int, list[int], datetime]:
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
            last = [f for f in host.frames if f["type"] == "viewer"][-1]
            origin = datetime.fromisoformat(last["at"]) - timedelta(milliseconds=last["t_ms"])
            return host.welcome["room"]["session_id"], sent, origin
        finally:
            await host.close()
            await village.close()

    session_id, sent, origin = asyncio.run(scenario())
    start_ms, stop_ms = sent[0], sent[-1]
    [row] = finished_recordings(session_factory, session_id)
    assert (row.state, row.error) == ("ready", None)
    assert row.ended_at is not None and len(row.consent_user_ids) == 2

    store = open_store(settings)
    manifest = json.loads(store.read_bytes(row.object_keys["manifest.json"]))
    # The MP4 starts at session t=0 (mux holds the first frame back to 0), so it ends where the tracks do:
    # where the recorder handled `stop`, after the host's mark and before it handed the files over (on a
    # busy machine that can be most of a second after the mark). No track runs ahead of the clock.
    duration_ms = mp4_duration_ms(store.read_bytes(row.object_keys["recording.mp4"]), tmp_path)
    handed_over_ms = round((row.ended_at - origin).total_seconds() * 1000)
    tracks = manifest["tracks"]
    end_ms = max(t["end_ms"] for t in tracks)
    assert {t["file"].split("-")[1] for t in tracks} == {"audio", "video"}
    assert start_ms <= min(t["start_ms"] for t in tracks) <= start_ms + 3000  # after ICE and DTLS
    assert stop_ms - TOLERANCE_MS <= end_ms <= handed_over_ms + TOLERANCE_MS, (
        tracks,
        stop_ms,
        handed_over_ms,
    )
    assert abs(duration_ms - end_ms) <= TOLERANCE_MS, (duration_ms, end_ms)

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


def track_files(settings: Settings, recording_id: int, peer_id: str) -> list[str]:
    """The recorder's files of one participant (named `<peer id>-<kind>-<part>.mkv`)."""
    return sorted(
        p.name for p in (settings.data_dir / "recordings" / str(recording_id)).glob(f"{peer_id}-*.mkv")
    )


async def consent_seen(host: RtcPeer, peer: RtcPeer, given: bool) -> None:
    """`peer` gives or withdraws consent; returns once the host has seen it."""
    after = len(host.frames)
    await peer.send({"type": "consent", "recording": given})
    while True:
        after, update = await host.next_frame("peer_updated", after=after)
        if update["peer_id"] == peer.welcome["peer_id"] and update["consent"] is given:
            return
        after += 1


def test_a_late_joiner_is_recorded_only_while_consenting(app: Any, room_url: str, worker: None, settings: Settings, session_factory: Any) -> None:  # fmt: skip
    """The village doctor joins while the radiologist records: her offer to the recorder is refused until
    she consents, and withdrawing consent ends her tracks while the recording goes on."""

    async def scenario() -> tuple[int, int, str, int, int, int]:
        host = RtcPeer(room_url, token(app, "radiologist"), ice_servers=[])
        village = RtcPeer(room_url, token(app, "village"), ice_servers=[])
        try:
            await host.join()
            await consent(host)
            await host.send({"type": "recording", "action": "start"})
            await server_joined(host)
            [recording] = recordings_of(session_factory, host.welcome["room"]["session_id"])
            await village.join()  # offers to everyone present, the recorder included
            assert village.welcome["room"]["recording"] is True  # the browser asks her for consent
            [recorder] = [p["peer_id"] for p in village.welcome["peers"] if p["role"] == "server"]
            _, refused = await village.next_frame("error")
            assert refused["error"] == "consent_missing"
            await until_flowing(village, host)  # the consult itself goes on
            await asyncio.sleep(2)
            mine = village.welcome["peer_id"]
            assert track_files(settings, recording.id, mine) == []  # nothing of hers without consent
            assert track_files(settings, recording.id, host.welcome["peer_id"])

            await consent_seen(host, village, True)
            given = await viewer(host, 1)
            await village.offer(recorder)
            await asyncio.sleep(4)
            withdrawn = await viewer(host, 2)
            await consent_seen(host, village, False)
            await asyncio.sleep(3)
            stop = await viewer(host, 3)
            await host.send({"type": "recording", "action": "stop"})
            await host.next_frame("peer_left")  # the recorder closed its files and left
            return recording.consult_session_id, recording.id, mine, given, withdrawn, stop
        finally:
            await village.close()
            await host.close()

    session_id, recording_id, mine, given, withdrawn, stop = asyncio.run(scenario())
    [row] = finished_recordings(session_factory, session_id)
    assert row.id == recording_id
    assert (row.state, row.error) == ("ready", None)
    assert sorted(row.consent_user_ids) == sorted(
        user_id_of(session_factory, u) for u in ("radiologist", "village")
    )
    tracks = json.loads(open_store(settings).read_bytes(row.object_keys["manifest.json"]))["tracks"]
    hers = [t for t in tracks if t["file"].startswith(f"{mine}-")]
    assert sorted(t["file"].split("-")[1] for t in hers) == ["audio", "video"]
    # Recorded from her consent to its withdrawal only (audio pts follow the samples, hence 1 s slack;
    # the recording went on 3 s longer), while the host's tracks run on to `stop`.
    for track in hers:
        assert given <= track["start_ms"] and track["end_ms"] <= withdrawn + 1000, (track, given, withdrawn)
    theirs = [t for t in tracks if not t["file"].startswith(f"{mine}-")]
    assert theirs and all(t["end_ms"] >= stop - TOLERANCE_MS for t in theirs), (theirs, stop)
