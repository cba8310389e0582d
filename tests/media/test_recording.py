"""The recording peer records real aiortc participants; the mux step gives a seekable MP4, HLS, poster
and chapters whose times agree with the session clock, and composites several cameras into a grid."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from server.consults.models import ConsultSession, Recording, RoomEvent
from server.core.config import Settings
from server.core.orm import utcnow
from signaling.recording.recorder import RecordingPeer
from tests.support.paths import ROOT
from tests.support.recording import HEIGHT, WIDTH, Solid, record_session
from worker import recording_tasks, resources
from worker.mux import mux

SESSION_S = 20


def seconds_of(pts: int | None, time_base: Fraction | None) -> Fraction:
    """A presentation time in seconds (PyAV types both parts as optional)."""
    assert pts is not None and time_base is not None
    return pts * time_base


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


CHAPTERS = [(0, "Start"), (5000, "History"), (12500, "Imaging")]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RecordingPeer]:
    tracks = tmp_path_factory.mktemp("tracks")
    return tracks, asyncio.run(record_session(tracks, SESSION_S))


@pytest.fixture(scope="module")
def recorded(session, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, RecordingPeer]:
    tracks, peer = session
    out = tmp_path_factory.mktemp("out")
    return out, mux(sorted(tracks.glob("*.mkv")), out, CHAPTERS), peer


def test_recording_is_twenty_seconds_with_video_and_audio(recorded) -> None:
    out, manifest, peer = recorded
    probe = ffprobe(out / "recording.mp4")
    assert abs(float(probe["format"]["duration"]) - SESSION_S) < 0.5, probe["format"]
    assert abs(manifest["duration_ms"] / 1000 - SESSION_S) < 0.5
    kinds = {s["codec_type"]: s for s in probe["streams"]}
    assert kinds["video"]["codec_name"] == "h264" and kinds["audio"]["codec_name"] == "aac"
    assert (int(kinds["video"]["width"]), int(kinds["video"]["height"])) == (WIDTH, HEIGHT)
    assert sum(w.dropped for w in peer.writers) == 0


def test_seeking_to_ten_seconds_decodes_a_frame_near_ten_seconds(recorded) -> None:
    out, _manifest, _peer = recorded
    with av.open(str(out / "recording.mp4")) as f:
        stream = f.streams.video[0]
        assert stream.time_base is not None
        f.seek(int(10 / stream.time_base), stream=stream)
        frame = next(f.decode(stream))
        keyframe_s = seconds_of(frame.pts, stream.time_base)  # the keyframe at or before 10 s
        assert abs(float(keyframe_s) - 10) < 2.1
        frame = next(fr for fr in f.decode(stream) if seconds_of(fr.pts, stream.time_base) >= 10)
        assert abs(float(seconds_of(frame.pts, stream.time_base)) - 10) < 0.1


def test_hls_segments_add_up_to_the_duration(recorded) -> None:
    out, manifest, _peer = recorded
    playlist = (out / "hls" / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
    durations = [
        float(line.split(":")[1].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF")
    ]
    assert len(durations) >= SESSION_S // 4
    assert abs(sum(durations) - manifest["duration_ms"] / 1000) < 0.2
    for line in playlist.splitlines():
        if line.endswith(".ts"):
            assert (out / "hls" / line).stat().st_size > 0


def test_poster_and_chapters(recorded) -> None:
    out, manifest, _peer = recorded
    with av.open(str(out / "poster.jpg")) as f:
        poster = next(f.decode(video=0))
    assert (poster.width, poster.height) == (WIDTH, HEIGHT)
    vtt = (out / "chapters.vtt").read_text().split("\n\n")
    assert vtt[0] == "WEBVTT"
    cues = [block.splitlines() for block in vtt[1:] if block.strip()]
    assert [(c[0].split(" --> ")[0], c[1]) for c in cues] == [
        ("00:00:00.000", "Start"), ("00:00:05.000", "History"), ("00:00:12.500", "Imaging"),
    ]  # fmt: skip
    assert (
        cues[-1][0].split(" --> ")[1]
        == f"00:00:{manifest['duration_ms'] // 1000:02d}.{manifest['duration_ms'] % 1000:03d}"
    )


def test_a_killed_recorder_leaves_playable_track_files(tmp_path: Path) -> None:
    script = "import asyncio, pathlib, sys; from tests.support.recording import record_session; "
    script += "asyncio.run(record_session(pathlib.Path(sys.argv[1]), 60))"
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("*-video-*.mkv")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    files = sorted(tmp_path.glob("*.mkv"))
    assert {f.name.split("-")[1] for f in files} == {"audio", "video"}
    for f in files:
        with av.open(str(f)) as container:
            decoded = [fr for fr in container.decode(container.streams[0])]
        last = decoded[-1]
        assert isinstance(last, (av.VideoFrame, av.AudioFrame))  # a track file holds no subtitles
        seconds = float(seconds_of(last.pts, last.time_base))
        assert 4.0 < seconds < 6.5, (f.name, seconds)


def test_worker_task_stores_outputs(
    session, settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    tracks, _peer = session
    with session_factory() as db, db.begin():
        consult = ConsultSession(room="teaching-recording-test")
        db.add(consult)
        db.flush()
        for seq, t_ms in ((1, 1200), (2, 9800)):
            db.add(
                RoomEvent(
                    session_id=consult.id,
                    seq=seq,
                    t_ms=t_ms,
                    at=utcnow(),
                    kind="viewer",
                    payload={"kind": "slice", "index": seq},
                )
            )
        recording = Recording(consult_session_id=consult.id, consent_user_ids=[1, 2])
        db.add(recording)
        db.flush()
        recording_id = recording.id
    monkeypatch.setattr(resources, "settings", lambda: settings)
    monkeypatch.setattr(resources, "session_factory", lambda: session_factory)
    source = recording_tasks.track_dir(recording_id)
    shutil.copytree(tracks, source)
    (source / "chapters.json").write_text(json.dumps(CHAPTERS))
    store = resources.store.__wrapped__()
    monkeypatch.setattr(resources, "store", lambda: store)

    assert recording_tasks.process_recording.apply(args=(recording_id,)).get()["status"] == "ok"
    with session_factory() as db:
        row = db.get(Recording, recording_id)
        assert row is not None and row.state == "ready"
        assert row.duration_ms is not None
        assert abs(row.duration_ms - SESSION_S * 1000) < 500
        keys = row.object_keys
    for name in (
        "recording.mp4",
        "hls/index.m3u8",
        "poster.jpg",
        "chapters.vtt",
        "events.json",
        "manifest.json",
    ):
        assert store.exists(keys[name]) and keys[name] == f"recordings/{recording_id}/{name}"
    assert b"00:00:12.500 --> " in store.read_bytes(keys["chapters.vtt"])
    assert json.loads(store.read_bytes(keys["manifest.json"]))["duration_ms"] == row.duration_ms
    timeline = json.loads(store.read_bytes(keys["events.json"]))
    # The viewer events sit on the recording's clock: in order, and inside the video they go with.
    assert [(e["seq"], e["t_ms"]) for e in timeline] == [(1, 1200), (2, 9800)]
    assert all(0 <= e["t_ms"] <= row.duration_ms for e in timeline)


def test_a_recording_without_media_is_marked_failed_with_the_reason(
    settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory() as db, db.begin():
        consult = ConsultSession(room="teaching-recording-empty")
        db.add(consult)
        db.flush()
        recording = Recording(consult_session_id=consult.id, consent_user_ids=[1])
        db.add(recording)
        db.flush()
        recording_id = recording.id
    monkeypatch.setattr(resources, "settings", lambda: settings)
    monkeypatch.setattr(resources, "session_factory", lambda: session_factory)
    recording_tasks.track_dir(recording_id).mkdir(parents=True)  # the recorder joined, nobody sent media

    assert recording_tasks.process_recording.apply(args=(recording_id,)).get()["status"] == "failed"
    with session_factory() as db:
        row = db.get(Recording, recording_id)
        assert row is not None and (row.state, row.error, row.object_keys) == ("failed", "no track files", {})


TWO_S, RED, BLUE = 8, (255, 0, 0), (0, 0, 255)


def test_two_cameras_become_two_tiles_side_by_side_each_from_its_own_start(tmp_path: Path) -> None:
    """Red joins at once, blue 3 s later: the composite shows red on the left, blue on the right from
    blue's start (black before), and lasts the session like a single camera would."""
    tracks, out = tmp_path / "tracks", tmp_path / "out"
    cameras = (lambda: Solid(RED), lambda: Solid(BLUE))
    asyncio.run(record_session(tracks, TWO_S, cameras, stagger_s=3))
    manifest = mux(sorted(tracks.glob("*.mkv")), out)
    assert [[name.split("-")[0] for name in tile] for tile in manifest["tiles"]] == [["p1"], ["p2"]]
    probe = ffprobe(out / "recording.mp4")
    assert abs(float(probe["format"]["duration"]) - TWO_S) < 0.5, probe["format"]
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert (int(video["width"]), int(video["height"])) == (2 * WIDTH, HEIGHT)
    blue_from = next(t["start_ms"] for t in manifest["tracks"] if t["file"].startswith("p2-video")) / 1000
    assert 3 <= blue_from < 4.5

    def colours_at(seconds: float) -> tuple[np.ndarray, np.ndarray]:
        with av.open(str(out / "recording.mp4")) as f:
            stream = f.streams.video[0]
            frame = next(fr for fr in f.decode(stream) if seconds_of(fr.pts, stream.time_base) >= seconds)
        image = frame.to_ndarray(format="rgb24").astype(int)
        return image[:, :WIDTH].mean(axis=(0, 1)), image[:, WIDTH:].mean(axis=(0, 1))

    left, right = colours_at(blue_from - 1)
    assert left[0] > 200 and left[2] < 40 and right.max() < 20, (left, right)  # red, and black: blue not yet
    left, right = colours_at(TWO_S - 1.5)
    assert left[0] > 200 and left[2] < 40 and right[2] > 200 and right[0] < 40, (left, right)
