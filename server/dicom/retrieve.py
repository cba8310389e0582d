"""WADO-RS: metadata from the index, original files, frames, rendered images, cine and thumbnails.

Every read reaches only the studies `server.dicom.reach` allows and is audited. The answers here are
what to send (object keys to stream, bytes, DICOM JSON); framing them for a transport is the door's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom import Dataset
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from imaging.dicom import RenderError, encode_jpeg, encode_png, frame_pixels, parse_instance, render_frame
from server.access.actor import Actor
from server.cases.models import StoredFile
from server.core.errors import Invalid, NotFound, Unprocessable
from server.dicom.models import DicomInstance, DicomSeries
from server.dicom.previews import PREVIEW_MEDIA_TYPE, PREVIEW_SIZES, cine_key, preview_key, thumbnail_key
from server.dicom.reach import (
    audit_instance,
    audited_series,
    audited_study,
    reached_instance,
    require_originals,
)
from server.storage import ObjectNotFound, ObjectStore

MAX_VIEWPORT = 8192


@dataclass(frozen=True)
class StoredObject:
    """An original file to send unchanged: where it is stored and its SHA-256."""

    key: str
    sha256: str


@dataclass(frozen=True)
class Frames:
    """Frames of one instance as native little-endian pixel data, in the order asked."""

    instance_id: int
    pixels: list[bytes]


@dataclass(frozen=True)
class Picture:
    data: bytes
    media_type: str


@dataclass(frozen=True)
class Cine:
    """A rendered cine video: where it is stored and its size in bytes."""

    key: str
    size: int


@dataclass(frozen=True)
class Rendering:
    """How a rendered image is asked for: `window` ("center,width") and `viewport` ("width,height")
    as sent, and whether PNG rather than JPEG."""

    window: str | None = None
    viewport: str | None = None
    png: bool = False


def _in_order(query: Select[Any]) -> Select[Any]:
    """Instances as a viewer lists them: series by number, then instances by number."""
    return query.order_by(DicomSeries.number, DicomSeries.id, DicomInstance.instance_number, DicomInstance.id)


# ---- metadata --------------------------------------------------------------------------------------


def study_metadata(db: Session, actor: Actor, study_uid: str) -> list[dict[str, Any]]:
    """Every instance's metadata of the study, from the index: a large study is never reparsed."""
    study = audited_study(db, actor, "dicom_retrieve", study_uid, what="metadata")
    query = select(DicomInstance.dicom_json).join(DicomSeries).where(DicomSeries.study_id == study.id)
    return list(db.scalars(_in_order(query)))


def series_metadata(db: Session, actor: Actor, study_uid: str, series_uid: str) -> list[dict[str, Any]]:
    """All instances' metadata of the series, from the index."""
    series = audited_series(db, actor, "dicom_retrieve", study_uid, series_uid, what="metadata")
    return [instance.dicom_json for instance in series.instances]


# ---- original files --------------------------------------------------------------------------------


def _stored_keys(db: Session, condition: ColumnElement[bool]) -> list[str]:
    return list(
        db.scalars(
            _in_order(
                select(StoredFile.object_key)
                .join(DicomInstance, DicomInstance.stored_file_id == StoredFile.id)
                .join(DicomSeries, DicomInstance.series_id == DicomSeries.id)
                .where(condition)
            )
        )
    )


def retrieve_study(db: Session, actor: Actor, study_uid: str) -> list[str]:
    """The object keys of every original file of the study, in viewing order."""
    require_originals(db, actor)
    study = audited_study(db, actor, "dicom_retrieve", study_uid, what="study")
    return _stored_keys(db, DicomSeries.study_id == study.id)


def retrieve_series(db: Session, actor: Actor, study_uid: str, series_uid: str) -> list[str]:
    """The object keys of every original file of the series, in viewing order."""
    require_originals(db, actor)
    series = audited_series(db, actor, "dicom_retrieve", study_uid, series_uid, what="series")
    return _stored_keys(db, DicomSeries.id == series.id)


def retrieve_instance(
    db: Session, actor: Actor, study_uid: str, series_uid: str, sop_uid: str
) -> StoredObject:
    """The original file of one instance."""
    require_originals(db, actor)
    study, instance = reached_instance(db, actor, study_uid, series_uid, sop_uid)
    audit_instance(db, actor, study, instance, "instance")
    return StoredObject(instance.stored_file.object_key, instance.stored_file.sha256)


# ---- pixels ----------------------------------------------------------------------------------------


def _dataset(store: ObjectStore, instance: DicomInstance) -> Dataset:
    return parse_instance(store.read_bytes(instance.stored_file.object_key)).dataset


def _frame_numbers(frames: str, instance: DicomInstance) -> list[int]:
    try:
        numbers = [int(part) for part in frames.split(",")]
    except ValueError:
        raise Invalid("invalid_frames", "frames must be a comma-separated list of numbers from 1") from None
    if not numbers or any(not 1 <= n <= instance.frames for n in numbers):
        raise NotFound("not_found", f"frame out of range: the instance has {instance.frames} frame(s)")
    return numbers


def retrieve_frames(
    db: Session, actor: Actor, store: ObjectStore, study_uid: str, series_uid: str, sop_uid: str, frames: str
) -> Frames:
    """Frames ("1,3", numbered from 1) as native little-endian pixels, uncompressed data exactly as
    stored (4:2:2 subsampled, 1-bit packed), as the instance's metadata describes."""
    study, instance = reached_instance(db, actor, study_uid, series_uid, sop_uid)
    numbers = _frame_numbers(frames, instance)
    ds = _dataset(store, instance)
    audit_instance(db, actor, study, instance, "frames")
    return Frames(instance.id, [frame_pixels(ds, n - 1) for n in numbers])


def _window(raw: str | None) -> tuple[float, float] | None:
    if not raw:
        return None
    try:
        center, width = (float(v) for v in raw.split(",")[:2])
    except ValueError:
        raise Invalid("invalid_query", "window must be center,width") from None
    if width <= 0:
        raise Invalid("invalid_query", "window width must be positive")
    return center, width


def _viewport(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        size = max(int(v) for v in raw.split(",")[:2])
    except ValueError:
        raise Invalid("invalid_query", "viewport must be width,height") from None
    if not 1 <= size <= MAX_VIEWPORT:
        raise Invalid("invalid_query", f"viewport must be between 1 and {MAX_VIEWPORT} pixels")
    return size


def retrieve_rendered(
    db: Session,
    actor: Actor,
    store: ObjectStore,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    rendering: Rendering,
) -> Picture:
    """A consumer image of the instance's first frame; the default view is the worker's preview."""
    study, instance = reached_instance(db, actor, study_uid, series_uid, sop_uid)
    window, size = _window(rendering.window), _viewport(rendering.viewport)
    audit_instance(db, actor, study, instance, "rendered")
    if (
        instance.previews_at
        and window is None
        and not rendering.png
        and (size is None or size in PREVIEW_SIZES)
    ):
        key = preview_key(
            study.study_uid, instance.series.series_uid, instance.sop_uid, 0, size or PREVIEW_SIZES[-1]
        )
        return Picture(store.read_bytes(key), PREVIEW_MEDIA_TYPE)
    try:
        image = render_frame(_dataset(store, instance), 0, window=window, size=size)
    except RenderError as exc:
        raise Unprocessable("not_renderable", str(exc)) from None
    if rendering.png:
        return Picture(encode_png(image), "image/png")
    return Picture(encode_jpeg(image), PREVIEW_MEDIA_TYPE)


def retrieve_cine(
    db: Session, actor: Actor, store: ObjectStore, study_uid: str, series_uid: str, sop_uid: str
) -> Cine:
    """A multi-frame instance's cine video (MP4, H.264), once the worker has rendered it."""
    study, instance = reached_instance(db, actor, study_uid, series_uid, sop_uid)
    if instance.frames < 2:
        raise NotFound("not_multiframe", "the instance has a single frame: there is no cine to play")
    key = cine_key(study.study_uid, instance.series.series_uid, instance.sop_uid)
    try:
        size = store.stat(key).size
    except ObjectNotFound:
        raise NotFound("not_ready", "the cine has not been rendered yet; try again in a moment") from None
    audit_instance(db, actor, study, instance, "cine")
    return Cine(key, size)


def series_thumbnail(
    db: Session, actor: Actor, store: ObjectStore, study_uid: str, series_uid: str
) -> Picture:
    """The series' thumbnail (JPEG), once the worker has rendered it."""
    series = audited_series(db, actor, "dicom_retrieve", study_uid, series_uid, what="thumbnail")
    if series.thumbnail_at is None:
        raise NotFound("not_ready", "the thumbnail has not been rendered yet")
    return Picture(
        store.read_bytes(thumbnail_key(series.study.study_uid, series.series_uid)), PREVIEW_MEDIA_TYPE
    )
