"""The teaching library (教学点播) as operations: recorded teaching sessions that trainees browse, search
and play, and the de-identified copies they replay them on.

The host of a teaching session (or the community administrator) publishes its recording; the worker
(`PREPARE_TASK`) then makes de-identified copies of every study, slide and ECG shown in it and rewrites
the viewer events to name them (`preparation`, `mark_ready`, `mark_failed` are its steps here).
Trainees see only ready items of their own community (`server.access.policy.teaching_item_scope`) and
reach material only through the copies. A case consult's recording is patient data: it never enters the
library, nor is its existence told.

Every read is audited, though it holds no patient data: attendance figures count them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from imaging.ecg import EcgRecord as Signal
from imaging.ecg import from_bytes
from imaging.wsi import level_tiles
from server.access.actor import Actor
from server.access.policy import (
    AccessDenied,
    teaching_ecg_scope,
    teaching_item_scope,
    teaching_slide_scope,
)
from server.community.models import Role, User
from server.consults.chapters import chapters_vtt
from server.consults.models import ConsultSession, Recording
from server.consults.service import session_events
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid, NotFound, not_found
from server.core.tasks import enqueue
from server.core.text import trimmed_text
from server.storage import ObjectNotFound, ObjectStore
from server.teaching.models import (
    TeachingEcg,
    TeachingItem,
    TeachingItemState,
    TeachingMaterial,
    TeachingSession,
    TeachingSlide,
)

PREPARE_TASK = "teaching.prepare_item"  # worker/teaching_tasks.py
MAX_TITLE, MAX_SPECIALTY, MAX_DESCRIPTION = 200, 64, 4000
MAX_CHAPTERS = 200
MAX_ERROR = 1000
# The media of a recording a library item serves; events.json and manifest.json (original UIDs) never.
MEDIA_NAME = re.compile(r"recording\.mp4|poster\.jpg|chapters\.vtt|hls/index\.m3u8|hls/seg[0-9]{3,6}\.ts")
MEDIA_TYPES = {"mp4": "video/mp4", "jpg": "image/jpeg", "m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t"}  # fmt: skip
VTT_MEDIA_TYPE = "text/vtt; charset=utf-8"
PENDING = "the teaching copy is being prepared; try again shortly"


# ---- who manages an item ---------------------------------------------------------------------------


def may_manage(user: User, session: TeachingSession) -> None:
    """Publishing and chapters are the session host's, or the community administrator's."""
    if user.id != session.host_id and not (
        user.role == Role.ADMIN and user.community_id == session.community_id
    ):
        raise AccessDenied(
            "teaching_session", session.id, reason="only the session's host or an administrator"
        )


def visible_item(db: Session, actor: Actor, item_id: int) -> TeachingItem:
    """The item, if the actor's library holds it (refusals look like unknown items)."""
    item = db.scalar(
        select(TeachingItem).where(TeachingItem.id == item_id, teaching_item_scope(actor.person))
    )
    if item is None:
        raise not_found("teaching library item")
    return item


def _audit(db: Session, actor: Actor, action: str, item: TeachingItem, **detail: Any) -> None:
    actor.audit(
        db,
        action,
        resource_type="teaching_item",
        resource_id=item.id,
        **({"detail": detail} if detail else {}),
    )


def chapters(item: TeachingItem) -> list[dict[str, Any]]:
    """The host's chapters and one per material opened, in time order."""
    marked = [{**c, "source": "host"} for c in item.host_chapters or []]
    marked += [{**c, "source": "viewer"} for c in item.viewer_chapters or []]
    return sorted(marked, key=lambda c: (c["t_ms"], c["source"] != "host"))


# ---- publishing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """A teaching session's recording to publish, with the item's texts as typed (checked on publishing)."""

    recording_id: int
    title: str | None
    specialty: str | None
    description: str | None = None


def publish(db: Session, actor: Actor, clock: Clock, new: Publication) -> TeachingItem:
    """A teaching session's ready recording becomes a library item of its community, by its host or the
    community administrator; the worker then makes its copies (`PREPARE_TASK`, sent after commit)."""
    user = actor.person
    recording = db.get(Recording, new.recording_id)
    consult = db.get(ConsultSession, recording.consult_session_id) if recording else None
    session = (
        db.get(TeachingSession, consult.teaching_session_id)
        if consult is not None and consult.teaching_session_id
        else None
    )
    # A case consult's recording is patient data: it never enters the library, nor says it exists.
    if recording is None or session is None or session.community_id != user.community_id:
        raise NotFound("not_found", "no such teaching session recording", field="recording_id")
    may_manage(user, session)
    if recording.state != "ready":
        raise Conflict("recording_not_ready", f"the recording is {recording.state}; publish it once ready")
    item = TeachingItem(
        community_id=session.community_id,
        teaching_session_id=session.id,
        recording_id=recording.id,
        title=trimmed_text("title", new.title, MAX_TITLE, required=True),
        specialty=trimmed_text("specialty", new.specialty, MAX_SPECIALTY, required=True),
        description=trimmed_text("description", new.description, MAX_DESCRIPTION),
        created_by_id=user.id,
        created_at=clock.now(),
    )
    try:
        with db.begin_nested():
            db.add(item)
            db.flush()
    except IntegrityError:
        raise Conflict("already_published", "this recording is in the library already") from None
    _audit(db, actor, "teaching_item_create", item, recording_id=recording.id)
    enqueue(db, PREPARE_TASK, item.id)
    db.refresh(item)
    return item


# ---- browsing --------------------------------------------------------------------------------------


def list_items(db: Session, actor: Actor, *, q: str = "", specialty: str = "") -> Sequence[TeachingItem]:
    """The library of the actor's community, newest first (trainees: ready items only); `q` searches
    titles and descriptions, `specialty` filters."""
    query = (
        select(TeachingItem)
        .where(teaching_item_scope(actor.person))
        .options(
            selectinload(TeachingItem.recording),
            selectinload(TeachingItem.teaching_session).selectinload(TeachingSession.host),
            selectinload(TeachingItem.teaching_session).selectinload(TeachingSession.institution),
        )
    )
    q, specialty = q.strip(), specialty.strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                TeachingItem.title.ilike(pattern, escape="\\"),
                TeachingItem.description.ilike(pattern, escape="\\"),
            )
        )
    if specialty:
        query = query.where(TeachingItem.specialty == specialty)
    items = db.scalars(query.order_by(TeachingItem.created_at.desc(), TeachingItem.id.desc())).all()
    actor.audit(
        db, "teaching_library_list", resource_type="teaching_item", detail={"q": q, "count": len(items)}
    )
    return items


def read_item(db: Session, actor: Actor, item_id: int) -> TeachingItem:
    item = visible_item(db, actor, item_id)
    _audit(db, actor, "teaching_item_read", item)
    return item


def _chapter(raw: object, duration_ms: int) -> dict[str, Any]:
    t_ms, title = (raw.get("t_ms"), raw.get("title")) if isinstance(raw, dict) else (None, None)
    if not isinstance(t_ms, int) or isinstance(t_ms, bool) or not 0 <= t_ms <= duration_ms:
        raise Invalid("invalid_field", f"each chapter needs t_ms from 0 to {duration_ms}", field="chapters")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise Invalid(
            "invalid_field", f"each chapter needs a title of 1 to {MAX_TITLE} characters", field="chapters"
        )
    return {"t_ms": t_ms, "title": title.strip()}


def set_chapters(db: Session, actor: Actor, item_id: int, marks: Sequence[object]) -> TeachingItem:
    """Replace the host's chapters (the viewer-derived ones stay). `marks` are the chapters as sent,
    each `{t_ms, title}`: checked here, as a chapter must fall within the recording."""
    item = visible_item(db, actor, item_id)
    may_manage(actor.person, item.teaching_session)
    if len(marks) > MAX_CHAPTERS:
        raise Invalid("invalid_field", f"at most {MAX_CHAPTERS} chapters", field="chapters")
    item.host_chapters = sorted(
        (_chapter(c, item.recording.duration_ms or 0) for c in marks), key=lambda c: c["t_ms"]
    )
    _audit(db, actor, "teaching_chapters_set", item, count=len(marks))
    return item


@dataclass(frozen=True)
class ItemMedia:
    """One medium of an item's recording: a stored object (`key`), or the chapters as WebVTT (`text`)."""

    name: str
    media_type: str
    key: str | None = None
    text: str | None = None


def read_media(db: Session, actor: Actor, item_id: int, name: str) -> ItemMedia:
    """The recording's video, HLS rendition and poster; chapters.vtt from the item's chapters. Nothing
    else of the recording (its events and manifest name the originals)."""
    item = visible_item(db, actor, item_id)
    keys = item.recording.object_keys
    if not MEDIA_NAME.fullmatch(name) or (name != "chapters.vtt" and name not in keys):
        raise not_found("media")
    _audit(db, actor, "teaching_media_read", item, name=name)
    if name == "chapters.vtt":
        cues = [(c["t_ms"], c["title"]) for c in chapters(item)]
        return ItemMedia(name, VTT_MEDIA_TYPE, text=chapters_vtt(cues, item.recording.duration_ms or 0))
    return ItemMedia(name, MEDIA_TYPES[name.rsplit(".", 1)[-1]], key=keys[name])


# ---- de-identified copies ----------------------------------------------------------------------


def read_slide(db: Session, actor: Actor, slide_id: int, part: str) -> TeachingSlide:
    """A slide copy of an item the actor's library holds; the read of `part` is audited."""
    copy = db.scalar(
        select(TeachingSlide).where(TeachingSlide.id == slide_id, teaching_slide_scope(actor.person))
    )
    if copy is None:
        raise not_found("teaching slide")
    actor.audit(db, "teaching_slide_read", resource_type="teaching_slide", resource_id=copy.id, detail={"part": part})  # fmt: skip
    return copy


def _stored_tile(store: ObjectStore, key: str) -> bytes:
    try:
        return store.read_bytes(key)
    except ObjectNotFound:
        raise Conflict("tiles_pending", PENDING) from None


def slide_thumbnail(db: Session, actor: Actor, store: ObjectStore, slide_id: int) -> bytes:
    return _stored_tile(store, read_slide(db, actor, slide_id, "thumbnail").thumbnail_key)


def slide_tile(
    db: Session, actor: Actor, store: ObjectStore, slide_id: int, level: int, col: int, row: int
) -> bytes:
    """One deep-zoom tile (JPEG) of a slide copy; 404 outside the pyramid."""
    copy = read_slide(db, actor, slide_id, f"tile {level}/{col}_{row}")
    grid = level_tiles(copy.width, copy.height)
    if not (level < len(grid) and col < grid[level][0] and row < grid[level][1]):
        raise not_found("tile")
    return _stored_tile(store, copy.tile_key(level, col, row))


def read_ecg(db: Session, actor: Actor, ecg_id: int, part: str) -> TeachingEcg:
    """An ECG copy of an item the actor's library holds; the read of `part` is audited."""
    copy = db.scalar(select(TeachingEcg).where(TeachingEcg.id == ecg_id, teaching_ecg_scope(actor.person)))
    if copy is None:
        raise not_found("teaching ECG")
    actor.audit(db, "teaching_ecg_read", resource_type="teaching_ecg", resource_id=copy.id, detail={"part": part})  # fmt: skip
    return copy


def ecg_signal(db: Session, actor: Actor, store: ObjectStore, ecg_id: int) -> tuple[TeachingEcg, Signal]:
    """An ECG copy and its de-identified record (every lead's samples)."""
    copy = read_ecg(db, actor, ecg_id, "samples")
    try:
        return copy, from_bytes(store.read_bytes(copy.record_key))
    except ObjectNotFound:
        raise Conflict("copy_pending", PENDING) from None


# ---- preparation (the worker's steps) ----------------------------------------------------------------


@dataclass(frozen=True)
class Preparation:
    """What the worker needs to prepare an item: whose material may be copied (the host's), where the
    copies are indexed (the session's institution), and the recorded session's events."""

    item_id: int
    host_id: int
    institution_id: int
    events: list[dict[str, Any]]


def preparation(db: Session, item_id: int) -> Preparation | None:
    """The item to prepare and its session's stored events, in order; None if it no longer exists."""
    item = db.get(TeachingItem, item_id)
    if item is None:
        return None
    session = item.teaching_session
    stored = session_events(db, item.recording.consult_session_id)
    events = [{"seq": e.seq, "t_ms": e.t_ms, "kind": e.kind, "payload": e.payload} for e in stored]
    return Preparation(item.id, session.host_id, session.institution_id, events)


def mark_ready(
    db: Session,
    clock: Clock,
    item_id: int,
    *,
    events: list[dict[str, Any]],
    viewer_chapters: list[dict[str, Any]],
    materials: Sequence[TeachingMaterial],
) -> bool:
    """The item is ready: its copies listed (once each), its events as trainees replay them and the
    chapters of what was opened. False if the item no longer exists."""
    item = db.get(TeachingItem, item_id)
    if item is None:
        return False
    known = {(m.kind, m.source_id) for m in item.materials}
    for material in materials:
        if (material.kind, material.source_id) not in known:
            material.item_id = item.id
            db.add(material)
    item.events = events
    item.viewer_chapters = viewer_chapters
    item.state, item.error, item.ready_at = TeachingItemState.READY, None, clock.now()
    return True


def mark_failed(db: Session, item_id: int, reason: str) -> None:
    """A copy could not be made: the item failed, with the reason for its host."""
    item = db.get(TeachingItem, item_id)
    if item is not None:
        item.state, item.error = TeachingItemState.FAILED, reason[:MAX_ERROR]
