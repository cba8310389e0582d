"""A case's whole-slide images: upload (streamed), list, metadata, thumbnail, DZI descriptor and tiles.

Who may see a slide is who may see its case (`server.access.policy.require_case`); only a requester of the
case's institution attaches one. Every read is audited with the case's patient, tiles included. The
label and macro images are never served: they often show the patient's name.

Tiles: the top deep-zoom levels and the thumbnail are built by the worker at ingest; a deeper tile is
rendered on its first request (from the slide staged in the local `SlideCache`) and kept in object
storage, so it is rendered once whatever the number of API replicas.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from imaging.wsi import (
    ACCEPTED,
    DZI_MEDIA_TYPE,
    TILE_MEDIA_TYPE,
    InvalidSlide,
    SlideMetadata,
    UnsupportedSlide,
    dzi_xml,
    level_tiles,
)
from server.access.policy import CLINICAL_ROLES
from server.api.cases import visible_case, visible_material
from server.api.routing import (
    Access,
    ApiError,
    Context,
    StreamContext,
    api_route,
    api_stream_route,
    model_response,
    not_found,
)
from server.api.schemas.slides import Slide as SlideOut
from server.api.schemas.slides import Slides, StoredSlide
from server.cases.models import Urgency
from server.community.models import Role
from server.slides.ingest import (
    MEDIA_TYPES,
    SlideOutcome,
    checked_slide,
    prefix,
    queue_tiles,
    record_slide,
    slide_cache,
    stored_metadata,
    thumbnail_key,
    tile_key,
)
from server.slides.models import Slide
from server.storage import ObjectNotFound, ObjectStore

MAX_SLIDE_BYTES = 8 << 30  # the largest scans are about 4 GB
TILE_CACHE_CONTROL = "private, max-age=86400"


def _audit_read(ctx: Context, row: Slide, part: str) -> None:
    ctx.audit(
        "slide_read",
        resource_type="slide",
        resource_id=row.id,
        patient_id=row.case.patient_id,
        detail={"part": part},
    )


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


async def _spool(ctx: StreamContext, spool: BinaryIO) -> tuple[int, str]:
    """Write the request body to `spool` as it arrives, hashing it; 413 past `MAX_SLIDE_BYTES`."""
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in ctx.request.stream():
            size += len(chunk)
            if size > MAX_SLIDE_BYTES:
                raise ApiError(413, "too_large", f"a slide may be at most {MAX_SLIDE_BYTES} bytes")
            digest.update(chunk)
            await run_in_threadpool(spool.write, chunk)
    except ClientDisconnect:
        raise ApiError(400, "incomplete_body", "the connection closed before the slide arrived") from None
    await run_in_threadpool(spool.flush)
    return size, digest.hexdigest()


def _check_and_store(
    store: ObjectStore, spool: Path, filename: str, case_id: int, sha256: str, size: int
) -> tuple[str, SlideMetadata]:
    """Open the spooled slide (nothing stored when it is broken), then stream it to object storage."""
    try:
        fmt, metadata = checked_slide(spool, filename)
    except UnsupportedSlide as exc:
        raise ApiError(415, "unsupported_slide_format", str(exc), accepted=ACCEPTED) from None
    except InvalidSlide as exc:
        raise ApiError(422, "invalid_slide", f"not a usable slide: {exc}", accepted=ACCEPTED) from None
    with open(spool, "rb") as data:
        store.put(
            f"{prefix(case_id, sha256)}/original",
            data,
            length=size,
            expected_sha256=sha256,
            content_type=MEDIA_TYPES[fmt],
        )
    return fmt, metadata


async def upload_slide(ctx: StreamContext) -> Response:
    """The slide is the raw request body (streamed); its name, for the record, is the `filename` query."""
    filename = ctx.request.query_params.get("filename", "").replace("\\", "/").rsplit("/", 1)[-1]
    case_id: int = await ctx.run(lambda c: visible_case(c).id)
    store: ObjectStore = ctx.request.app.state.store
    # Spooled beside the data, not in /tmp: that is often a RAM disk, and slides are gigabytes.
    spool_root = ctx.settings.data_dir / "slide-uploads"
    spool_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=spool_root) as work:
        spool_path = Path(work) / "upload"
        with open(spool_path, "wb") as spool:
            size, sha256 = await _spool(ctx, spool)
        if size == 0:
            raise ApiError(422, "invalid_slide", "the body is empty: send the slide file", accepted=ACCEPTED)
        fmt, metadata = await run_in_threadpool(
            _check_and_store, store, spool_path, filename, case_id, sha256, size
        )

    def record(c: Context) -> StoredSlide:
        case = visible_case(c)
        outcome: SlideOutcome = record_slide(
            c.db,
            case=case,
            sha256=sha256,
            size=size,
            fmt=fmt,  # type: ignore[arg-type]
            metadata=metadata,
            filename=filename,
            user=c.current_user,
        )
        row = c.db.get(Slide, outcome.slide_id)
        assert row is not None
        c.audit(
            "slide_store",
            resource_type="slide",
            resource_id=row.id,
            patient_id=case.patient_id,
            detail={"status": outcome.status, "format": fmt, "case_id": case.id, "size": size},
        )
        queue_tiles(c.send_task, outcome, urgent=case.urgency == Urgency.URGENT)
        return StoredSlide(status=outcome.status, **slide_fields(row))

    body = await ctx.run(record)
    return model_response(body, status_code=201 if body.status == "stored" else 200)


def list_slides(ctx: Context) -> Response:
    case = visible_case(ctx)
    rows = ctx.db.scalars(select(Slide).where(Slide.case_id == case.id).order_by(Slide.id)).all()
    ctx.audit("slide_list_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return model_response(Slides(items=[SlideOut(**slide_fields(row)) for row in rows]))


def get_slide(ctx: Context) -> Response:
    row = visible_material(ctx, Slide, "slide_id", "slide")
    _audit_read(ctx, row, "metadata")
    return model_response(SlideOut(**slide_fields(row)))


def slide_dzi(ctx: Context) -> Response:
    row = visible_material(ctx, Slide, "slide_id", "slide")
    _audit_read(ctx, row, "dzi")
    return Response(dzi_xml(row.width, row.height), media_type=DZI_MEDIA_TYPE)


def slide_thumbnail(ctx: Context) -> Response:
    row = visible_material(ctx, Slide, "slide_id", "slide")
    try:
        content = ctx.request.app.state.store.read_bytes(thumbnail_key(row))
    except ObjectNotFound:
        raise ApiError(409, "tiles_pending", "the thumbnail is being built; try again shortly") from None
    _audit_read(ctx, row, "thumbnail")
    return Response(content, media_type=TILE_MEDIA_TYPE, headers={"Cache-Control": TILE_CACHE_CONTROL})


def slide_tile(ctx: Context) -> Response:
    """A cached tile, or one rendered now from the staged slide and cached for every later request."""
    row = visible_material(ctx, Slide, "slide_id", "slide")
    level, col, row_index = ctx.path["level"], ctx.path["col"], ctx.path["row"]
    grid = level_tiles(row.width, row.height)
    if not (level < len(grid) and col < grid[level][0] and row_index < grid[level][1]):
        raise not_found("tile")
    store: ObjectStore = ctx.request.app.state.store
    key = tile_key(row, level, col, row_index)
    keep = None
    try:
        content = store.read_bytes(key)
    except ObjectNotFound:
        try:
            content = slide_cache(ctx.settings.data_dir).tiles(store, row).tile(level, col, row_index)
        except InvalidSlide as exc:
            raise ApiError(422, "invalid_slide", f"the slide cannot be read: {exc}") from None
        # Stored once the tile is on its way: the viewer need not wait for the store's fsync.
        keep = BackgroundTask(
            store.put, key, io.BytesIO(content), length=len(content), content_type=TILE_MEDIA_TYPE
        )
    _audit_read(ctx, row, f"tile {level}/{col}_{row_index}")
    return Response(
        content, media_type=TILE_MEDIA_TYPE, headers={"Cache-Control": TILE_CACHE_CONTROL}, background=keep
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
