"""The teaching library (教学点播): recorded teaching sessions that trainees browse, search and play.

The rules (who publishes, item states, search, chapters, what a trainee reaches, the audit of every
read) are `server.teaching.library`'s; these handlers parse, call it once and answer. Trainees reach
material only through `/api/teaching/...`: the DICOMweb read handlers re-mounted under
`/api/teaching/dicomweb` (limited by `server.access.policy.teaching_library_reads` to the copies), and
slide copies under `/api/teaching/slides`, ECG copies under `/api/teaching/ecgs`. No original UID,
slide id or ECG id ever appears in an answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from imaging.ecg import FORMAT_NAMES
from imaging.wsi import DZI_MEDIA_TYPE, TILE_MEDIA_TYPE, dzi_xml
from server.access.policy import CLINICAL_ROLES, teaching_library_reads
from server.api import dicomweb
from server.api.ecg import samples_of
from server.api.routing import (
    Access,
    Context,
    Handler,
    api_route,
    body_field,
    model_response,
    not_found,
)
from server.api.schemas.ecg import DeviceMeasurements, EcgMeasurements, EcgSamples
from server.api.schemas.teaching_library import (
    ChaptersInput,
    Item,
    Items,
    ListedItem,
    PublishInput,
)
from server.api.schemas.teaching_library import TeachingEcg as EcgCopy
from server.api.schemas.teaching_library import TeachingSlide as SlideCopy
from server.community.models import Role
from server.storage import ObjectNotFound, ObjectStore
from server.teaching import library
from server.teaching.library import PREPARE_TASK, chapters
from server.teaching.models import TeachingEcg, TeachingItem, TeachingSlide

__all__ = ["PREPARE_TASK", "routes"]

PUBLISHERS = Access.only(CLINICAL_ROLES)
LIBRARY_USERS = Access.only(CLINICAL_ROLES, Role.TRAINEE)
CACHE = {"Cache-Control": "private, max-age=3600"}
RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def _store(ctx: Context) -> ObjectStore:
    store: ObjectStore = ctx.request.app.state.store
    return store


def _media_url(item: TeachingItem, name: str) -> str:
    return f"/api/teaching/library/{item.id}/media/{name}"


def summary_fields(item: TeachingItem) -> dict[str, Any]:
    """The fields of `ItemSummary`, and the number of chapters (`ListedItem`)."""
    session = item.teaching_session
    return {
        "id": item.id,
        "title": item.title,
        "specialty": item.specialty,
        "kind": session.kind.value,
        "host_name": session.host.display_name,
        "institution": session.institution.name,
        "held_at": session.held_at or item.recording.started_at,
        "duration_ms": item.recording.duration_ms,
        "poster_url": _media_url(item, "poster.jpg") if "poster.jpg" in item.recording.object_keys else None,
        "state": item.state.value,
        "chapters": len(chapters(item)),
    }


def item_of(item: TeachingItem) -> Item:
    keys = item.recording.object_keys
    fields = {
        **summary_fields(item),
        "description": item.description,
        "error": item.error,
        "chapters": chapters(item),
        "media": {
            "video": _media_url(item, "recording.mp4"),
            "hls": _media_url(item, "hls/index.m3u8"),
            "poster": _media_url(item, "poster.jpg") if "poster.jpg" in keys else None,
            "chapters_vtt": _media_url(item, "chapters.vtt"),
        },
        "events": item.events or [],
        "materials": [
            {
                "kind": m.kind,
                "id": m.copy_id,
                "description": m.description,
                "burned_in_warning": m.burned_in_warning,
            }
            for m in item.materials
        ],
    }
    return Item(**fields)


def publish(ctx: Context) -> Response:
    """A teaching session's recording becomes a library item; the worker makes its copies."""
    # Field by field (the texts' lengths are checked by the service, with their names in the messages).
    new = library.Publication(
        recording_id=body_field(ctx, "recording_id", int),
        title=body_field(ctx, "title", str, required=False),
        specialty=body_field(ctx, "specialty", str, required=False),
        description=body_field(ctx, "description", str, required=False),
    )
    item = library.publish(ctx.db, ctx.actor, ctx.clock, new)
    return model_response(item_of(item), status_code=201)


def list_items(ctx: Context) -> Response:
    """The library of the caller's community, newest first; `q` searches titles and descriptions."""
    params = ctx.request.query_params
    items = library.list_items(
        ctx.db, ctx.actor, q=params.get("q", ""), specialty=params.get("specialty", "")
    )
    return model_response(Items(items=[ListedItem(**summary_fields(item)) for item in items]))


def get_item(ctx: Context) -> Response:
    return model_response(item_of(library.read_item(ctx.db, ctx.actor, ctx.path["item_id"])))


def set_chapters(ctx: Context) -> Response:
    """Replace the host's chapters (the viewer-derived ones stay)."""
    # The entries as sent: the service checks each against the recording's length.
    marks = body_field(ctx, "chapters", list)
    return model_response(item_of(library.set_chapters(ctx.db, ctx.actor, ctx.path["item_id"], marks)))


def _ranged(ctx: Context, store: ObjectStore, key: str, media_type: str) -> Response:
    """The object, or the one byte range asked for (RFC 9110 14.2): what `<video>` seeking needs."""
    size = store.stat(key).size
    header = ctx.request.headers.get("range", "")
    match = RANGE.fullmatch(header.strip())
    headers = {**CACHE, "Accept-Ranges": "bytes"}
    if not match or (not match.group(1) and not match.group(2)):
        return StreamingResponse(store.iter_chunks(key), media_type=media_type, headers={**headers, "Content-Length": str(size)})  # fmt: skip
    first, last = match.groups()
    start = int(first) if first else max(0, size - int(last))
    end = min(int(last), size - 1) if first and last else size - 1
    if start >= size or start > end:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})

    def body() -> Iterator[bytes]:
        left = end - start + 1
        with store.open_range(key, start, left) as stream:
            while left and (chunk := stream.read(min(left, 1 << 20))):
                left -= len(chunk)
                yield chunk

    headers.update({"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)})
    return StreamingResponse(body(), status_code=206, media_type=media_type, headers=headers)


def media(ctx: Context) -> Response:
    """The recording's video, HLS rendition and poster; chapters.vtt from the item's chapters."""
    found = library.read_media(ctx.db, ctx.actor, ctx.path["item_id"], ctx.path["name"])
    if found.key is None:
        return Response(found.text, media_type=found.media_type, headers=CACHE)
    try:
        return _ranged(ctx, _store(ctx), found.key, found.media_type)
    except ObjectNotFound:
        raise not_found("media") from None


# ---- de-identified copies ----------------------------------------------------------------------


def slide_of(copy: TeachingSlide) -> SlideCopy:
    """As `/api/slides/<id>` answers, less what may identify: no label, macro, vendor text or file name."""
    return SlideCopy(
        id=copy.id,
        width=copy.width,
        height=copy.height,
        levels=copy.levels,  # type: ignore[arg-type]  # {width, height, downsample}, validated
        mpp_x=copy.mpp_x,
        mpp_y=copy.mpp_y,
        objective_power=copy.objective_power,
        associated_images=["thumbnail"],
        label_withheld=True,
        properties={},
        tiles_state=copy.tiles_state,
        tiles_error=None,
        dzi=f"/api/teaching/slides/{copy.id}/dzi",
        created_at=copy.created_at,
    )


def get_slide(ctx: Context) -> Response:
    return model_response(slide_of(library.read_slide(ctx.db, ctx.actor, ctx.path["slide_id"], "metadata")))


def slide_dzi(ctx: Context) -> Response:
    copy = library.read_slide(ctx.db, ctx.actor, ctx.path["slide_id"], "dzi")
    return Response(dzi_xml(copy.width, copy.height), media_type=DZI_MEDIA_TYPE)


def slide_thumbnail(ctx: Context) -> Response:
    tile = library.slide_thumbnail(ctx.db, ctx.actor, _store(ctx), ctx.path["slide_id"])
    return Response(tile, media_type=TILE_MEDIA_TYPE, headers=CACHE)


def slide_tile(ctx: Context) -> Response:
    level, col, row = ctx.path["level"], ctx.path["col"], ctx.path["row"]
    tile = library.slide_tile(ctx.db, ctx.actor, _store(ctx), ctx.path["slide_id"], level, col, row)
    return Response(tile, media_type=TILE_MEDIA_TYPE, headers=CACHE)


def ecg_of(copy: TeachingEcg) -> EcgCopy:
    """As `/api/ecgs/<id>` answers, less what may identify: no case, file name, acquisition time or
    device statements (free text)."""
    return EcgCopy(
        id=copy.id,
        format=copy.source_format,
        format_name=FORMAT_NAMES.get(copy.source_format, copy.source_format),
        leads=copy.leads,
        sampling_rate=copy.sampling_rate,
        duration_s=copy.duration_s,
        device=copy.device,
        filters=copy.filters,
        measurements=EcgMeasurements(
            automated=copy.automated_measurements,
            device=DeviceMeasurements(measurements=copy.device_measurements, statements=[]),
        ),
        created_at=copy.created_at,
    )


def get_ecg(ctx: Context) -> Response:
    return model_response(ecg_of(library.read_ecg(ctx.db, ctx.actor, ctx.path["ecg_id"], "record")))


def ecg_samples(ctx: Context) -> Response:
    """Every lead in µV from the copy's record, `?rate=` as for `/api/ecgs/<id>/samples` (what the shared
    viewer's ECG paper asks)."""
    copy, record = library.ecg_signal(ctx.db, ctx.actor, _store(ctx), ctx.path["ecg_id"])
    return model_response(samples_of(ctx, record, copy.id))


def _in_library(handler: Handler) -> Handler:
    """A DICOMweb read handler that reaches the teaching library's copies only."""

    @functools.wraps(handler)
    def library(ctx: Context) -> Response:
        with teaching_library_reads():
            return handler(ctx)

    library.__name__ = f"teaching_{handler.__name__}"
    return library


# The DICOMweb reads trainees replay with, cine included (no STOW-RS: nothing is stored through the library).
LIBRARY_DICOMWEB = [*dicomweb.READS, dicomweb.CINE]

LIBRARY = "/api/teaching/library"
ITEM = LIBRARY + "/{item_id:int}"
SLIDE = "/api/teaching/slides/{slide_id:int}"
ECG = "/api/teaching/ecgs/{ecg_id:int}"
routes = [
    api_route(LIBRARY, list_items, access=LIBRARY_USERS, response=Items),
    # The body is checked field by field here (lengths in the messages): see `PublishInput`.
    api_route(
        LIBRARY, publish, access=PUBLISHERS, methods=["POST"], body=PublishInput, response=Item, status=201
    ),
    api_route(ITEM, get_item, access=LIBRARY_USERS, response=Item),
    api_route(
        ITEM + "/chapters",
        set_chapters,
        access=PUBLISHERS,
        methods=["PUT"],
        body=ChaptersInput,
        response=Item,
    ),
    # The recording (MP4, ranges), its HLS rendition, poster and chapters.
    api_route(
        ITEM + "/media/{name:path}",
        media,
        access=LIBRARY_USERS,
        produces=(
            "video/mp4",
            "application/vnd.apple.mpegurl",
            "video/mp2t",
            "image/jpeg",
            "text/vtt; charset=utf-8",
        ),
    ),
    api_route(SLIDE, get_slide, access=LIBRARY_USERS, response=SlideCopy),
    api_route(SLIDE + "/dzi", slide_dzi, access=LIBRARY_USERS, produces=DZI_MEDIA_TYPE),
    api_route(SLIDE + "/thumbnail.jpeg", slide_thumbnail, access=LIBRARY_USERS, produces=TILE_MEDIA_TYPE),
    api_route(
        SLIDE + "/tiles/{level:int}/{col:int}_{row:int}.jpeg",
        slide_tile,
        access=LIBRARY_USERS,
        produces=TILE_MEDIA_TYPE,
    ),
    api_route(ECG, get_ecg, access=LIBRARY_USERS, response=EcgCopy),
    api_route(ECG + "/samples", ecg_samples, access=LIBRARY_USERS, response=EcgSamples),
    *(
        api_route(
            "/api/teaching" + path,
            _in_library(handler),
            access=LIBRARY_USERS,
            **dicomweb.contract_of(handler),
        )
        for path, handler in LIBRARY_DICOMWEB
    ),
]
