"""A case's imaging: the studies attached to it and the readers' annotations on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.cases import visible_case
from server.api.routing import Access, ApiError, Context, api_route, body_field, model_response
from server.api.schemas.case_images import Annotation as AnnotationOut
from server.api.schemas.case_images import Annotations, AnnotationsInput, CaseStudies, CaseStudy
from server.dicom.models import Annotation, DicomInstance, DicomSeries, DicomStudy

MAX_ANNOTATIONS = 500
ANNOTATION_FIELDS = {"study_uid": str, "series_uid": str, "sop_uid": str, "tool": str}


def case_studies(ctx: Context) -> Response:
    case = visible_case(ctx)
    rows = ctx.db.execute(
        select(DicomStudy, func.count(func.distinct(DicomSeries.id)), func.count(DicomInstance.id))
        .join(DicomSeries, DicomSeries.study_id == DicomStudy.id)
        .join(DicomInstance, DicomInstance.series_id == DicomSeries.id)
        .where(DicomStudy.case_id == case.id)
        .group_by(DicomStudy.id)
        .order_by(DicomStudy.study_date.desc())
    ).all()
    items = []
    for study, series_count, instance_count in rows:
        modalities = sorted({s.modality for s in study.series if s.modality})
        items.append(
            CaseStudy(
                study_uid=study.study_uid,
                description=study.description,
                study_date=study.study_date,
                modalities=modalities,
                series_count=series_count,
                instance_count=instance_count,
            )
        )
    ctx.audit("case_studies_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return model_response(CaseStudies(items=items))


def list_annotations(ctx: Context) -> Response:
    case = visible_case(ctx)
    query = select(Annotation).where(Annotation.case_id == case.id).order_by(Annotation.id)
    if ctx.request.query_params.get("study_uid"):
        query = query.where(Annotation.study_uid == ctx.request.query_params["study_uid"])
    annotations = ctx.db.scalars(query).all()
    ctx.audit("annotations_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return model_response(Annotations(items=[AnnotationOut.of(a) for a in annotations]))


def _validated(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ApiError(400, "invalid_field", f"items[{index}] must be an object")
    for name, kind in ANNOTATION_FIELDS.items():
        if not isinstance(item.get(name), kind) or not item[name] or len(item[name]) > 64:
            raise ApiError(400, "invalid_field", f"items[{index}].{name} is required (text, ≤ 64 characters)")
    frame = item.get("frame", 1)
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 1:
        raise ApiError(400, "invalid_field", f"items[{index}].frame must be a number from 1")
    if not isinstance(item.get("data"), dict):
        raise ApiError(400, "invalid_field", f"items[{index}].data must be an object")
    return {**{name: item[name] for name in ANNOTATION_FIELDS}, "frame": frame, "data": item["data"]}


def save_annotations(ctx: Context) -> Response:
    """Replace the caller's annotations on the studies named in the request with the ones sent."""
    case = visible_case(ctx)
    items = body_field(ctx, "items", list)
    if len(items) > MAX_ANNOTATIONS:
        raise ApiError(413, "too_many", f"at most {MAX_ANNOTATIONS} annotations per save")
    validated = [_validated(item, index) for index, item in enumerate(items)]
    studies = {item["study_uid"] for item in validated} | set(
        body_field(ctx, "study_uids", list, required=False) or []
    )
    attached = set(ctx.db.scalars(select(DicomStudy.study_uid).where(DicomStudy.case_id == case.id)))
    if not studies <= attached:
        raise ApiError(400, "invalid_field", "annotations must refer to studies attached to this case")
    user = ctx.current_user
    ctx.db.execute(
        delete(Annotation).where(
            Annotation.case_id == case.id, Annotation.author_id == user.id, Annotation.study_uid.in_(studies)
        )
    )
    saved = [Annotation(case_id=case.id, author=user, **item) for item in validated]
    ctx.db.add_all(saved)
    ctx.db.flush()
    ctx.audit(
        "annotations_save",
        resource_type="case",
        resource_id=case.id,
        patient_id=case.patient_id,
        detail={"count": len(saved)},
    )
    return model_response(Annotations(items=[AnnotationOut.of(a) for a in saved]))


ANNOTATIONS = "/api/cases/{case_id:int}/annotations"
routes = [
    api_route(
        "/api/cases/{case_id:int}/studies",
        case_studies,
        access=Access.only(CLINICAL_ROLES),
        response=CaseStudies,
    ),
    api_route(ANNOTATIONS, list_annotations, access=Access.only(CLINICAL_ROLES), response=Annotations),
    # The body is checked item by item here, with messages that name the item (`AnnotationsInput`).
    api_route(
        ANNOTATIONS,
        save_annotations,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=AnnotationsInput,
        response=Annotations,
    ),
]
