"""Annotations on a slide (point, line with its length, polygon with its area), saved to the case.

Points are base-level pixel coordinates; lengths and areas are computed from the slide's microns per
pixel each time they are read, so a corrected calibration corrects every measurement. Saving replaces
the caller's own annotations on the slide, as the DICOM viewer's annotations do.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from sqlalchemy import delete, select
from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.cases import visible_material
from server.api.routing import Access, ApiError, Context, api_route, body_field, model_response
from server.api.schemas.slide_annotations import Author, SlideAnnotations, SlideAnnotationsInput
from server.api.schemas.slide_annotations import SlideAnnotation as SlideAnnotationOut
from server.slides.models import Slide, SlideAnnotation

MAX_ANNOTATIONS = 500
MAX_POLYGON_POINTS = 500
POINTS_OF_TOOL = {"point": (1, 1), "line": (2, 2), "polygon": (3, MAX_POLYGON_POINTS)}
MAX_LABEL = 200


def measurement(tool: str, points: list[dict[str, float]], slide: Slide) -> dict[str, float | None]:
    """Length (line, µm) or area and perimeter (polygon, µm² / µm); None where the slide has no µm/px."""
    if slide.mpp_x is None or slide.mpp_y is None or tool == "point":
        return {"length_um": None, "area_um2": None}
    xy = [(p["x"] * slide.mpp_x, p["y"] * slide.mpp_y) for p in points]
    if tool == "line":
        return {"length_um": math.dist(*xy), "area_um2": None}
    ring = [*xy, xy[0]]
    shoelace = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))
    perimeter = sum(math.dist(a, b) for a, b in itertools.pairwise(ring))
    return {"length_um": perimeter, "area_um2": abs(shoelace) / 2}


def _points(item: dict[str, Any], slide: Slide, index: int) -> list[dict[str, float]]:
    tool = item.get("tool")
    if tool not in POINTS_OF_TOOL:
        raise ApiError(400, "invalid_annotation", f"annotation {index}: tool must be point, line or polygon")
    raw = item.get("points")
    fewest, most = POINTS_OF_TOOL[tool]
    if not isinstance(raw, list) or not fewest <= len(raw) <= most:
        raise ApiError(400, "invalid_annotation", f"annotation {index}: a {tool} has {fewest}–{most} points")
    points = []
    for point in raw:
        x, y = (point.get("x"), point.get("y")) if isinstance(point, dict) else (None, None)
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)
        ):
            raise ApiError(400, "invalid_annotation", f"annotation {index}: points need finite x and y")
        if not (0 <= x <= slide.width and 0 <= y <= slide.height):  # type: ignore[operator]
            raise ApiError(400, "invalid_annotation", f"annotation {index}: a point lies outside the slide")
        points.append({"x": float(x), "y": float(y)})  # type: ignore[arg-type]
    return points


def annotation_of(row: SlideAnnotation, slide: Slide) -> SlideAnnotationOut:
    return SlideAnnotationOut(
        id=row.id,
        tool=row.tool,  # type: ignore[arg-type]  # one of POINTS_OF_TOOL, checked when saved
        points=row.points,  # type: ignore[arg-type]  # {x, y} objects, validated as `Point`
        label=row.label,
        author=Author(id=row.author.id, display_name=row.author.display_name),
        created_at=row.created_at,
        **measurement(row.tool, row.points, slide),
    )


def _annotations(ctx: Context, slide: Slide) -> list[SlideAnnotation]:
    return list(
        ctx.db.scalars(
            select(SlideAnnotation).where(SlideAnnotation.slide_id == slide.id).order_by(SlideAnnotation.id)
        )
    )


def list_annotations(ctx: Context) -> Response:
    slide = visible_material(ctx, Slide, "slide_id", "slide")
    rows = _annotations(ctx, slide)
    ctx.audit(
        "slide_annotations_read",
        resource_type="slide",
        resource_id=slide.id,
        patient_id=slide.case.patient_id,
    )
    return model_response(SlideAnnotations(items=[annotation_of(row, slide) for row in rows]))


def save_annotations(ctx: Context) -> Response:
    """Replace the caller's own annotations on the slide with `items`."""
    slide = visible_material(ctx, Slide, "slide_id", "slide")
    items = body_field(ctx, "items", list)
    if len(items) > MAX_ANNOTATIONS:
        raise ApiError(
            413, "too_many_annotations", f"at most {MAX_ANNOTATIONS} annotations per slide and reader"
        )
    rows = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ApiError(400, "invalid_annotation", f"annotation {index} must be an object")
        label = item.get("label") or ""
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            raise ApiError(
                400, "invalid_annotation", f"annotation {index}: label is text of at most {MAX_LABEL}"
            )
        points = _points(item, slide, index)  # checks the tool too
        rows.append(
            SlideAnnotation(
                slide_id=slide.id,
                author_id=ctx.current_user.id,
                tool=item["tool"],
                points=points,
                label=label,
            )
        )
    ctx.db.execute(
        delete(SlideAnnotation).where(
            SlideAnnotation.slide_id == slide.id, SlideAnnotation.author_id == ctx.current_user.id
        )
    )
    ctx.db.add_all(rows)
    ctx.db.flush()
    ctx.audit(
        "slide_annotations_save",
        resource_type="slide",
        resource_id=slide.id,
        patient_id=slide.case.patient_id,
        detail={"count": len(rows)},
    )
    saved = [annotation_of(row, slide) for row in _annotations(ctx, slide)]
    return model_response(SlideAnnotations(items=saved))


ANNOTATIONS = "/api/slides/{slide_id:int}/annotations"
routes = [
    api_route(ANNOTATIONS, list_annotations, access=Access.only(CLINICAL_ROLES), response=SlideAnnotations),
    # The body is checked here, against the slide's size, with messages naming the annotation.
    api_route(
        ANNOTATIONS,
        save_annotations,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=SlideAnnotationsInput,
        response=SlideAnnotations,
    ),
]
