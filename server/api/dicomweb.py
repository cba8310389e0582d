"""DICOMweb: STOW-RS in, QIDO-RS search, WADO-RS metadata and retrieval of studies, series, instances
and frames, rendered images and cine video (PS3.18).

The rules are the DICOM capability's: `server.dicom.stow` (STOW-RS), `server.dicom.query` (QIDO-RS) and
`server.dicom.retrieve` (WADO-RS), every answer limited by `server.dicom.reach` and audited. These
handlers parse the request, call one service function and frame its answer: DICOM JSON, multipart/related
bodies streamed from the object store, media types and cache headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from pydicom.uid import ExplicitVRLittleEndian
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from imaging.dicom.cine import CINE_MEDIA_TYPE
from server.access.actor import Actor
from server.access.policy import CLINICAL_ROLES
from server.api.multipart_related import MultipartError, split_related
from server.api.routing import Access, ApiError, Context, Handler, api_route, not_found
from server.api.schemas.dicomweb import (
    MULTIPART_DICOM,
    MULTIPART_FRAMES,
    DicomDatasets,
    StoreResponse,
)
from server.community.models import Role
from server.dicom import query, retrieve, stow
from server.dicom.ingest import DICOM_MEDIA_TYPE, IndexingConflict, IngestResult, InvalidDicom
from server.dicom.previews import PREVIEW_MEDIA_TYPE
from server.dicom.query import QidoQuery, element
from server.dicom.retrieve import Rendering
from server.sharing.service import through
from server.storage import ObjectStore

DICOM_JSON = "application/dicom+json"
# Patient images may sit in the browser's cache, never in a shared one.
PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}
MAX_STOW_BYTES = 1 << 30
QIDO_MAX_LIMIT = query.QIDO_MAX_LIMIT
# PS3.18 table I.2-1 failure reason: "Cannot understand" / processing failure.
FAILURE_CANNOT_UNDERSTAND = 0xC000
FAILURE_OUT_OF_RESOURCES = 0xA700
# Warning for an instance already stored with other bytes and kept aside: 0xB006 "Elements discarded"
# is the nearest standard code (as the C-STORE SCP answers); the ErrorComment says what happened.
WARNING_CONFLICT = 0xB006
OCTET_STREAM = "application/octet-stream"


def reader(ctx: Context) -> Actor:
    """The caller of a DICOMweb read: the signed-in user, or the outside expert through `ctx.share`."""
    return ctx.actor if ctx.share is None else through(ctx.actor, ctx.share)


def _store(ctx: Context) -> ObjectStore:
    store: ObjectStore = ctx.request.app.state.store
    return store


def _dicom_json(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, media_type=DICOM_JSON)


# ---- STOW-RS -----------------------------------------------------------------------------------------


def _stow_parts(ctx: Context) -> list[bytes]:
    """The DICOM parts of a multipart/related request (RFC 2387)."""
    content_type = ctx.request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/related"):
        raise ApiError(
            415, "unsupported_media_type", 'STOW-RS needs multipart/related; type="application/dicom"'
        )
    try:
        parts = split_related(content_type, ctx.body)
    except MultipartError as exc:
        raise ApiError(400, "invalid_multipart", str(exc)) from None
    for part in parts:
        if part.content_type != DICOM_MEDIA_TYPE:
            raise ApiError(
                415, "unsupported_media_type", f"part of type {part.content_type} is not application/dicom"
            )
    if not parts:
        raise ApiError(400, "invalid_multipart", "the request holds no DICOM parts")
    return [bytes(part.data) for part in parts]


def _case_param(ctx: Context) -> int | None:
    """`?case=`: the case the instances are for (a value that is no id names no case)."""
    raw = ctx.request.query_params.get("case")
    if raw is None:
        return None
    if not raw.isdigit():
        raise not_found("case")
    return int(raw)


def _store_response(ctx: Context, results: list[IngestResult]) -> JSONResponse:
    """The STOW-RS answer (PS3.18 10.5.3): referenced and failed SOP sequences; 409 if nothing was stored,
    202 if some part failed or warned."""
    referenced, failed, warnings = [], [], 0
    base = str(ctx.request.base_url).rstrip("/")
    for index, outcome in enumerate(results):
        if isinstance(outcome, IndexingConflict):
            failed.append(
                {
                    "00081197": element("US", FAILURE_OUT_OF_RESOURCES),
                    "00000902": element("LO", str(outcome)[:64]),
                }
            )
            continue
        if isinstance(outcome, InvalidDicom):
            failed.append(
                {
                    "00081197": element("US", FAILURE_CANNOT_UNDERSTAND),
                    "00000902": element("LO", f"part {index + 1}: {outcome}"[:64]),
                }
            )
            continue
        item = {
            "00081150": element("UI", outcome.sop_class_uid),
            "00081155": element("UI", outcome.sop_uid),
            "00081190": element(
                "UR",
                f"{base}/dicomweb/studies/{outcome.study_uid}/series/{outcome.series_uid}/instances/{outcome.sop_uid}",
            ),
        }
        if outcome.status == "conflict":
            warnings += 1
            item["00081196"] = element("US", WARNING_CONFLICT)
            item["00000902"] = element("LO", "already stored with other bytes; kept aside as a conflict")
        referenced.append(item)
    body: dict[str, Any] = {}
    if referenced:
        body["00081199"] = element("SQ", *referenced)
    if failed:
        body["00081198"] = element("SQ", *failed)
    status = 409 if not referenced else (202 if failed or warnings else 200)
    return _dicom_json(body, status)


def store_instances(ctx: Context) -> Response:
    """STOW-RS. The parts are ingested together, but judged one by one: a bad file never blocks the others."""
    case_id = _case_param(ctx)
    results = stow.store_instances(ctx.db, ctx.actor, _store(ctx), _stow_parts(ctx), case_id)
    return _store_response(ctx, results)


# ---- QIDO-RS -----------------------------------------------------------------------------------------


def _qido(ctx: Context) -> QidoQuery:
    return QidoQuery(tuple(ctx.request.query_params.multi_items()))


def search_studies(ctx: Context) -> Response:
    return _dicom_json(query.search_studies(ctx.db, reader(ctx), _qido(ctx)))


def search_series(ctx: Context) -> Response:
    return _dicom_json(query.search_series(ctx.db, reader(ctx), ctx.path["study"], _qido(ctx)))


def search_instances(ctx: Context) -> Response:
    """Instances of a series, or of a whole study when the path names no series."""
    found = query.search_instances(ctx.db, reader(ctx), ctx.path["study"], ctx.path.get("series"), _qido(ctx))
    return _dicom_json(found)


# ---- WADO-RS -----------------------------------------------------------------------------------------


def study_metadata(ctx: Context) -> Response:
    """Every instance's metadata of the study, from the index."""
    return _dicom_json(retrieve.study_metadata(ctx.db, reader(ctx), ctx.path["study"]))


def series_metadata(ctx: Context) -> Response:
    """All instances' metadata from the index: opening a large series never reparses its files."""
    return _dicom_json(retrieve.series_metadata(ctx.db, reader(ctx), ctx.path["study"], ctx.path["series"]))


def _multipart_response(parts: Iterable[Iterable[bytes]], part_type: str, boundary: str) -> StreamingResponse:
    """A multipart/related body streamed part by part (each part an iterable of byte chunks)."""

    def body() -> Iterator[bytes]:
        for part in parts:
            yield f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode()
            yield from part
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return StreamingResponse(body(), media_type=f'multipart/related; type="{part_type}"; boundary={boundary}')


def _originals(ctx: Context, keys: list[str]) -> StreamingResponse:
    """WADO-RS of many instances: each original file unchanged, streamed one after another."""
    store = _store(ctx)
    parts = (store.iter_chunks(key) for key in keys)
    return _multipart_response(parts, DICOM_MEDIA_TYPE, f"telemed-{uuid.uuid4().hex}")


def retrieve_study(ctx: Context) -> Response:
    return _originals(ctx, retrieve.retrieve_study(ctx.db, reader(ctx), ctx.path["study"]))


def retrieve_series(ctx: Context) -> Response:
    return _originals(
        ctx, retrieve.retrieve_series(ctx.db, reader(ctx), ctx.path["study"], ctx.path["series"])
    )


def _instance_path(ctx: Context) -> tuple[str, str, str]:
    return ctx.path["study"], ctx.path["series"], ctx.path["instance"]


def retrieve_instance(ctx: Context) -> Response:
    """WADO-RS instance retrieval: the original bytes, unchanged, in multipart/related."""
    original = retrieve.retrieve_instance(ctx.db, reader(ctx), *_instance_path(ctx))
    chunks = _store(ctx).iter_chunks(original.key)
    return _multipart_response([chunks], DICOM_MEDIA_TYPE, f"telemed-{original.sha256[:24]}")


def _accepts_native(media_range: str) -> bool:
    """Whether one Accept media range allows frames as octet-stream in Explicit VR Little Endian."""
    kind, *params = (part.strip() for part in media_range.split(";"))
    values = {
        key.strip().lower(): value.strip().strip('"') for key, _, value in (p.partition("=") for p in params)
    }
    kind = kind.lower()
    if kind == "multipart/related":
        if values.get("type", OCTET_STREAM).lower() not in (OCTET_STREAM, "application/*", "*/*"):
            return False
    elif kind not in (OCTET_STREAM, "*/*", "multipart/*"):
        return False
    return values.get("transfer-syntax", "*") in ("*", ExplicitVRLittleEndian)


def _require_native_frames(ctx: Context) -> None:
    """Frames are answered uncompressed; an Accept that allows none of that is refused with 406.
    OHIF and Cornerstone send `multipart/related; type="application/octet-stream"; transfer-syntax=*`."""
    accept = ctx.request.headers.get("accept")
    if accept and not any(_accepts_native(media_range) for media_range in accept.split(",")):
        raise ApiError(
            406,
            "not_acceptable",
            f'frames are served as multipart/related; type="{OCTET_STREAM}"; '
            f"transfer-syntax={ExplicitVRLittleEndian}",
        )


def retrieve_frames(ctx: Context) -> Response:
    """WADO-RS frames: native little-endian pixels per frame (what Cornerstone's wadors loader reads)."""
    _require_native_frames(ctx)
    frames = retrieve.retrieve_frames(
        ctx.db, reader(ctx), _store(ctx), *_instance_path(ctx), ctx.path["frames"]
    )
    transfer = 'application/octet-stream; transfer-syntax="1.2.840.10008.1.2.1"'
    return _multipart_response(
        [[pixels] for pixels in frames.pixels], transfer, f"telemed-frames-{frames.instance_id}"
    )


def retrieve_cine(ctx: Context) -> Response:
    """A multi-frame instance as MP4 (H.264) that a `<video>` element plays, rendered by the worker."""
    store = _store(ctx)
    cine = retrieve.retrieve_cine(ctx.db, reader(ctx), store, *_instance_path(ctx))
    headers = {**PRIVATE_CACHE, "Content-Length": str(cine.size)}
    return StreamingResponse(store.iter_chunks(cine.key), media_type=CINE_MEDIA_TYPE, headers=headers)


def retrieve_rendered(ctx: Context) -> Response:
    """A consumer image of the instance's first frame. The default view comes from the worker's preview.
    Asked for video/mp4, a multi-frame instance's cine instead."""
    accept = ctx.request.headers.get("accept", "")
    if CINE_MEDIA_TYPE in accept:
        return retrieve_cine(ctx)
    params = ctx.request.query_params
    rendering = Rendering(
        window=params.get("window"), viewport=params.get("viewport"), png="image/png" in accept
    )
    picture = retrieve.retrieve_rendered(ctx.db, reader(ctx), _store(ctx), *_instance_path(ctx), rendering)
    return Response(picture.data, media_type=picture.media_type, headers=PRIVATE_CACHE)


def series_thumbnail(ctx: Context) -> Response:
    picture = retrieve.series_thumbnail(
        ctx.db, reader(ctx), _store(ctx), ctx.path["study"], ctx.path["series"]
    )
    return Response(picture.data, media_type=picture.media_type, headers=PRIVATE_CACHE)


READERS = Access.only(CLINICAL_ROLES)
STUDY = "/dicomweb/studies/{study}"
SERIES = STUDY + "/series/{series}"
INSTANCE = SERIES + "/instances/{instance}"

DATASETS: dict[str, Any] = {"response": DicomDatasets, "produces": DICOM_JSON}
# What each read answers, for its routes here and under share links and the teaching library.
CONTRACTS: dict[Handler, dict[str, Any]] = {
    search_studies: DATASETS,
    search_series: DATASETS,
    search_instances: DATASETS,
    study_metadata: DATASETS,
    series_metadata: DATASETS,
    retrieve_study: {"produces": MULTIPART_DICOM},
    retrieve_series: {"produces": MULTIPART_DICOM},
    retrieve_instance: {"produces": MULTIPART_DICOM},
    retrieve_frames: {"produces": MULTIPART_FRAMES},
    retrieve_rendered: {"produces": (PREVIEW_MEDIA_TYPE, "image/png", CINE_MEDIA_TYPE)},
    retrieve_cine: {"produces": CINE_MEDIA_TYPE},
    series_thumbnail: {"produces": PREVIEW_MEDIA_TYPE},
}


def contract_of(handler: Handler) -> dict[str, Any]:
    """The `api_route` contract arguments of a DICOMweb read handler."""
    return CONTRACTS[handler]


def _read(path: str, handler: Handler) -> Route:
    return api_route(path, handler, access=READERS, **contract_of(handler))


# The DICOMweb reads (QIDO-RS and WADO-RS), mounted here for signed-in readers and again under share
# links and the teaching library; cine video is not part of the standard and no share link reaches it.
READS: list[tuple[str, Handler]] = [
    ("/dicomweb/studies", search_studies),
    (STUDY, retrieve_study),
    (STUDY + "/metadata", study_metadata),
    (STUDY + "/instances", search_instances),
    (STUDY + "/series", search_series),
    (SERIES, retrieve_series),
    (SERIES + "/instances", search_instances),
    (SERIES + "/metadata", series_metadata),
    (SERIES + "/thumbnail", series_thumbnail),
    (INSTANCE, retrieve_instance),
    (INSTANCE + "/frames/{frames}", retrieve_frames),
    (INSTANCE + "/rendered", retrieve_rendered),
]
CINE: tuple[str, Handler] = (INSTANCE + "/cine.mp4", retrieve_cine)

routes = [
    api_route(
        "/dicomweb/studies",
        store_instances,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
        raw_body_limit=MAX_STOW_BYTES,
        consumes=MULTIPART_DICOM,
        response=StoreResponse,
        produces=DICOM_JSON,
    ),
    *(_read(path, handler) for path, handler in [*READS, CINE]),
]
