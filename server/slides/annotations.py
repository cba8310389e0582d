"""Annotations on a slide (point, line with its length, polygon with its area), saved to the case.

Points are base-level pixel coordinates; lengths and areas are computed from the slide's microns per
pixel each time they are read, so a corrected calibration corrects every measurement. Saving replaces
the author's own annotations on the slide, as the DICOM viewer's annotations do. Whoever may see the
slide's case may read and draw them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.cases.service import visible_material
from server.core.errors import Invalid, TooLarge
from server.slides.models import Slide, SlideAnnotation

MAX_ANNOTATIONS = 500
MAX_POLYGON_POINTS = 500
POINTS_OF_TOOL = {"point": (1, 1), "line": (2, 2), "polygon": (3, MAX_POLYGON_POINTS)}
MAX_LABEL = 200


@dataclass(frozen=True)
class Measurement:
    """Length (line: µm; polygon: its perimeter) and area (polygon: µm²); None without a calibration."""

    length_um: float | None
    area_um2: float | None


@dataclass(frozen=True)
class Annotations:
    """A slide's annotations, in the order they were saved."""

    slide: Slide
    items: list[SlideAnnotation]


def measurement(tool: str, points: list[dict[str, float]], slide: Slide) -> Measurement:
    """Length (line, µm) or area and perimeter (polygon, µm² / µm); None where the slide has no µm/px."""
    if slide.mpp_x is None or slide.mpp_y is None or tool == "point":
        return Measurement(None, None)
    xy = [(p["x"] * slide.mpp_x, p["y"] * slide.mpp_y) for p in points]
    if tool == "line":
        return Measurement(math.dist(*xy), None)
    ring = [*xy, xy[0]]
    shoelace = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))
    perimeter = sum(math.dist(a, b) for a, b in itertools.pairwise(ring))
    return Measurement(perimeter, abs(shoelace) / 2)


def _refuse(index: int, why: str) -> Invalid:
    return Invalid("invalid_annotation", f"annotation {index}: {why}")


def _coordinate(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _points(item: dict[str, object], slide: Slide, index: int) -> tuple[str, list[dict[str, float]]]:
    """The tool and the points of one drawn annotation, checked against the tool and the slide's size."""
    tool = item.get("tool")
    if not isinstance(tool, str) or tool not in POINTS_OF_TOOL:
        raise _refuse(index, "tool must be point, line or polygon")
    raw = item.get("points")
    fewest, most = POINTS_OF_TOOL[tool]
    if not isinstance(raw, list) or not fewest <= len(raw) <= most:
        raise _refuse(index, f"a {tool} has {fewest}–{most} points")
    points = []
    for point in raw:
        x, y = (
            (_coordinate(point.get("x")), _coordinate(point.get("y")))
            if isinstance(point, dict)
            else (None, None)
        )
        if x is None or y is None:
            raise _refuse(index, "points need finite x and y")
        if not (0 <= x <= slide.width and 0 <= y <= slide.height):
            raise _refuse(index, "a point lies outside the slide")
        points.append({"x": x, "y": y})
    return tool, points


def _drawn(items: Sequence[object], slide: Slide, author_id: int) -> list[SlideAnnotation]:
    """Rows for the annotations as the client drew them (JSON values), each checked; the first fault
    is refused with its position (`annotation 2: ...`)."""
    if len(items) > MAX_ANNOTATIONS:
        raise TooLarge("too_many_annotations", f"at most {MAX_ANNOTATIONS} annotations per slide and reader")
    rows = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise Invalid("invalid_annotation", f"annotation {index} must be an object")
        label = item.get("label") or ""
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            raise _refuse(index, f"label is text of at most {MAX_LABEL}")
        tool, points = _points(item, slide, index)
        rows.append(
            SlideAnnotation(slide_id=slide.id, author_id=author_id, tool=tool, points=points, label=label)
        )
    return rows


def _annotations(db: Session, slide: Slide) -> list[SlideAnnotation]:
    return list(
        db.scalars(
            select(SlideAnnotation).where(SlideAnnotation.slide_id == slide.id).order_by(SlideAnnotation.id)
        )
    )


def list_annotations(db: Session, actor: Actor, slide_id: int) -> Annotations:
    """Every annotation on a slide the actor may see."""
    slide = visible_material(db, actor, Slide, slide_id, "slide")
    rows = _annotations(db, slide)
    actor.audit(
        db,
        "slide_annotations_read",
        resource_type="slide",
        resource_id=slide.id,
        patient_id=slide.case.patient_id,
    )
    return Annotations(slide, rows)


def save_annotations(db: Session, actor: Actor, slide_id: int, items: Sequence[object]) -> Annotations:
    """Replace the actor's own annotations on a slide they may see with `items` (as drawn: JSON objects
    with `tool`, `points` of `{x, y}` and an optional `label`); nothing is replaced if one is refused."""
    slide = visible_material(db, actor, Slide, slide_id, "slide")
    author = actor.person
    rows = _drawn(items, slide, author.id)
    db.execute(
        delete(SlideAnnotation).where(
            SlideAnnotation.slide_id == slide.id, SlideAnnotation.author_id == author.id
        )
    )
    db.add_all(rows)
    db.flush()
    actor.audit(
        db,
        "slide_annotations_save",
        resource_type="slide",
        resource_id=slide.id,
        patient_id=slide.case.patient_id,
        detail={"count": len(rows)},
    )
    return Annotations(slide, _annotations(db, slide))
