"""A case's imaging: the studies attached to it and the readers' annotations on them.

The rules are `server.dicom.case_images`'; these handlers parse, call it once and answer.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, ApiError, Context, api_route, body_field, model_response
from server.api.schemas.case_images import Annotation as AnnotationOut
from server.api.schemas.case_images import Annotations, AnnotationsInput, CaseStudies, CaseStudy
from server.dicom import case_images
from server.dicom.case_images import NewAnnotation

ANNOTATION_FIELDS = {"study_uid": str, "series_uid": str, "sop_uid": str, "tool": str}


def case_studies(ctx: Context) -> Response:
    studies = case_images.case_studies(ctx.db, ctx.actor, ctx.path["case_id"])
    items = [
        CaseStudy(
            study_uid=found.study.study_uid,
            description=found.study.description,
            study_date=found.study.study_date,
            modalities=found.modalities,
            series_count=found.series_count,
            instance_count=found.instance_count,
        )
        for found in studies
    ]
    return model_response(CaseStudies(items=items))


def list_annotations(ctx: Context) -> Response:
    study_uid = ctx.request.query_params.get("study_uid")
    annotations = case_images.list_annotations(ctx.db, ctx.actor, ctx.path["case_id"], study_uid)
    return model_response(Annotations(items=[AnnotationOut.of(a) for a in annotations]))


def _annotation(item: Any, index: int) -> NewAnnotation:
    """One item of the body, checked with a message that names it."""
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
    return NewAnnotation(
        study_uid=item["study_uid"],
        series_uid=item["series_uid"],
        sop_uid=item["sop_uid"],
        tool=item["tool"],
        frame=frame,
        data=item["data"],
    )


def save_annotations(ctx: Context) -> Response:
    """Replace the caller's annotations on the studies named in the request with the ones sent."""
    items = [_annotation(item, index) for index, item in enumerate(body_field(ctx, "items", list))]
    study_uids = body_field(ctx, "study_uids", list, required=False) or []
    saved = case_images.save_annotations(ctx.db, ctx.actor, ctx.path["case_id"], items, study_uids)
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
