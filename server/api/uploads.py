"""Resumable uploads from clinic PCs: tus 1.0.0 (core, creation, termination, checksum, expiration).

Village networks drop connections, so a file goes up in PATCH requests whose bytes are kept as they
arrive: each request's body is spooled to a temporary file while it is hashed, then stored as one
object `uploads/{id}/{offset:016d}`, and the upload's offset is advanced in the database. Nothing is
held in a process, so an interrupted upload resumes on any API replica, after any restart. When the
last byte arrives the chunks are joined, checked against the whole file's SHA-256 declared at creation
and handed to the one DICOM ingest path; the chunks are then deleted.

Decisions the protocol leaves to the server (https://tus.io/protocols/resumable-upload):

- `OPTIONS /api/uploads` is public: it only states the protocol version, extensions, checksum
  algorithms and size limit, and CORS preflights never carry credentials. Everything else needs a
  signed-in `requester`, by cookie (+ CSRF) or Bearer token.
- Another user's upload answers 404 exactly like an unknown one (the refusal is audited).
- `Upload-Metadata` must carry `sha256` (hex); `filename`, `filetype` and `case_id` are optional.
  DICOM and ECG files are taken: a `filetype` other than application/dicom, application/octet-stream,
  an XML type or application/zip is refused at creation, before any byte is sent, and so is an empty
  file or a deferred length. A finished file that is an ECG (any format `imaging.ecg` reads, a DICOM
  waveform included) goes through `server.ecg.service.store_ecg` into the upload's case (an ECG
  without `case_id` is `invalid`); every other through `server.dicom.receive.receive_instance` (the
  C-STORE path too), whose parser accepts the DICM preamble or a bare Implicit VR dataset, as STOW-RS
  does. The limit (`Tus-Max-Size`) is STOW-RS's 1 GiB: ingest parses
  an instance in memory, though no request body is ever held whole on the way in.
- Checksums: `sha256` (preferred) and `sha1` (the one the protocol requires every server to support).
  An interrupted request that carried `Upload-Checksum` is discarded, since its bytes cannot be
  verified; one without is kept up to the last byte received, as the core protocol asks.
- The final PATCH answers 204 with `Upload-Result: stored | duplicate | conflict | invalid`, also for
  an invalid DICOM file: the bytes arrived intact, and a tus client treats any other status as a
  transfer error to retry, which cannot help a file that is wrong in itself. The parser's message is in
  `GET /api/uploads/{id}`. A whole-file SHA-256 mismatch answers 460 (checksum mismatch) with
  `Upload-Result: failed`: the bytes are not those the client meant to send, so the upload is marked
  failed, its chunks deleted, and HEAD on it then answers 410 Gone; the client starts a new upload.
- Expired (24 h after creation), failed and terminated uploads answer 410 Gone. Terminating a finished
  upload changes nothing: the instance it stored is part of the clinical record, not of the upload.
- One request writes to an upload at a time: it holds a lease in the database (renewed while bytes
  arrive, given up after 60 s without any); a second writer gets 423 Locked with Retry-After.
- `X-HTTP-Method-Override: PATCH|DELETE` on a POST to the upload URL is honoured (core protocol).

The rules of the state machine (whose upload, gone states, the case it attaches to, the lease, the
finished file's ingest) are `server.uploads.service`'s; this door parses the tus headers, streams the
bodies into chunks and answers in headers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from functools import partial
from typing import Any, BinaryIO

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.routing import (
    NO_CONTENT,
    Access,
    ApiError,
    Context,
    StreamContext,
    api_route,
    api_stream_route,
    error_response,
    model_response,
)
from server.api.schemas.uploads import Upload as UploadOut
from server.community.models import Role
from server.core.clock import Clock
from server.core.db import transaction
from server.storage import ObjectStore
from server.uploads import service
from server.uploads.models import UploadState
from server.uploads.service import LeaseLost, Window, chunk_key, delete_chunks

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
CHUNK_MEDIA_TYPE = "application/offset+octet-stream"
MAX_UPLOAD_BYTES = service.MAX_UPLOAD_BYTES
LEASE_RENEW_SECONDS = 30
IDLE_TIMEOUT_SECONDS = 60.0
SPOOL_BUFFER_BYTES = 1 << 20
MAX_METADATA_CHARS = 4096
UPLOADERS = Access.only(Role.REQUESTER)
RESULT_HEADER = "Upload-Result"


# -- protocol headers ------------------------------------------------------------------------------


class TusHeaders:
    """Every tus response says `Tus-Resumable`, is never cached, and names the version when it refused one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Tus-Resumable", TUS_VERSION)
                headers.setdefault("Cache-Control", "no-store")
                if message["status"] == 412:
                    headers.setdefault("Tus-Version", TUS_VERSION)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _tus(route: Route) -> Route:
    route.app = TusHeaders(route.app)
    return route


def _require_tus_version(request: Request) -> None:
    sent = request.headers.get("tus-resumable")
    if sent != TUS_VERSION:
        raise ApiError(
            412,
            "unsupported_tus_version",
            f"this server speaks tus {TUS_VERSION}; the request said {sent or 'nothing'} (Tus-Resumable)",
        )


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _non_negative(request: Request, header: str) -> int:
    raw = request.headers.get(header)
    if raw is None or not raw.isascii() or not raw.isdigit():
        raise ApiError(400, "invalid_header", f"{header} must be a non-negative integer", header=header)
    return int(raw)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _parse_metadata(raw: str) -> dict[str, bytes]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs, keys unique, values possibly empty."""
    if len(raw) > MAX_METADATA_CHARS or not raw.isascii():
        raise ApiError(
            400, "invalid_metadata", f"Upload-Metadata must be ASCII, at most {MAX_METADATA_CHARS} characters"
        )
    pairs: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, _, value = item.partition(" ")
        if not key.isprintable():
            raise ApiError(400, "invalid_metadata", f"Upload-Metadata key {key!r} is not printable")
        if key in pairs:
            raise ApiError(400, "invalid_metadata", f"Upload-Metadata key {key!r} appears twice")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                400, "invalid_metadata", f"Upload-Metadata value of {key!r} is not base64"
            ) from None
    return pairs


def _text(metadata: dict[str, bytes], key: str) -> str:
    try:
        return metadata.get(key, b"").decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ApiError(
            400, "invalid_metadata", f"Upload-Metadata value of {key!r} is not UTF-8 text"
        ) from None


def _parse_checksum(request: Request) -> tuple[str, bytes] | None:
    raw = request.headers.get("upload-checksum")
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise ApiError(
            400,
            "unsupported_checksum",
            f"checksum algorithm {algorithm!r} is not supported; use one of {', '.join(CHECKSUMS)}",
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400, "invalid_checksum", "Upload-Checksum must be '<algorithm> <base64 digest>'"
        ) from None


# -- the upload row --------------------------------------------------------------------------------


def _asked(ctx: Context) -> dict[str, str]:
    """How this request named the upload, for the audit of a refusal (as every refusal is audited)."""
    return {"method": ctx.request.method, "path": ctx.request.url.path}


def upload_state(status: service.UploadStatus) -> UploadOut:
    upload = status.upload
    return UploadOut(
        id=upload.id,
        filename=upload.filename,
        length=upload.length,
        offset=upload.offset,
        state=status.state,
        result=upload.result,
        detail=upload.detail,
        sha256=upload.sha256,
        case_id=upload.case_id,
        study_uid=upload.study_uid,
        sop_uid=upload.sop_uid,
        created_at=upload.created_at,
        expires_at=upload.expires_at,
        completed_at=upload.completed_at,
    )


# -- OPTIONS, POST, HEAD, GET, DELETE (short requests, one transaction each) ------------------------


def upload_options(ctx: Context) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            "Tus-Max-Size": str(MAX_UPLOAD_BYTES),
        },
    )


def create_upload(ctx: Context) -> Response:
    _require_tus_version(ctx.request)
    if "upload-defer-length" in ctx.request.headers:
        raise ApiError(400, "length_required", "the length must be known at creation (Upload-Length)")
    length = _non_negative(ctx.request, "Upload-Length")
    raw_metadata = ctx.request.headers.get("upload-metadata", "")
    metadata = _parse_metadata(raw_metadata)
    new = service.NewUpload(
        length=length,
        sha256=_text(metadata, "sha256"),
        filename=_text(metadata, "filename"),
        filetype=_text(metadata, "filetype"),
        case_id=_text(metadata, "case_id") if "case_id" in metadata else None,
        metadata_header=raw_metadata,
    )
    upload = service.create_upload(ctx.db, ctx.actor, ctx.clock, new)
    return Response(
        status_code=201,
        headers={"Location": f"/api/uploads/{upload.id}", "Upload-Expires": _http_date(upload.expires_at)},
    )


def head_upload(ctx: Context) -> Response:
    _require_tus_version(ctx.request)
    upload = service.open_upload(ctx.db, ctx.actor, ctx.clock, ctx.path["upload_id"], _asked(ctx))
    headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)}
    if upload.metadata_header:
        headers["Upload-Metadata"] = upload.metadata_header
    if upload.state == UploadState.RECEIVING:
        headers["Upload-Expires"] = _http_date(upload.expires_at)
    elif upload.result:
        headers["Upload-Result"] = upload.result
    return Response(status_code=200, headers=headers)


def get_upload(ctx: Context) -> Response:
    status = service.read_upload(ctx.db, ctx.actor, ctx.clock, ctx.path["upload_id"], _asked(ctx))
    response = model_response(upload_state(status))
    response.headers["Cache-Control"] = "no-store"
    return response


def delete_upload(ctx: Context) -> Response:
    _require_tus_version(ctx.request)
    upload_id: str = ctx.path["upload_id"]
    if service.terminate_upload(ctx.db, ctx.actor, upload_id, _asked(ctx)):
        store: ObjectStore = ctx.request.app.state.store

        def free_chunks() -> None:
            delete_chunks(store, upload_id)

        ctx.after_commit.append(free_chunks)
    return Response(status_code=204)


# -- PATCH: the bytes ------------------------------------------------------------------------------


def _begin_patch(ctx: Context, client_offset: int, declared: int | None, token: str) -> Window:
    return service.begin_patch(
        ctx.db,
        ctx.actor,
        ctx.clock,
        ctx.path["upload_id"],
        _asked(ctx),
        client_offset=client_offset,
        declared=declared,
        token=token,
    )


def _with_lease(factory: sessionmaker[Session], clock: Clock, window: Window, *, renew: bool) -> bool:
    """Renew or give up the lease, in a transaction of its own."""
    with transaction(factory) as db:
        return service.hold_lease(db, clock, window, renew=renew)


def _commit_chunk(ctx: Context, window: Window, size: int) -> int | None:
    return service.commit_chunk(ctx.db, ctx.clock, window, size)


@dataclass
class _Received:
    size: int
    digests: dict[str, Any]
    ended: str | None  # None: the whole body arrived; else "disconnected", "timeout" or "too_large"


def _write(spool: BinaryIO, data: bytes, digests: dict[str, Any]) -> None:
    spool.write(data)
    for digest in digests.values():
        digest.update(data)


async def _receive(
    request: Request, spool: BinaryIO, limit: int, algorithm: str | None, renew: Callable[[], Awaitable[None]]
) -> _Received:
    """Spool the body to `spool` while hashing it, at most `limit` bytes, renewing the lease as it comes."""
    digests = {"sha256": hashlib.sha256()}
    if algorithm and algorithm not in digests:
        digests[algorithm] = CHECKSUMS[algorithm]()
    stream = request.stream().__aiter__()
    buffer, size, ended = bytearray(), 0, None
    renewed = time.monotonic()
    while True:
        try:
            piece = await asyncio.wait_for(stream.__anext__(), IDLE_TIMEOUT_SECONDS)
        except StopAsyncIteration:
            break
        except ClientDisconnect:
            ended = "disconnected"
            break
        except TimeoutError:
            ended = "timeout"
            break
        if size + len(piece) > limit:
            ended = "too_large"
            break
        buffer += piece
        size += len(piece)
        if len(buffer) >= SPOOL_BUFFER_BYTES:
            await run_in_threadpool(_write, spool, bytes(buffer), digests)
            buffer.clear()
        if time.monotonic() - renewed > LEASE_RENEW_SECONDS:
            await renew()
            renewed = time.monotonic()
    if buffer:
        await run_in_threadpool(_write, spool, bytes(buffer), digests)
    return _Received(size, digests, ended)


def _put_chunk(store: ObjectStore, window: Window, spool: BinaryIO, size: int, sha256: str) -> None:
    spool.seek(0)
    store.put(
        chunk_key(window.upload_id, window.offset),
        spool,
        length=size,
        content_type="application/octet-stream",
        expected_sha256=sha256,
    )


def _patch_response(status: int, window: Window, offset: int, **headers: str) -> Response:
    headers = {"Upload-Offset": str(offset), **headers}
    if offset < window.length:
        headers["Upload-Expires"] = _http_date(window.expires_at)
    return Response(status_code=status, headers=headers)


async def patch_upload(ctx: StreamContext) -> Response:
    """Append the body at `Upload-Offset`; whatever arrived before a drop is kept (unless checksummed)."""
    request = ctx.request
    _require_tus_version(request)
    if _media_type(request) != CHUNK_MEDIA_TYPE:
        raise ApiError(415, "unsupported_media_type", f"PATCH bodies must be {CHUNK_MEDIA_TYPE}")
    client_offset = _non_negative(request, "Upload-Offset")
    checksum = _parse_checksum(request)
    declared = _non_negative(request, "Content-Length") if "content-length" in request.headers else None
    token = secrets.token_hex(16)
    window = await ctx.run(partial(_begin_patch, client_offset=client_offset, declared=declared, token=token))
    if window.finished_result is not None:
        return _patch_response(204, window, window.offset, **{RESULT_HEADER: window.finished_result})
    factory = request.app.state.session_factory
    try:
        return await _write_chunk(ctx, window, checksum)
    except LeaseLost:
        return error_response(409, "upload_changed", "another request took this upload over; ask with HEAD")
    finally:
        await run_in_threadpool(partial(_with_lease, factory, ctx.clock, window, renew=False))


async def _write_chunk(ctx: StreamContext, window: Window, checksum: tuple[str, bytes] | None) -> Response:
    request = ctx.request
    store: ObjectStore = request.app.state.store
    factory = request.app.state.session_factory

    async def renew() -> None:
        if not await run_in_threadpool(partial(_with_lease, factory, ctx.clock, window, renew=True)):
            raise LeaseLost()

    with tempfile.TemporaryFile(prefix="telemed-upload-") as spool:
        received = await _receive(
            request, spool, window.length - window.offset, checksum[0] if checksum else None, renew
        )
        if received.ended == "too_large":
            raise ApiError(413, "too_large", "the body is longer than the bytes still due; it was discarded")
        if checksum and received.ended is None:
            algorithm, expected = checksum
            if received.digests[algorithm].digest() != expected:
                raise ApiError(
                    460,
                    "checksum_mismatch",
                    f"the body's {algorithm} differs from Upload-Checksum; it was discarded, resend it",
                )
        # A checksummed body that did not arrive whole cannot be verified, so it is not kept.
        keep = received.size > 0 and not (checksum and received.ended)
        offset = window.offset
        if keep:
            await renew()  # only the lease holder may write the chunk's key
            sha256 = received.digests["sha256"].hexdigest()
            await run_in_threadpool(_put_chunk, store, window, spool, received.size, sha256)
            committed = await ctx.run(partial(_commit_chunk, window=window, size=received.size))
            if committed is None:
                await run_in_threadpool(store.delete, chunk_key(window.upload_id, window.offset))
                raise ApiError(410, "gone", "the upload was terminated or expired while this request ran")
            offset = committed
    if received.ended == "timeout":
        return _patch_response(408, window, offset, Connection="close")
    if received.ended == "disconnected":
        return _patch_response(400, window, offset)  # nobody is listening any more
    if offset < window.length:
        return _patch_response(204, window, offset)
    return await _finish(ctx, window)


# -- the last byte: check, ingest, clean up ---------------------------------------------------------


def _record_outcome(ctx: Context, window: Window, whole: BinaryIO, digest: str | None, problem: str) -> str:
    store: ObjectStore = ctx.request.app.state.store
    return service.finish_upload(ctx.db, ctx.actor, ctx.clock, store, window, whole, digest, problem)


async def _finish(ctx: StreamContext, window: Window) -> Response:
    store: ObjectStore = ctx.request.app.state.store
    with tempfile.TemporaryFile(prefix="telemed-upload-") as whole:
        try:
            digest, problem = await run_in_threadpool(service.assemble, store, window, whole), ""
        except service.ChunksInconsistent as exc:
            log.error("upload %s: chunks inconsistent: %s", window.upload_id, exc)
            digest, problem = None, f"the server lost part of this upload ({exc}); upload the file again"
        result = await ctx.run(
            partial(_record_outcome, window=window, whole=whole, digest=digest, problem=problem)
        )
    try:
        await run_in_threadpool(delete_chunks, store, window.upload_id)
    except Exception:  # the outcome is recorded; leftover chunks only take space
        log.exception("upload %s: could not delete its chunks", window.upload_id)
    if result == "failed":
        response = error_response(
            460, "checksum_mismatch", "the whole file's SHA-256 differs from the declared one; see the upload"
        )
        response.headers[RESULT_HEADER] = "failed"
        response.headers["Upload-Offset"] = str(window.length)
        return response
    return _patch_response(204, window, window.length, **{RESULT_HEADER: result})


async def override_method(ctx: StreamContext) -> Response:
    """POST with `X-HTTP-Method-Override`, for clients whose environment cannot send PATCH or DELETE."""
    method = ctx.request.headers.get("x-http-method-override", "").strip().upper()
    if method == "PATCH":
        return await patch_upload(ctx)
    if method == "DELETE":
        return await ctx.run(delete_upload)
    raise ApiError(
        405, "method_not_allowed", "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE"
    )


UPLOAD = "/api/uploads/{upload_id}"

# tus speaks in headers: only GET answers JSON; PATCH bodies are the file's bytes.
TUS_HEADERS_ONLY: dict[str, Any] = {"consumes": NO_CONTENT, "produces": NO_CONTENT}
routes = [
    _tus(
        api_route(
            "/api/uploads",
            upload_options,
            access=Access.public(),
            methods=["OPTIONS"],
            produces=NO_CONTENT,
            status=204,
        )
    ),
    _tus(
        api_route(
            "/api/uploads", create_upload, access=UPLOADERS, methods=["POST"], status=201, **TUS_HEADERS_ONLY
        )
    ),
    # HEAD before GET: Starlette lets a GET route answer HEAD too.
    _tus(api_route(UPLOAD, head_upload, access=UPLOADERS, methods=["HEAD"], produces=NO_CONTENT)),
    api_route(UPLOAD, get_upload, access=UPLOADERS, response=UploadOut),
    _tus(
        api_stream_route(
            UPLOAD,
            patch_upload,
            access=UPLOADERS,
            methods=["PATCH"],
            consumes=CHUNK_MEDIA_TYPE,
            produces=NO_CONTENT,
            status=204,
        )
    ),
    _tus(
        api_route(
            UPLOAD, delete_upload, access=UPLOADERS, methods=["DELETE"], produces=NO_CONTENT, status=204
        )
    ),
    # X-HTTP-Method-Override: PATCH (the bytes) or DELETE (no body).
    _tus(
        api_stream_route(
            UPLOAD,
            override_method,
            access=UPLOADERS,
            methods=["POST"],
            consumes=CHUNK_MEDIA_TYPE,
            produces=NO_CONTENT,
            status=204,
        )
    ),
]
