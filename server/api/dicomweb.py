"""DICOMweb: STOW-RS in, QIDO-RS search, WADO-RS metadata and retrieval of studies, series, instances
and frames, rendered images and cine video (PS3.18).

Every answer is limited by `study_scope`, the same rule as the rest of the API, and audited.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, Literal

from pydicom import Dataset
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import ColumnElement, Select, func, select
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from imaging.dicom import (
    RenderError,
    display_name,
    encode_jpeg,
    encode_png,
    frame_pixels,
    parse_instance,
    render_frame,
)
from imaging.dicom.cine import CINE_MEDIA_TYPE
from server.access.policy import CLINICAL_ROLES, dicomweb_study_scope, require_share_scope
from server.api.multipart_related import MultipartError, split_related
from server.api.routing import Access, ApiError, Context, Handler, api_route, not_found
from server.api.schemas.dicomweb import (
    MULTIPART_DICOM,
    MULTIPART_FRAMES,
    DicomDatasets,
    StoreResponse,
)
from server.cases.models import Case, StoredFile
from server.community.models import Role
from server.dicom.ingest import (
    DICOM_MEDIA_TYPE,
    IndexingConflict,
    InvalidDicom,
    ingest_instances,
    queue_previews,
)
from server.dicom.models import DicomInstance, DicomSeries, DicomStudy
from server.dicom.previews import PREVIEW_MEDIA_TYPE, PREVIEW_SIZES, cine_key, preview_key, thumbnail_key
from server.sharing.models import ShareScope
from server.storage import ObjectNotFound, ObjectStore

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
    """STOW-RS. The parts are ingested together, but judged one by one: a bad file never blocks the others."""
    user = ctx.current_user
    if user.institution_id is None:
        raise ApiError(400, "no_institution", "your account belongs to no institution")
    case = _target_case(ctx)
    store: ObjectStore = ctx.request.app.state.store
    referenced, failed, warnings, outcomes = [], [], 0, []
    base = str(ctx.request.base_url).rstrip("/")
    results = ingest_instances(
        ctx.db, store, _stow_parts(ctx), institution_id=user.institution_id, user=user, case=case
    )
    for index, outcome in enumerate(results):
        if isinstance(outcome, IndexingConflict):
            failed.append(
                {
                    "00081197": _element("US", FAILURE_OUT_OF_RESOURCES),
                    "00000902": _element("LO", str(outcome)[:64]),
                }
            )
            continue
        if isinstance(outcome, InvalidDicom):
            failed.append(
                {
                    "00081197": _element("US", FAILURE_CANNOT_UNDERSTAND),
                    "00000902": _element("LO", f"part {index + 1}: {outcome}"[:64]),
                }
            )
            ctx.audit("dicom_store", outcome="failed", detail={"part": index + 1, "reason": str(outcome)})
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


def _limit_offset(ctx: Context, default: int = 100) -> tuple[int, int]:
    params = ctx.request.query_params
    try:
        limit = min(int(params.get("limit", default)), QIDO_MAX_LIMIT)
        offset = int(params.get("offset", 0))
    except ValueError:
        raise ApiError(400, "invalid_query", "limit and offset must be whole numbers") from None
    if limit < 1 or offset < 0:
        raise ApiError(400, "invalid_query", "limit must be positive and offset not negative")
    return limit, offset


def _match(column, value: str, *, ignore_case: bool = False):  # type: ignore[no-untyped-def]
    """QIDO matching: `*` and `?` wildcards (PS3.4 C.2.2.2.4), otherwise exact."""
    if "*" in value or "?" in value:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = escaped.replace("*", "%").replace("?", "_")
        return column.ilike(pattern, escape="\\") if ignore_case else column.like(pattern, escape="\\")
    return func.lower(column) == value.lower() if ignore_case else column == value


def _person_name(column, value: str):  # type: ignore[no-untyped-def]
    """PN matching against the indexed display name ("张^秀英" is kept as "张秀英"), ignoring case."""
    return _match(column, display_name(value), ignore_case=True)


def _any_of(column, value: str):  # type: ignore[no-untyped-def]
    """List matching (PS3.4 C.2.2.2.2 for UIDs, also for codes such as Modality): backslash or comma."""
    return column.in_([item for item in value.replace("\\", ",").split(",") if item])


def _number(column, value: str):  # type: ignore[no-untyped-def]
    try:
        return column == int(value)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{value!r} is not a whole number") from None


def _date_range(column, value: str):  # type: ignore[no-untyped-def]
    if "-" not in value:
        return column == value
    start, _, end = value.partition("-")
    conditions = [column >= start] if start else []
    if end:
        conditions.append(column <= end)
    return conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]


Filter = Callable[[str], ColumnElement[bool]]
# QIDO-RS matching attributes per level, by keyword (a query may name them by tag as well).
STUDY_FILTERS: dict[str, Filter] = {
    "PatientName": partial(_person_name, DicomStudy.patient_name),
    "PatientID": partial(_match, DicomStudy.patient_dicom_id),
    "AccessionNumber": partial(_match, DicomStudy.accession_number),
    "StudyDescription": partial(_match, DicomStudy.description, ignore_case=True),
    "StudyInstanceUID": partial(_any_of, DicomStudy.study_uid),
    "StudyDate": partial(_date_range, DicomStudy.study_date),
    "ModalitiesInStudy": lambda value: DicomStudy.id.in_(
        select(DicomSeries.study_id).where(_any_of(DicomSeries.modality, value))
    ),
}
SERIES_FILTERS: dict[str, Filter] = {
    "Modality": partial(_any_of, DicomSeries.modality),
    "SeriesInstanceUID": partial(_any_of, DicomSeries.series_uid),
    "SeriesNumber": partial(_number, DicomSeries.number),
    "SeriesDescription": partial(_match, DicomSeries.description, ignore_case=True),
    "BodyPartExamined": partial(_match, DicomSeries.body_part),
}
INSTANCE_FILTERS: dict[str, Filter] = {
    "SOPInstanceUID": partial(_any_of, DicomInstance.sop_uid),
    "SOPClassUID": partial(_any_of, DicomInstance.sop_class_uid),
    "InstanceNumber": partial(_number, DicomInstance.instance_number),
}
# What `includefield=all` adds at study and series level: the attributes of the Patient, General
# Study and Patient Study modules, and of the General Series and General Equipment modules (PS3.3).
STUDY_MODULE_TAGS = frozenset(
    {"00080020", "00080030", "00080050", "00080090", "00081030", "00081032", "00081060", "00200010",
     "0020000D", "00321060", "00101010", "00101020", "00101030", "00102180", "001021B0", "00080005"}
)  # fmt: skip
SERIES_MODULE_TAGS = frozenset(
    {"00080005", "00080021", "00080031", "00080060", "0008103E", "00081070", "00180015", "0020000D",
     "0020000E", "00200011", "00200060", "00185100", "00400244", "00400245", "00080070", "00080080",
     "00081010", "00081090", "00181020"}
)  # fmt: skip


def _at_study_level(tag: str) -> bool:
    return tag.startswith("0010") or tag in STUDY_MODULE_TAGS


def _is_tag(name: str) -> bool:
    return len(name) == 8 and all(char in string.hexdigits for char in name)


def _keyword(name: str) -> str:
    """A query key as a keyword: "00100010" and "PatientName" both give "PatientName"."""
    return (keyword_for_tag(int(name, 16)) or name) if _is_tag(name) else name


def _filtered(ctx: Context, query: Select, filters: dict[str, Filter]) -> Select:
    """`query` narrowed by each matching attribute of the query string; others are ignored (PS3.18 8.3.4.1)."""
    for name, value in ctx.request.query_params.multi_items():
        matcher = filters.get(_keyword(name))
        if matcher is not None and value:
            query = query.where(matcher(value))
    return query


IncludeFields = frozenset[str] | Literal["all"]


def _include_fields(ctx: Context) -> IncludeFields:
    """The `includefield` attributes as tags ("0008103E"), named by keyword or tag, comma-separated or
    repeated; "all" for every attribute the level has."""
    tags = set()
    for raw in ctx.request.query_params.getlist("includefield"):
        for name in filter(None, (part.strip() for part in raw.split(","))):
            if name == "all":
                return "all"
            if _is_tag(name):
                tags.add(name.upper())
            elif (tag := tag_for_keyword(name)) is not None:
                tags.add(f"{tag:08X}")
            else:
                raise ApiError(
                    400, "invalid_query", f"includefield {name!r} is neither a DICOM keyword nor a tag"
                )
    return frozenset(tags)


def _include(
    answer: dict[str, Any],
    source: dict[str, Any],
    fields: IncludeFields,
    at_level: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """`answer` with the requested attributes of `source` (an instance's DICOM JSON) added; for "all",
    those `at_level` accepts (every one when it is None)."""
    wanted = [tag for tag in source if at_level is None or at_level(tag)] if fields == "all" else fields
    for tag in wanted:
        if tag not in answer and tag in source:
            answer[tag] = source[tag]
    return answer


def _first_instances(ctx: Context, owner: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The DICOM JSON of the first-indexed instance of each study or series (`owner`: the id column).
    Study- and series-level attributes are the same on every instance, so one answers for all."""
    if not ids:
        return {}
    first = (
        select(owner.label("owner"), func.min(DicomInstance.id).label("first"))
        .select_from(DicomInstance)
        .join(DicomSeries, DicomInstance.series_id == DicomSeries.id)
        .where(owner.in_(ids))
        .group_by(owner)
        .subquery()
    )
    rows = ctx.db.execute(
        select(first.c.owner, DicomInstance.dicom_json).join(first, DicomInstance.id == first.c.first)
    )
    return {owner_id: data for owner_id, data in rows}


def _visible_studies(ctx: Context) -> Select[tuple[DicomStudy]]:
    return select(DicomStudy).where(dicomweb_study_scope(ctx.user, ctx.share))


def search_studies(ctx: Context) -> Response:
    query = _filtered(ctx, _visible_studies(ctx), STUDY_FILTERS)
    fields = _include_fields(ctx)
    limit, offset = _limit_offset(ctx)
    studies = ctx.db.scalars(
        query.order_by(DicomStudy.study_date.desc(), DicomStudy.id.desc()).limit(limit).offset(offset)
    ).all()
    ids = [study.id for study in studies]
    counts = _study_counts(ctx, ids)
    firsts = _first_instances(ctx, DicomSeries.study_id, ids) if fields else {}
    answer = []
    for study in studies:
        modalities, n_series, n_instances = counts.get(study.id, ([], 0, 0))
        found = {
            **study.attributes,
            "00080061": _element("CS", *modalities),
            "00201206": _element("IS", n_series),
            "00201208": _element("IS", n_instances),
        }
        answer.append(_include(found, firsts.get(study.id, {}), fields, _at_study_level))
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


def _audited_study(ctx: Context, action: str, **detail: str) -> DicomStudy:
    """The study named in the path, if visible, with its access written to the audit log."""
    study = _study_or_404(ctx)
    ctx.audit(
        action,
        resource_type="dicom_study",
        resource_id=study.study_uid,
        patient_id=_patient_of(study, ctx),
        **({"detail": detail} if detail else {}),
    )
    return study


def search_series(ctx: Context) -> Response:
    study = _audited_study(ctx, "dicom_query")
    fields = _include_fields(ctx)
    limit, offset = _limit_offset(ctx, QIDO_MAX_LIMIT)
    query = _filtered(ctx, select(DicomSeries).where(DicomSeries.study_id == study.id), SERIES_FILTERS)
    found = ctx.db.scalars(
        query.order_by(DicomSeries.number, DicomSeries.id).limit(limit).offset(offset)
    ).all()
    ids = [series.id for series in found]
    counts = dict(
        ctx.db.execute(
            select(DicomInstance.series_id, func.count())
            .where(DicomInstance.series_id.in_(ids))
            .group_by(DicomInstance.series_id)
        ).all()
    )
    firsts = _first_instances(ctx, DicomSeries.id, ids) if fields else {}
    answer = [
        _include(
            {
                **series.attributes,
                "0020000D": _element("UI", study.study_uid),
                "00201209": _element("IS", counts.get(series.id, 0)),
            },
            firsts.get(series.id, {}),
            fields,
            SERIES_MODULE_TAGS.__contains__,
        )
        for series in found
    ]
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
    """Instances of a series, or of a whole study when the path names no series."""
    if "series" in ctx.path:
        query = select(DicomInstance).where(DicomInstance.series_id == _audited_series(ctx, "dicom_query").id)
    else:
        study = _audited_study(ctx, "dicom_query", level="instance")
        query = select(DicomInstance).join(DicomSeries).where(DicomSeries.study_id == study.id)
    fields = _include_fields(ctx)
    limit, offset = _limit_offset(ctx, QIDO_MAX_LIMIT)
    instances = ctx.db.scalars(
        _filtered(ctx, query, INSTANCE_FILTERS)
        .order_by(DicomInstance.series_id, DicomInstance.instance_number, DicomInstance.id)
        .limit(limit)
        .offset(offset)
    ).all()
    # At instance level "all" is every attribute of the instance.
    return _dicom_json(
        [_include(_instance_summary(instance), instance.dicom_json, fields) for instance in instances]
    )


def series_metadata(ctx: Context) -> Response:
    """All instances' metadata from the index: opening a large series never reparses its files."""
    series = _audited_series(ctx, "dicom_retrieve", what="metadata")
    return _dicom_json([instance.dicom_json for instance in series.instances])


def _in_order(query: Select) -> Select:
    """Instances as a viewer lists them: series by number, then instances by number."""
    return query.order_by(DicomSeries.number, DicomSeries.id, DicomInstance.instance_number, DicomInstance.id)


def study_metadata(ctx: Context) -> Response:
    """Every instance's metadata of the study, from the index (as `series_metadata`)."""
    study = _audited_study(ctx, "dicom_retrieve", what="metadata")
    query = select(DicomInstance.dicom_json).join(DicomSeries).where(DicomSeries.study_id == study.id)
    return _dicom_json(list(ctx.db.scalars(_in_order(query))))


def _retrieve_all(ctx: Context, condition: ColumnElement[bool]) -> StreamingResponse:
    """WADO-RS of many instances: each original file unchanged, streamed one after another."""
    if ctx.share is not None:
        require_share_scope(ctx.share, ShareScope.DOWNLOAD)
    keys = ctx.db.scalars(
        _in_order(
            select(StoredFile.object_key)
            .join(DicomInstance, DicomInstance.stored_file_id == StoredFile.id)
            .join(DicomSeries, DicomInstance.series_id == DicomSeries.id)
            .where(condition)
        )
    ).all()
    store: ObjectStore = ctx.request.app.state.store
    parts = (store.iter_chunks(key) for key in keys)
    return _multipart_response(parts, DICOM_MEDIA_TYPE, f"telemed-{uuid.uuid4().hex}")


def retrieve_study(ctx: Context) -> Response:
    study = _audited_study(ctx, "dicom_retrieve", what="study")
    return _retrieve_all(ctx, DicomSeries.study_id == study.id)


def retrieve_series(ctx: Context) -> Response:
    series = _audited_series(ctx, "dicom_retrieve", what="series")
    return _retrieve_all(ctx, DicomSeries.id == series.id)


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


OCTET_STREAM = "application/octet-stream"


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
    """WADO-RS frames: native little-endian pixels per frame (what Cornerstone's wadors loader reads),
    uncompressed data exactly as stored (4:2:2 subsampled, 1-bit packed), as its metadata describes."""
    _require_native_frames(ctx)
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


def retrieve_cine(ctx: Context) -> Response:
    """A multi-frame instance as MP4 (H.264) that a `<video>` element plays, rendered by the worker."""
    study, instance = _instance_or_404(ctx)
    if instance.frames < 2:
        raise ApiError(404, "not_multiframe", "the instance has a single frame: there is no cine to play")
    store: ObjectStore = ctx.request.app.state.store
    key = cine_key(study.study_uid, instance.series.series_uid, instance.sop_uid)
    try:
        size = store.stat(key).size
    except ObjectNotFound:
        raise ApiError(
            404, "not_ready", "the cine has not been rendered yet; try again in a moment"
        ) from None
    _audit_retrieve(ctx, study, instance, "cine")
    headers = {**PRIVATE_CACHE, "Content-Length": str(size)}
    return StreamingResponse(store.iter_chunks(key), media_type=CINE_MEDIA_TYPE, headers=headers)


def retrieve_rendered(ctx: Context) -> Response:
    """A consumer image of the instance's first frame. The default view comes from the worker's preview.
    Asked for video/mp4, a multi-frame instance's cine instead."""
    if CINE_MEDIA_TYPE in ctx.request.headers.get("accept", ""):
        return retrieve_cine(ctx)
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
    series = _audited_series(ctx, "dicom_retrieve", what="thumbnail")
    if series.thumbnail_at is None:
        raise ApiError(404, "not_ready", "the thumbnail has not been rendered yet")
    store: ObjectStore = ctx.request.app.state.store
    data = store.read_bytes(thumbnail_key(series.study.study_uid, series.series_uid))
    return Response(data, media_type=PREVIEW_MEDIA_TYPE, headers=PRIVATE_CACHE)


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
    _read("/dicomweb/studies", search_studies),
    _read(STUDY, retrieve_study),
    _read(STUDY + "/metadata", study_metadata),
    _read(STUDY + "/instances", search_instances),
    _read(STUDY + "/series", search_series),
    _read(SERIES, retrieve_series),
    _read(SERIES + "/instances", search_instances),
    _read(SERIES + "/metadata", series_metadata),
    _read(SERIES + "/thumbnail", series_thumbnail),
    _read(INSTANCE, retrieve_instance),
    _read(INSTANCE + "/frames/{frames}", retrieve_frames),
    _read(INSTANCE + "/rendered", retrieve_rendered),
    _read(INSTANCE + "/cine.mp4", retrieve_cine),
]
