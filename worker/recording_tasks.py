"""Consult recordings: mux the recorder's per-track files into the deliverables and store them, with the
session's viewer events beside them (their `t_ms` is on the same session clock as the media)."""

from __future__ import annotations

import json
import mimetypes
import tempfile
from pathlib import Path
from typing import Any

from celery import shared_task
from sqlalchemy import select

from server.consults.models import Recording, RoomEvent
from server.consults.recordings import PROCESS_TASK
from server.consults.recordings import track_dir as recording_tracks
from worker import resources
from worker.base import RecordedTask
from worker.mux import MuxError, mux


def track_dir(recording_id: int) -> Path:
    """Where the recording peer of this installation wrote the track files of a recording."""
    return recording_tracks(resources.settings().data_dir, recording_id)


def _timeline(recording_id: int) -> list[dict[str, Any]] | None:
    """The session's events as stored beside the media, or None for an unknown recording."""
    with resources.session_factory()() as db:
        row = db.get(Recording, recording_id)
        if row is None:
            return None
        events = db.scalars(
            select(RoomEvent).where(RoomEvent.session_id == row.consult_session_id).order_by(RoomEvent.seq)
        )
        return [{"seq": e.seq, "t_ms": e.t_ms, "kind": e.kind, "payload": e.payload} for e in events]


def _finish(recording_id: int, **outcome: Any) -> None:
    with resources.session_factory()() as db, db.begin():
        row = db.get(Recording, recording_id)
        if row is not None:
            for name, value in outcome.items():
                setattr(row, name, value)


@shared_task(base=RecordedTask, bind=True, name=PROCESS_TASK)
def process_recording(self: RecordedTask, recording_id: int) -> dict[str, object]:
    """Keys derive from the recording id, so a rerun overwrites the same objects. No database
    connection is held while ffmpeg works (minutes for a long round)."""
    timeline = _timeline(recording_id)
    if timeline is None:
        return {"recording_id": recording_id, "status": "unknown_recording"}
    source = track_dir(recording_id)
    chapters_file = source / "chapters.json"
    chapters = (
        [(int(t), str(title)) for t, title in json.loads(chapters_file.read_text())]
        if chapters_file.exists()
        else []
    )
    store = resources.store()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        try:
            manifest = mux(sorted(source.glob("*.mkv")), out, chapters)
        except MuxError as exc:
            _finish(recording_id, state="failed", error=str(exc)[:1000])
            return {"recording_id": recording_id, "status": "failed"}
        (out / "events.json").write_text(json.dumps(timeline), encoding="utf-8")
        (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        keys: dict[str, str] = {}
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            name = path.relative_to(out).as_posix()
            keys[name] = f"recordings/{recording_id}/{name}"
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            with path.open("rb") as data:
                store.put(keys[name], data, length=path.stat().st_size, content_type=media_type)
    duration_ms = manifest["duration_ms"]
    _finish(recording_id, object_keys=keys, duration_ms=duration_ms, state="ready", error=None)
    return {"recording_id": recording_id, "status": "ok", "duration_ms": duration_ms}
