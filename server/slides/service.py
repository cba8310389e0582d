"""A case's whole-slide images: attach one, list them, read their metadata, thumbnail, descriptor and tiles.

Who may see a slide is who may see its case (`server.access.policy.require_case`); only a requester of
the case's institution attaches one. Every read is audited with the case's patient, tiles included.
The label and macro images are never served: they often show the patient's name.

A slide arrives in three steps, so no transaction is held while gigabytes stream in: the door checks
the case (`upload_target`), spools the body to a local file and hands it to `store_original` (opened
and decoded there; nothing is stored when that fails), then `record_upload` indexes it.

Tiles: the top deep-zoom levels and the thumbnail are built by the worker at ingest
(`slides.build_tiles`); a deeper tile is rendered on its first request from the slide staged in the
local `SlideCache`, and the door keeps it in object storage, so it is rendered once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from imaging.wsi import ACCEPTED, InvalidSlide, SlideMetadata, UnsupportedSlide, level_tiles
from imaging.wsi.formats import SlideFormat
from server.access.actor import Actor
from server.cases.models import Urgency
from server.cases.service import audit_material_read, materials_of, visible_case, visible_material
from server.core.errors import Conflict, TooLarge, Unprocessable, Unsupported, not_found
from server.core.tasks import enqueue
from server.slides.ingest import (
    MEDIA_TYPES,
    SlideCache,
    checked_slide,
    prefix,
    queue_tiles,
    record_slide,
    thumbnail_key,
    tile_key,
)
from server.slides.models import Slide
from server.storage import ObjectNotFound, ObjectStore

MAX_SLIDE_BYTES = 8 << 30  # the largest scans are about 4 GB


@dataclass(frozen=True)
class SpooledSlide:
    """A slide's bytes, whole in a local file: their size and SHA-256 (hex), and the name it came with."""

    path: Path
    size: int
    sha256: str
    filename: str


@dataclass(frozen=True)
class CheckedSlide:
    """A slide whose original is in object storage, ready to be indexed."""

    size: int
    sha256: str
    filename: str
    fmt: SlideFormat
    metadata: SlideMetadata


@dataclass(frozen=True)
class StoredSlide:
    """A slide attached to a case: `stored`, or `duplicate` when the case held that file already."""

    status: Literal["stored", "duplicate"]
    slide: Slide


@dataclass(frozen=True)
class Tile:
    """A tile's JPEG bytes; `keep_as` is the object key to store it under when it was rendered now."""

    content: bytes
    keep_as: str | None = None


def too_large() -> TooLarge:
    return TooLarge("too_large", f"a slide may be at most {MAX_SLIDE_BYTES} bytes")


# ---- attaching a slide ------------------------------------------------------------------------------


def upload_target(db: Session, actor: Actor, case_id: int) -> int:
    """The case a slide is about to be sent for, if the actor may see it (checked before any byte)."""
    return visible_case(db, actor, case_id).id


def store_original(store: ObjectStore, case_id: int, spooled: SpooledSlide) -> CheckedSlide:
    """Open the spooled slide (nothing stored when it is empty, unknown or broken), then stream it to
    object storage. Runs outside any transaction: it takes as long as the slide is large."""
    if spooled.size == 0:
        raise Unprocessable("invalid_slide", "the body is empty: send the slide file", accepted=ACCEPTED)
    if spooled.size > MAX_SLIDE_BYTES:
        raise too_large()
    try:
        fmt, metadata = checked_slide(spooled.path, spooled.filename)
    except UnsupportedSlide as exc:
        raise Unsupported("unsupported_slide_format", str(exc), accepted=ACCEPTED) from None
    except InvalidSlide as exc:
        raise Unprocessable("invalid_slide", f"not a usable slide: {exc}", accepted=ACCEPTED) from None
    with open(spooled.path, "rb") as data:
        store.put(
            f"{prefix(case_id, spooled.sha256)}/original",
            data,
            length=spooled.size,
            expected_sha256=spooled.sha256,
            content_type=MEDIA_TYPES[fmt],
        )
    return CheckedSlide(spooled.size, spooled.sha256, spooled.filename, fmt, metadata)


def record_upload(db: Session, actor: Actor, case_id: int, checked: CheckedSlide) -> StoredSlide:
    """Index a stored slide in its case (checked again: the case may have moved meanwhile), audit it and
    queue its tiles (an urgent case's first)."""
    case = visible_case(db, actor, case_id)
    outcome = record_slide(
        db,
        case=case,
        sha256=checked.sha256,
        size=checked.size,
        fmt=checked.fmt,
        metadata=checked.metadata,
        filename=checked.filename,
        user=actor.user,
    )
    row = db.get(Slide, outcome.slide_id)
    assert row is not None
    actor.audit(
        db,
        "slide_store",
        resource_type="slide",
        resource_id=row.id,
        patient_id=case.patient_id,
        detail={"status": outcome.status, "format": checked.fmt, "case_id": case.id, "size": checked.size},
    )

    queue_tiles(partial(enqueue, db), outcome, urgent=case.urgency == Urgency.URGENT)
    return StoredSlide(outcome.status, row)


# ---- reading -----------------------------------------------------------------------------------------


def list_slides(db: Session, actor: Actor, case_id: int) -> list[Slide]:
    return materials_of(db, actor, Slide, case_id, "slide")


def read_slide(db: Session, actor: Actor, slide_id: int, part: Literal["metadata", "dzi"]) -> Slide:
    """A slide the actor may see, its reading (`part`) audited."""
    row = visible_material(db, actor, Slide, slide_id, "slide")
    audit_material_read(db, actor, row, "slide", part)
    return row


def thumbnail(db: Session, actor: Actor, store: ObjectStore, slide_id: int) -> bytes:
    """The slide's thumbnail (JPEG); 409 until the worker has built it."""
    row = visible_material(db, actor, Slide, slide_id, "slide")
    try:
        content = store.read_bytes(thumbnail_key(row))
    except ObjectNotFound:
        raise Conflict("tiles_pending", "the thumbnail is being built; try again shortly") from None
    audit_material_read(db, actor, row, "slide", "thumbnail")
    return content


def tile(
    db: Session,
    actor: Actor,
    store: ObjectStore,
    cache: SlideCache,
    slide_id: int,
    level: int,
    col: int,
    row_index: int,
) -> Tile:
    """A deep-zoom tile: the stored one, or one rendered now from the staged slide (to be kept)."""
    row = visible_material(db, actor, Slide, slide_id, "slide")
    grid = level_tiles(row.width, row.height)
    if not (level < len(grid) and col < grid[level][0] and row_index < grid[level][1]):
        raise not_found("tile")
    key = tile_key(row, level, col, row_index)
    keep_as = None
    try:
        content = store.read_bytes(key)
    except ObjectNotFound:
        try:
            content = cache.tiles(store, row).tile(level, col, row_index)
        except InvalidSlide as exc:
            raise Unprocessable("invalid_slide", f"the slide cannot be read: {exc}") from None
        keep_as = key
    audit_material_read(db, actor, row, "slide", f"tile {level}/{col}_{row_index}")
    return Tile(content, keep_as)
