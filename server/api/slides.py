"""A case's whole-slide images: upload (streamed), list, metadata, thumbnail, DZI descriptor and tiles.

The rules (who may attach or see a slide, checking and indexing it, which tiles exist) are
`server.slides.service`'s; these handlers stream the body to a local spool, call it and answer. A tile
rendered on its first request is kept in object storage once the answer is on its way, so it is
rendered once whatever the number of API replicas.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from imaging.wsi import DZI_MEDIA_TYPE, TILE_MEDIA_TYPE, SlideMetadata, dzi_xml
from server.access.policy import CLINICAL_ROLES
from server.api.routing import (
    Access,
    ApiError,
    Context,
    StreamContext,
    api_route,
    api_stream_route,
    model_response,
)
from server.api.schemas.slides import Slide as SlideOut
from server.api.schemas.slides import Slides, StoredSlide
from server.community.models import Role
from server.slides import service
from server.slides.ingest import slide_cache, stored_metadata
from server.slides.models import Slide
from server.storage import ObjectStore

MAX_SLIDE_BYTES = service.MAX_SLIDE_BYTES
TILE_CACHE_CONTROL = "private, max-age=86400"


def slide_fields(row: Slide) -> dict[str, Any]:
    """The fields of `Slide` for a row. The default view: no label or macro, no identifying vendor
    text either (a reader needs neither)."""
    metadata: SlideMetadata = stored_metadata(row)
    return {
        "id": row.id,
        "case_id": row.case_id,
        "filename": row.filename,
        "format": row.source_format,
        **metadata.to_json(deidentified=True),
        "tiles_state": row.tiles_state,
        "tiles_error": row.tiles_error,
        "dzi": f"/api/slides/{row.id}/dzi",
        "created_at": row.created_at,
    }


def _store(request_app: Any) -> ObjectStore:
    store: ObjectStore = request_app.state.store
    return store


async def _spool(ctx: StreamContext, spool: BinaryIO) -> tuple[int, str]:
    """Write the request body to `spool` as it arrives, hashing it; 413 past `MAX_SLIDE_BYTES`."""
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in ctx.request.stream():
            size += len(chunk)
            if size > MAX_SLIDE_BYTES:
                raise service.too_large()
            digest.update(chunk)
            await run_in_threadpool(spool.write, chunk)
    except ClientDisconnect:
        raise ApiError(400, "incomplete_body", "the connection closed before the slide arrived") from None
    await run_in_threadpool(spool.flush)
    return size, digest.hexdigest()


async def upload_slide(ctx: StreamContext) -> Response:
    """The slide is the raw request body (streamed); its name, for the record, is the `filename` query."""
    filename = ctx.request.query_params.get("filename", "").replace("\\", "/").rsplit("/", 1)[-1]
    case_id: int = ctx.path["case_id"]
    await ctx.run(lambda c: service.upload_target(c.db, c.actor, case_id))
    # Spooled beside the data, not in /tmp: that is often a RAM disk, and slides are gigabytes.
    spool_root = ctx.settings.data_dir / "slide-uploads"
    spool_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=spool_root) as work:
        spool_path = Path(work) / "upload"
        with open(spool_path, "wb") as spool:
            size, sha256 = await _spool(ctx, spool)
        spooled = service.SpooledSlide(spool_path, size, sha256, filename)
        checked = await run_in_threadpool(service.store_original, _store(ctx.request.app), case_id, spooled)

    def record(c: Context) -> StoredSlide:
        stored = service.record_upload(c.db, c.actor, case_id, checked)
        return StoredSlide(status=stored.status, **slide_fields(stored.slide))

    body = await ctx.run(record)
    return model_response(body, status_code=201 if body.status == "stored" else 200)


def list_slides(ctx: Context) -> Response:
    rows = service.list_slides(ctx.db, ctx.actor, ctx.path["case_id"])
    return model_response(Slides(items=[SlideOut(**slide_fields(row)) for row in rows]))


def get_slide(ctx: Context) -> Response:
    row = service.read_slide(ctx.db, ctx.actor, ctx.path["slide_id"], "metadata")
    return model_response(SlideOut(**slide_fields(row)))


def slide_dzi(ctx: Context) -> Response:
    row = service.read_slide(ctx.db, ctx.actor, ctx.path["slide_id"], "dzi")
    return Response(dzi_xml(row.width, row.height), media_type=DZI_MEDIA_TYPE)


def slide_thumbnail(ctx: Context) -> Response:
    content = service.thumbnail(ctx.db, ctx.actor, _store(ctx.request.app), ctx.path["slide_id"])
    return Response(content, media_type=TILE_MEDIA_TYPE, headers={"Cache-Control": TILE_CACHE_CONTROL})


def slide_tile(ctx: Context) -> Response:
    """A cached tile, or one rendered now from the staged slide and cached for every later request."""
    store = _store(ctx.request.app)
    tile = service.tile(
        ctx.db,
        ctx.actor,
        store,
        slide_cache(ctx.settings.data_dir),
        ctx.path["slide_id"],
        ctx.path["level"],
        ctx.path["col"],
        ctx.path["row"],
    )
    keep = None
    if tile.keep_as is not None:
        # Stored once the tile is on its way: the viewer need not wait for the store's fsync.
        keep = BackgroundTask(
            store.put,
            tile.keep_as,
            io.BytesIO(tile.content),
            length=len(tile.content),
            content_type=TILE_MEDIA_TYPE,
        )
    return Response(
        tile.content,
        media_type=TILE_MEDIA_TYPE,
        headers={"Cache-Control": TILE_CACHE_CONTROL},
        background=keep,
    )


SLIDE = "/api/slides/{slide_id:int}"
READERS = Access.only(CLINICAL_ROLES)
routes = [
    api_stream_route(
        "/api/cases/{case_id:int}/slides",
        upload_slide,
        access=Access.only(Role.REQUESTER),
        consumes="application/octet-stream",
        response=StoredSlide,
        status=201,
    ),
    api_route("/api/cases/{case_id:int}/slides", list_slides, access=READERS, response=Slides),
    api_route(SLIDE, get_slide, access=READERS, response=SlideOut),
    api_route(f"{SLIDE}/dzi", slide_dzi, access=READERS, produces=DZI_MEDIA_TYPE),
    api_route(f"{SLIDE}/thumbnail.jpeg", slide_thumbnail, access=READERS, produces=TILE_MEDIA_TYPE),
    api_route(
        f"{SLIDE}/tiles/{{level:int}}/{{col:int}}_{{row:int}}.jpeg",
        slide_tile,
        access=READERS,
        produces=TILE_MEDIA_TYPE,
    ),
]
