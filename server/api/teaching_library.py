"""The teaching library (教学点播): recorded teaching sessions that trainees browse, search and play.

The host of a teaching session (or the community administrator) publishes its recording; the worker
(`teaching.prepare_item`) then makes de-identified copies of every study and slide shown in it and
rewrites the viewer events to name them. Trainees see only ready items of their own community and
reach material only through `/api/teaching/...`: the DICOMweb read handlers re-mounted under
`/api/teaching/dicomweb` (limited by `server.access.policy.teaching_library_reads` to the copies), and slide
copies under `/api/teaching/slides`, ECG copies under `/api/teaching/ecgs`. No original UID, slide id
or ECG id ever appears in an answer.

Every read is audited, though it holds no patient data: attendance figures count them.
"""

from __future__ import annotations

import functools
import mimetypes
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from starlette.responses import Response, StreamingResponse

from imaging.ecg import FORMAT_NAMES, from_bytes
from imaging.wsi import DZI_MEDIA_TYPE, TILE_MEDIA_TYPE, dzi_xml, level_tiles
from server.access.policy import (
    CLINICAL_ROLES,
    AccessDenied,
    teaching_ecg_scope,
    teaching_item_scope,
    teaching_library_reads,
    teaching_slide_scope,
)
from server.api import dicomweb
from server.api.ecg import samples_of
from server.api.routing import (
    Access,
    ApiError,
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
from server.consults.chapters import chapters_vtt
from server.consults.models import ConsultSession, Recording
from server.core.orm import utcnow
from server.storage import ObjectNotFound, ObjectStore
from server.teaching.models import TeachingEcg, TeachingItem, TeachingSession, TeachingSlide

PUBLISHERS = Access.only(CLINICAL_ROLES)
LIBRARY_USERS = Access.only(CLINICAL_ROLES, Role.TRAINEE)
PREPARE_TASK = "teaching.prepare_item"  # worker/teaching_tasks.py
MAX_TITLE, MAX_SPECIALTY, MAX_DESCRIPTION = 200, 64, 4000
MAX_CHAPTERS = 200
CACHE = {"Cache-Control": "private, max-age=3600"}
# The media of a recording a library item serves; events.json and manifest.json (original UIDs) never.
MEDIA_NAME = re.compile(r"recording\.mp4|poster\.jpg|chapters\.vtt|hls/index\.m3u8|hls/seg[0-9]{3,6}\.ts")
RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def _text(ctx: Context, name: str, limit: int, *, required: bool) -> str:
    value = (body_field(ctx, name, str, required=required) or "").strip()
    if required and not value:
        raise ApiError(400, "missing_field", f"field '{name}' is required", field=name)
    if len(value) > limit:
        raise ApiError(400, "invalid_field", f"'{name}' is longer than {limit} characters", field=name)
    return value


def _may_manage(ctx: Context, session: TeachingSession) -> None:
    """Publishing and chapters are the session host's, or the community administrator's."""
    user = ctx.current_user
    if user.id != session.host_id and not (
        user.role == Role.ADMIN and user.community_id == session.community_id
    ):
        raise AccessDenied(
            "teaching_session", session.id, reason="only the session's host or an administrator"
        )


def _item(ctx: Context) -> TeachingItem:
    """The item named in the path, if the caller's library holds it (refusals look like unknown items)."""
    item = ctx.db.scalar(
        select(TeachingItem).where(
            TeachingItem.id == ctx.path["item_id"], teaching_item_scope(ctx.current_user)
        )
    )
    if item is None:
        raise not_found("teaching library item")
    return item


def _audit(ctx: Context, action: str, item: TeachingItem, **detail: Any) -> None:
    ctx.audit(
        action, resource_type="teaching_item", resource_id=item.id, **({"detail": detail} if detail else {})
    )


def _media_url(item: TeachingItem, name: str) -> str:
    return f"/api/teaching/library/{item.id}/media/{name}"


def chapters(item: TeachingItem) -> list[dict[str, Any]]:
    """The host's chapters and one per material opened, in time order."""
    marked = [{**c, "source": "host"} for c in item.host_chapters or []]
    marked += [{**c, "source": "viewer"} for c in item.viewer_chapters or []]
    return sorted(marked, key=lambda c: (c["t_ms"], c["source"] != "host"))


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
    recording = ctx.db.get(Recording, body_field(ctx, "recording_id", int))
    consult = ctx.db.get(ConsultSession, recording.consult_session_id) if recording else None
    session = (
        consult and consult.teaching_session_id and ctx.db.get(TeachingSession, consult.teaching_session_id)
    )
    # A case consult's recording is patient data: it never enters the library, nor says it exists.
    if recording is None or not session or session.community_id != ctx.current_user.community_id:
        raise ApiError(404, "not_found", "no such teaching session recording", field="recording_id")
    _may_manage(ctx, session)
    if recording.state != "ready":
        raise ApiError(
            409, "recording_not_ready", f"the recording is {recording.state}; publish it once ready"
        )
    item = TeachingItem(
        community_id=session.community_id,
        teaching_session_id=session.id,
        recording_id=recording.id,
        title=_text(ctx, "title", MAX_TITLE, required=True),
        specialty=_text(ctx, "specialty", MAX_SPECIALTY, required=True),
        description=_text(ctx, "description", MAX_DESCRIPTION, required=False),
        created_by_id=ctx.current_user.id,
        created_at=utcnow(),
    )
    try:
        with ctx.db.begin_nested():
            ctx.db.add(item)
            ctx.db.flush()
    except IntegrityError:
        raise ApiError(409, "already_published", "this recording is in the library already") from None
    _audit(ctx, "teaching_item_create", item, recording_id=recording.id)
    ctx.send_task(PREPARE_TASK, item.id)
    ctx.db.refresh(item)
    return model_response(item_of(item), status_code=201)


def list_items(ctx: Context) -> Response:
    """The library of the caller's community, newest first; `q` searches titles and descriptions."""
    query = (
        select(TeachingItem)
        .where(teaching_item_scope(ctx.current_user))
        .options(
            selectinload(TeachingItem.recording),
            selectinload(TeachingItem.teaching_session).selectinload(TeachingSession.host),
            selectinload(TeachingItem.teaching_session).selectinload(TeachingSession.institution),
        )
    )
    q = ctx.request.query_params.get("q", "").strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                TeachingItem.title.ilike(pattern, escape="\\"),
                TeachingItem.description.ilike(pattern, escape="\\"),
            )
        )
    specialty = ctx.request.query_params.get("specialty", "").strip()
    if specialty:
        query = query.where(TeachingItem.specialty == specialty)
    items = ctx.db.scalars(query.order_by(TeachingItem.created_at.desc(), TeachingItem.id.desc())).all()
    ctx.audit("teaching_library_list", resource_type="teaching_item", detail={"q": q, "count": len(items)})
    return model_response(Items(items=[ListedItem(**summary_fields(item)) for item in items]))


def get_item(ctx: Context) -> Response:
    item = _item(ctx)
    _audit(ctx, "teaching_item_read", item)
    return model_response(item_of(item))


def _chapter(raw: Any, duration_ms: int) -> dict[str, Any]:
    t_ms, title = (raw.get("t_ms"), raw.get("title")) if isinstance(raw, dict) else (None, None)
    if not isinstance(t_ms, int) or isinstance(t_ms, bool) or not 0 <= t_ms <= duration_ms:
        raise ApiError(
            400, "invalid_field", f"each chapter needs t_ms from 0 to {duration_ms}", field="chapters"
        )
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise ApiError(400, "invalid_field", f"each chapter needs a title of 1 to {MAX_TITLE} characters", field="chapters")  # fmt: skip
    return {"t_ms": t_ms, "title": title.strip()}


def set_chapters(ctx: Context) -> Response:
    """Replace the host's chapters (the viewer-derived ones stay)."""
    item = _item(ctx)
    _may_manage(ctx, item.teaching_session)
    raw = body_field(ctx, "chapters", list)
    if len(raw) > MAX_CHAPTERS:
        raise ApiError(400, "invalid_field", f"at most {MAX_CHAPTERS} chapters", field="chapters")
    item.host_chapters = sorted(
        (_chapter(c, item.recording.duration_ms or 0) for c in raw), key=lambda c: c["t_ms"]
    )
    _audit(ctx, "teaching_chapters_set", item, count=len(raw))
    return model_response(item_of(item))


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
    item = _item(ctx)
    name = ctx.path["name"]
    keys = item.recording.object_keys
    if not MEDIA_NAME.fullmatch(name) or (name != "chapters.vtt" and name not in keys):
        raise not_found("media")
    _audit(ctx, "teaching_media_read", item, name=name)
    if name == "chapters.vtt":
        cues = [(c["t_ms"], c["title"]) for c in chapters(item)]
        vtt = chapters_vtt(cues, item.recording.duration_ms or 0)
        return Response(vtt, media_type="text/vtt; charset=utf-8", headers=CACHE)
    media_type = {"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t"}.get(
        name.rsplit(".", 1)[-1], mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    try:
        return _ranged(ctx, ctx.request.app.state.store, keys[name], media_type)
    except ObjectNotFound:
        raise not_found("media") from None


# ---- de-identified copies ----------------------------------------------------------------------


def _slide(ctx: Context, part: str) -> TeachingSlide:
    copy = ctx.db.scalar(
        select(TeachingSlide).where(
            TeachingSlide.id == ctx.path["slide_id"], teaching_slide_scope(ctx.current_user)
        )
    )
    if copy is None:
        raise not_found("teaching slide")
    ctx.audit(
        "teaching_slide_read", resource_type="teaching_slide", resource_id=copy.id, detail={"part": part}
    )
    return copy


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
    return model_response(slide_of(_slide(ctx, "metadata")))


def slide_dzi(ctx: Context) -> Response:
    copy = _slide(ctx, "dzi")
    return Response(dzi_xml(copy.width, copy.height), media_type=DZI_MEDIA_TYPE)


def _stored_tile(ctx: Context, key: str) -> Response:
    try:
        content = ctx.request.app.state.store.read_bytes(key)
    except ObjectNotFound:
        raise ApiError(
            409, "tiles_pending", "the teaching copy is being prepared; try again shortly"
        ) from None
    return Response(content, media_type=TILE_MEDIA_TYPE, headers=CACHE)


def slide_thumbnail(ctx: Context) -> Response:
    return _stored_tile(ctx, _slide(ctx, "thumbnail").thumbnail_key)


def slide_tile(ctx: Context) -> Response:
    level, col, row = ctx.path["level"], ctx.path["col"], ctx.path["row"]
    copy = _slide(ctx, f"tile {level}/{col}_{row}")
    grid = level_tiles(copy.width, copy.height)
    if not (level < len(grid) and col < grid[level][0] and row < grid[level][1]):
        raise not_found("tile")
    return _stored_tile(ctx, copy.tile_key(level, col, row))


def _ecg(ctx: Context, part: str) -> TeachingEcg:
    copy = ctx.db.scalar(
        select(TeachingEcg).where(TeachingEcg.id == ctx.path["ecg_id"], teaching_ecg_scope(ctx.current_user))
    )
    if copy is None:
        raise not_found("teaching ECG")
    ctx.audit("teaching_ecg_read", resource_type="teaching_ecg", resource_id=copy.id, detail={"part": part})
    return copy


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
    return model_response(ecg_of(_ecg(ctx, "record")))


def ecg_samples(ctx: Context) -> Response:
    """Every lead in µV from the copy's record, `?rate=` as for `/api/ecgs/<id>/samples` (what the shared
    viewer's ECG paper asks)."""
    copy = _ecg(ctx, "samples")
    try:
        record = from_bytes(ctx.request.app.state.store.read_bytes(copy.record_key))
    except ObjectNotFound:
        raise ApiError(
            409, "copy_pending", "the teaching copy is being prepared; try again shortly"
        ) from None
    return model_response(samples_of(ctx, record, copy.id))


def _in_library(handler: Handler) -> Handler:
    """A DICOMweb read handler that reaches the teaching library's copies only."""

    @functools.wraps(handler)
    def library(ctx: Context) -> Response:
        with teaching_library_reads():
            return handler(ctx)

    library.__name__ = f"teaching_{handler.__name__}"
    return library


# The DICOMweb reads trainees replay with (no STOW-RS: nothing is stored through the library).
LIBRARY_DICOMWEB: list[tuple[str, Handler]] = [
    ("/dicomweb/studies", dicomweb.search_studies),
    (dicomweb.STUDY, dicomweb.retrieve_study),
    (dicomweb.STUDY + "/metadata", dicomweb.study_metadata),
    (dicomweb.STUDY + "/instances", dicomweb.search_instances),
    (dicomweb.STUDY + "/series", dicomweb.search_series),
    (dicomweb.SERIES, dicomweb.retrieve_series),
    (dicomweb.SERIES + "/instances", dicomweb.search_instances),
    (dicomweb.SERIES + "/metadata", dicomweb.series_metadata),
    (dicomweb.SERIES + "/thumbnail", dicomweb.series_thumbnail),
    (dicomweb.INSTANCE, dicomweb.retrieve_instance),
    (dicomweb.INSTANCE + "/frames/{frames}", dicomweb.retrieve_frames),
    (dicomweb.INSTANCE + "/rendered", dicomweb.retrieve_rendered),
    (dicomweb.INSTANCE + "/cine.mp4", dicomweb.retrieve_cine),
]

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
