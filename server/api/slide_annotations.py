"""Annotations on a slide (point, line with its length, polygon with its area), saved to the case.

The rules (who may read and draw, the geometry checked against the slide, lengths and areas from its
microns per pixel) are `server.slides.annotations`'; these handlers parse, call it once and answer.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route, body_field, model_response
from server.api.schemas.slide_annotations import Author, SlideAnnotations, SlideAnnotationsInput
from server.api.schemas.slide_annotations import SlideAnnotation as SlideAnnotationOut
from server.slides import annotations as service
from server.slides.models import Slide, SlideAnnotation


def annotation_of(row: SlideAnnotation, slide: Slide) -> SlideAnnotationOut:
    measured = service.measurement(row.tool, row.points, slide)
    return SlideAnnotationOut(
        id=row.id,
        tool=row.tool,  # type: ignore[arg-type]  # one of POINTS_OF_TOOL, checked when saved
        points=row.points,  # type: ignore[arg-type]  # {x, y} objects, validated as `Point`
        label=row.label,
        author=Author(id=row.author.id, display_name=row.author.display_name),
        created_at=row.created_at,
        length_um=measured.length_um,
        area_um2=measured.area_um2,
    )


def _answer(saved: service.Annotations) -> Response:
    return model_response(SlideAnnotations(items=[annotation_of(row, saved.slide) for row in saved.items]))


def list_annotations(ctx: Context) -> Response:
    return _answer(service.list_annotations(ctx.db, ctx.actor, ctx.path["slide_id"]))


def save_annotations(ctx: Context) -> Response:
    """Replace the caller's own annotations on the slide with `items`."""
    items = body_field(ctx, "items", list)
    return _answer(service.save_annotations(ctx.db, ctx.actor, ctx.path["slide_id"], items))


ANNOTATIONS = "/api/slides/{slide_id:int}/annotations"
routes = [
    api_route(ANNOTATIONS, list_annotations, access=Access.only(CLINICAL_ROLES), response=SlideAnnotations),
    # The body is checked by the service, against the slide's size, with messages naming the annotation.
    api_route(
        ANNOTATIONS,
        save_annotations,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=SlideAnnotationsInput,
        response=SlideAnnotations,
    ),
]
