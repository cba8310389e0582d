"""Slide background work: the thumbnail and the top deep-zoom levels, so a new slide's first view is fast."""

from __future__ import annotations

import io

from celery import shared_task

from imaging.wsi import TILE_MEDIA_TYPE, InvalidSlide
from server.core.orm import utcnow
from server.slides.ingest import BUILD_TASK, slide_cache, thumbnail_key, tile_key
from server.slides.models import Slide
from server.storage import ObjectStore
from worker import resources
from worker.base import RecordedTask


def _build(store: ObjectStore, row: Slide) -> int:
    """Write the thumbnail and every missing tile of the pre-built levels; returns the tiles written."""
    source = slide_cache(resources.settings().data_dir).tiles(store, row)
    thumbnail = source.thumbnail()
    store.put(thumbnail_key(row), io.BytesIO(thumbnail), length=len(thumbnail), content_type=TILE_MEDIA_TYPE)
    built = 0
    for level in source.prebuilt_levels():
        for col, tile_row in source.addresses(level):
            key = tile_key(row, level, col, tile_row)
            if not store.exists(key):
                tile = source.tile(level, col, tile_row)
                store.put(key, io.BytesIO(tile), length=len(tile), content_type=TILE_MEDIA_TYPE)
                built += 1
    return built


@shared_task(base=RecordedTask, bind=True, name=BUILD_TASK)
def build_slide_tiles(self: RecordedTask, slide_id: int) -> dict[str, object]:
    """Stage the slide and build its first view. Keys derive from the slide, so a rerun writes the same
    objects (tiles already stored are skipped). No transaction is held while tiles render: embedded
    SQLite would otherwise keep every writer waiting for the whole build."""
    factory = resources.session_factory()
    with factory() as db:
        row = db.get(Slide, slide_id)
        if row is None:
            return {"slide_id": slide_id, "status": "unknown_slide"}
        db.expunge(row)
    try:
        built, error = _build(resources.store(), row), None
    except InvalidSlide as exc:
        built, error = 0, str(exc)[:1000]
    with factory() as db, db.begin():
        stored = db.get(Slide, slide_id)
        if stored is not None:
            stored.tiles_state, stored.tiles_error = ("failed", error) if error else ("ready", None)
            stored.tiles_ready_at = None if error else utcnow()
    return {"slide_id": slide_id, "status": "failed" if error else "ok", "tiles_built": built}
