"""DICOMweb: STOW-RS in, QIDO-RS search, WADO-RS metadata and instance retrieval (PS3.18).

Every answer is limited by `study_scope`, the same rule as the rest of the API, and audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydicom import Dataset
from sqlalchemy import Select, func, select
from starlette.responses import JSONResponse, Response, StreamingResponse

from imaging.dicom import RenderError, encode_jpeg, encode_png, frame_pixels, parse_instance, render_frame
from server.access import CLINICAL_ROLES, study_scope
from server.api.routing import Access, ApiError, Context, api_route, not_found
from server.dicom_ingest import (
    DICOM_MEDIA_TYPE,
    IndexingConflict,
    InvalidDicom,
    ingest_instance,
    queue_previews,
)
from server.models import Case, DicomInstance, DicomSeries, DicomStudy, Role
from server.multipart_related import MultipartError, split_related
from server.previews import PREVIEW_MEDIA_TYPE, PREVIEW_SIZES, preview_key, thumbnail_key
from server.storage import ObjectStore

DICOM_JSON = "application/dicom+json"
# Patient images may sit in the browser's cache, never in a shared one.
PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}
MAX_STOW_BYTES = 1 << 30
QIDO_MAX_LIMIT = 1000
# PS3.18 table I.2-1 failure reason: "Cannot understand" / processing failure.
FAILURE_CANNOT_UNDERSTAND = 0xC000
FAILURE_OUT_OF_RESOURCES = 0xA700
# Warning for an instance already stored with other bytes and kept aside: 0xB006 "Elements discarded"
# is the nearest standard code (as the C-STORE SCP answers); the ErrorComment says what happened.
WARNING_CONFLICT = 0xB006


def _dicom_json(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, media_type=DICOM_JSON)


def _element(vr: str, *values: Any) -> dict[str, Any]:
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


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


def _target_case(ctx: Context) -> Case | None:
    raw = ctx.request.query_params.get("case")
    if raw is None:
        return None
    case = ctx.db.get(Case, int(raw)) if raw.isdigit() else None
    if case is None or case.institution_id != ctx.current_user.institution_id:
        raise not_found("case")
    return case


def store_instances(ctx: Context) -> Response:
    """STOW-RS. Each part is ingested on its own: one bad file never blocks the others."""
    user = ctx.current_user
    if user.institution_id is None:
        raise ApiError(400, "no_institution", "your account belongs to no institution")
    case = _target_case(ctx)
    store: ObjectStore = ctx.request.app.state.store
    referenced, failed, warnings, outcomes = [], [], 0, []
    base = str(ctx.request.base_url).rstrip("/")
    for index, data in enumerate(_stow_parts(ctx)):
        try:
            with ctx.db.begin_nested():
                outcome = ingest_instance(
                    ctx.db, store, data, institution_id=user.institution_id, user=user, case=case
                )
        except IndexingConflict as exc:
            failed.append(
                {
                    "00081197": _element("US", FAILURE_OUT_OF_RESOURCES),
                    "00000902": _element("LO", str(exc)[:64]),
                }
            )
            continue
        except InvalidDicom as exc:
            failed.append(
                {
                    "00081197": _element("US", FAILURE_CANNOT_UNDERSTAND),
                    "00000902": _element("LO", f"part {index + 1}: {exc}"[:64]),
                }
            )
            ctx.audit("dicom_store", outcome="failed", detail={"part": index + 1, "reason": str(exc)})
            continue
        outcomes.append(outcome)
        item = {
            "00081150": _element("UI", outcome.sop_class_uid),
            "00081155": _element("UI", outcome.sop_uid),
            "00081190": _element(
                "UR",
                f"{base}/dicomweb/studies/{outcome.study_uid}/series/{outcome.series_uid}/instances/{outcome.sop_uid}",
            ),
        }
        if outcome.status == "conflict":
            warnings += 1
            item["00081196"] = _element("US", WARNING_CONFLICT)
            item["00000902"] = _element("LO", "already stored with other bytes; kept aside as a conflict")
        referenced.append(item)
        ctx.audit(
            "dicom_store",
            resource_type="dicom_instance",
            resource_id=outcome.sop_uid,
            patient_id=case.patient_id if case else None,
            detail={"status": outcome.status, "study": outcome.study_uid},
        )
    queue_previews(ctx.send_task, outcomes)
    body: dict[str, Any] = {}
    if referenced:
        body["00081199"] = _element("SQ", *referenced)
    if failed:
        body["00081198"] = _element("SQ", *failed)
    status = 409 if not referenced else (202 if failed or warnings else 200)
    return _dicom_json(body, status)


def _limit_offset(ctx: Context) -> tuple[int, int]:
    params = ctx.request.query_params
    try:
        limit = min(int(params.get("limit", 100)), QIDO_MAX_LIMIT)
        offset = int(params.get("offset", 0))
    except ValueError:
        raise ApiError(400, "invalid_query", "limit and offset must be whole numbers") from None
    if limit < 1 or offset < 0:
        raise ApiError(400, "invalid_query", "limit must be positive and offset not negative")
    return limit, offset


def _match(column, value: str):  # type: ignore[no-untyped-def]
    """QIDO matching: `*` and `?` wildcards (PS3.4 C.2.2.2.4), otherwise exact."""
    if "*" in value or "?" in value:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped.replace("*", "%").replace("?", "_"), escape="\\")
    return column == value


def _date_range(column, value: str):  # type: ignore[no-untyped-def]
    if "-" not in value:
        return column == value
    start, _, end = value.partition("-")
    conditions = [column >= start] if start else []
    if end:
        conditions.append(column <= end)
    return conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]


STUDY_FILTERS = {
    "PatientName": DicomStudy.patient_name,
    "00100010": DicomStudy.patient_name,
    "PatientID": DicomStudy.patient_dicom_id,
    "00100020": DicomStudy.patient_dicom_id,
    "AccessionNumber": DicomStudy.accession_number,
    "00080050": DicomStudy.accession_number,
    "StudyInstanceUID": DicomStudy.study_uid,
    "0020000D": DicomStudy.study_uid,
}


def _visible_studies(ctx: Context) -> Select[tuple[DicomStudy]]:
    return select(DicomStudy).where(study_scope(ctx.current_user))


def search_studies(ctx: Context) -> Response:
    query = _visible_studies(ctx)
    params = ctx.request.query_params
    for name, column in STUDY_FILTERS.items():
        if params.get(name):
            query = query.where(_match(column, params[name]))
    for name in ("StudyDate", "00080020"):
        if params.get(name):
            query = query.where(_date_range(DicomStudy.study_date, params[name]))
    modality = params.get("ModalitiesInStudy") or params.get("00080061")
    if modality:
        query = query.where(
            DicomStudy.id.in_(select(DicomSeries.study_id).where(DicomSeries.modality == modality))
        )
    limit, offset = _limit_offset(ctx)
    studies = ctx.db.scalars(
        query.order_by(DicomStudy.study_date.desc(), DicomStudy.id.desc()).limit(limit).offset(offset)
    ).all()
    counts = _study_counts(ctx, [study.id for study in studies])
    answer = []
    for study in studies:
        modalities, n_series, n_instances = counts.get(study.id, ([], 0, 0))
        answer.append(
            {
                **study.attributes,
                "00080061": _element("CS", *modalities),
                "00201206": _element("IS", n_series),
                "00201208": _element("IS", n_instances),
            }
        )
    ctx.audit("dicom_query", resource_type="dicom_study", detail={"level": "study", "count": len(answer)})
    return _dicom_json(answer)


def _study_counts(ctx: Context, study_ids: list[int]) -> dict[int, tuple[list[str], int, int]]:
    rows = ctx.db.execute(
        select(DicomSeries.study_id, DicomSeries.modality, func.count(DicomInstance.id))
        .join(DicomInstance, DicomInstance.series_id == DicomSeries.id)
        .where(DicomSeries.study_id.in_(study_ids))
        .group_by(DicomSeries.id, DicomSeries.study_id, DicomSeries.modality)
    ).all()
    counts: dict[int, tuple[list[str], int, int]] = {}
    for study_id, modality, n in rows:
        modalities, n_series, n_instances = counts.get(study_id, ([], 0, 0))
        if modality and modality not in modalities:
            modalities.append(modality)
        counts[study_id] = (modalities, n_series + 1, n_instances + n)
    return counts


def _study_or_404(ctx: Context) -> DicomStudy:
    study = ctx.db.scalar(_visible_studies(ctx).where(DicomStudy.study_uid == ctx.path["study"]))
    if study is None:
        # Unknown and not-yours look the same from outside; the refusal is still audited.
        ctx.audit(
            "dicom_retrieve", resource_type="dicom_study", resource_id=ctx.path["study"], outcome="denied"
        )
        raise ApiError(404, "not_found", "study not found", keep_changes=True)
    return study


def _series_or_404(ctx: Context, study: DicomStudy) -> DicomSeries:
    series = ctx.db.scalar(
        select(DicomSeries).where(
            DicomSeries.study_id == study.id, DicomSeries.series_uid == ctx.path["series"]
        )
    )
    if series is None:
        raise not_found("series")
    return series


def _patient_of(study: DicomStudy, ctx: Context) -> int | None:
    case = ctx.db.get(Case, study.case_id) if study.case_id else None
    return case.patient_id if case else None


def search_series(ctx: Context) -> Response:
    study = _study_or_404(ctx)
    answer = [
        {**series.attributes, "00201209": _element("IS", len(series.instances))} for series in study.series
    ]
    ctx.audit(
        "dicom_query",
        resource_type="dicom_study",
        resource_id=study.study_uid,
        patient_id=_patient_of(study, ctx),
    )
    return _dicom_json(answer)


def _instance_summary(instance: DicomInstance) -> dict[str, Any]:
    keep = ("00080016", "00080018", "00200013", "00280010", "00280011", "00280008", "0020000D", "0020000E")
    return {tag: instance.dicom_json[tag] for tag in keep if tag in instance.dicom_json}


def _audited_series(ctx: Context, action: str, **detail: str) -> DicomSeries:
    """The series named in the path, if visible, with its access written to the audit log."""
    study = _study_or_404(ctx)
    series = _series_or_404(ctx, study)
    ctx.audit(
        action,
        resource_type="dicom_series",
        resource_id=series.series_uid,
        patient_id=_patient_of(study, ctx),
        **({"detail": detail} if detail else {}),
    )
    return series


def search_instances(ctx: Context) -> Response:
    series = _audited_series(ctx, "dicom_query")
    return _dicom_json([_instance_summary(instance) for instance in series.instances])


def series_metadata(ctx: Context) -> Response:
    """All instances' metadata from the index: opening a large series never reparses its files."""
    series = _audited_series(ctx, "dicom_retrieve", what="metadata")
    return _dicom_json([instance.dicom_json for instance in series.instances])


def _instance_or_404(ctx: Context) -> tuple[DicomStudy, DicomInstance]:
    study = _study_or_404(ctx)
    series = _series_or_404(ctx, study)
    instance = ctx.db.scalar(
        select(DicomInstance).where(
            DicomInstance.series_id == series.id, DicomInstance.sop_uid == ctx.path["instance"]
        )
    )
    if instance is None:
        raise not_found("instance")
    return study, instance


def _audit_retrieve(ctx: Context, study: DicomStudy, instance: DicomInstance, what: str) -> None:
    ctx.audit(
        "dicom_retrieve",
        resource_type="dicom_instance",
        resource_id=instance.sop_uid,
        patient_id=_patient_of(study, ctx),
        detail={"what": what},
    )


def _multipart_response(parts: Iterable[bytes], part_type: str, boundary: str) -> StreamingResponse:
    """A multipart/related body streamed part by part (each part an iterable of byte chunks)."""

    def body() -> Iterator[bytes]:
        for part in parts:
            yield f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode()
            yield from part
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return StreamingResponse(body(), media_type=f'multipart/related; type="{part_type}"; boundary={boundary}')


def retrieve_instance(ctx: Context) -> Response:
    """WADO-RS instance retrieval: the original bytes, unchanged, in multipart/related."""
    study, instance = _instance_or_404(ctx)
    _audit_retrieve(ctx, study, instance, "instance")
    store: ObjectStore = ctx.request.app.state.store
    chunks = store.iter_chunks(instance.stored_file.object_key)
    return _multipart_response([chunks], DICOM_MEDIA_TYPE, f"telemed-{instance.stored_file.sha256[:24]}")


def _frame_numbers(ctx: Context, instance: DicomInstance) -> list[int]:
    try:
        numbers = [int(part) for part in ctx.path["frames"].split(",")]
    except ValueError:
        raise ApiError(
            400, "invalid_frames", "frames must be a comma-separated list of numbers from 1"
        ) from None
    if not numbers or any(not 1 <= n <= instance.frames for n in numbers):
        raise ApiError(404, "not_found", f"frame out of range: the instance has {instance.frames} frame(s)")
    return numbers


def _dataset(ctx: Context, instance: DicomInstance) -> Dataset:
    store: ObjectStore = ctx.request.app.state.store
    return parse_instance(store.read_bytes(instance.stored_file.object_key)).dataset


def retrieve_frames(ctx: Context) -> Response:
    """WADO-RS frames: native little-endian pixels per frame (what Cornerstone's wadors loader reads)."""
    study, instance = _instance_or_404(ctx)
    numbers = _frame_numbers(ctx, instance)
    ds = _dataset(ctx, instance)
    _audit_retrieve(ctx, study, instance, "frames")
    parts = [[frame_pixels(ds, n - 1)] for n in numbers]
    transfer = 'application/octet-stream; transfer-syntax="1.2.840.10008.1.2.1"'
    return _multipart_response(parts, transfer, f"telemed-frames-{instance.id}")


def _window_param(ctx: Context) -> tuple[float, float] | None:
    raw = ctx.request.query_params.get("window")
    if not raw:
        return None
    try:
        center, width = (float(v) for v in raw.split(",")[:2])
    except ValueError:
        raise ApiError(400, "invalid_query", "window must be center,width") from None
    if width <= 0:
        raise ApiError(400, "invalid_query", "window width must be positive")
    return center, width


def _viewport_param(ctx: Context) -> int | None:
    raw = ctx.request.query_params.get("viewport")
    if not raw:
        return None
    try:
        size = max(int(v) for v in raw.split(",")[:2])
    except ValueError:
        raise ApiError(400, "invalid_query", "viewport must be width,height") from None
    if not 1 <= size <= 8192:
        raise ApiError(400, "invalid_query", "viewport must be between 1 and 8192 pixels")
    return size


def retrieve_rendered(ctx: Context) -> Response:
    """A consumer image of the instance's first frame. The default view comes from the worker's preview."""
    study, instance = _instance_or_404(ctx)
    window, size = _window_param(ctx), _viewport_param(ctx)
    wants_png = "image/png" in ctx.request.headers.get("accept", "")
    _audit_retrieve(ctx, study, instance, "rendered")
    store: ObjectStore = ctx.request.app.state.store
    if instance.previews_at and window is None and not wants_png and (size is None or size in PREVIEW_SIZES):
        key = preview_key(
            study.study_uid, instance.series.series_uid, instance.sop_uid, 0, size or PREVIEW_SIZES[-1]
        )
        return Response(store.read_bytes(key), media_type=PREVIEW_MEDIA_TYPE, headers=PRIVATE_CACHE)
    try:
        image = render_frame(_dataset(ctx, instance), 0, window=window, size=size)
    except RenderError as exc:
        raise ApiError(422, "not_renderable", str(exc)) from None
    if wants_png:
        return Response(encode_png(image), media_type="image/png", headers=PRIVATE_CACHE)
    return Response(encode_jpeg(image), media_type=PREVIEW_MEDIA_TYPE, headers=PRIVATE_CACHE)


def series_thumbnail(ctx: Context) -> Response:
    study = _study_or_404(ctx)
    series = _series_or_404(ctx, study)
    if series.thumbnail_at is None:
        raise ApiError(404, "not_ready", "the thumbnail has not been rendered yet")
    store: ObjectStore = ctx.request.app.state.store
    data = store.read_bytes(thumbnail_key(study.study_uid, series.series_uid))
    return Response(data, media_type=PREVIEW_MEDIA_TYPE, headers=PRIVATE_CACHE)


READERS = Access.only(CLINICAL_ROLES)
STUDY = "/dicomweb/studies/{study}"
SERIES = STUDY + "/series/{series}"
INSTANCE = SERIES + "/instances/{instance}"

routes = [
    api_route(
        "/dicomweb/studies",
        store_instances,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
        raw_body_limit=MAX_STOW_BYTES,
    ),
    api_route("/dicomweb/studies", search_studies, access=READERS),
    api_route(STUDY + "/series", search_series, access=READERS),
    api_route(SERIES + "/instances", search_instances, access=READERS),
    api_route(SERIES + "/metadata", series_metadata, access=READERS),
    api_route(SERIES + "/thumbnail", series_thumbnail, access=READERS),
    api_route(INSTANCE, retrieve_instance, access=READERS),
    api_route(INSTANCE + "/frames/{frames}", retrieve_frames, access=READERS),
    api_route(INSTANCE + "/rendered", retrieve_rendered, access=READERS),
]
