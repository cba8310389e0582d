"""Background tasks. Each is idempotent: running it twice leaves the same state as running it once."""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task
from PIL import Image
from pydicom import Dataset

from imaging.dicom import InvalidDicom, RenderError, encode_jpeg, frame_count, parse_instance, render_frame
from imaging.dicom.cine import CINE_MEDIA_TYPE, write_cine
from server.cases.models import StoredFile
from server.core.orm import utcnow
from server.dicom.models import DicomInstance, DicomSeries
from server.dicom.previews import (
    PREVIEW_MEDIA_TYPE,
    PREVIEW_SIZES,
    THUMBNAIL_SIZE,
    cine_key,
    preview_key,
    thumbnail_key,
)
from server.storage import ObjectNotFound
from server.uploads.service import expire_stale
from worker import resources
from worker.base import RecordedTask


@shared_task(base=RecordedTask, bind=True, name="storage.verify_stored_file")
def verify_stored_file(self: RecordedTask, file_id: int) -> dict[str, object]:
    """Re-read a stored object and compare its size and SHA-256 with what was recorded at upload."""
    with resources.session_factory()() as db, db.begin():
        stored = db.get(StoredFile, file_id)
        if stored is None:
            return {"file_id": file_id, "status": "unknown_file"}
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in resources.store().iter_chunks(stored.object_key):
                digest.update(chunk)
                size += len(chunk)
        except ObjectNotFound:
            stored.integrity_error = "object missing from the store"
        else:
            if size != stored.size or digest.hexdigest() != stored.sha256:
                stored.integrity_error = f"stored object differs: size {size} (expected {stored.size}), sha256 {digest.hexdigest()}"
            else:
                stored.integrity_error = None
        stored.verified_at = utcnow()
        status = "ok" if stored.integrity_error is None else "corrupt"
        return {"file_id": file_id, "status": status}


@dataclass(frozen=True)
class InstanceSource:
    """What rendering an instance needs, read in a short transaction so none is held while pixels are
    computed (on SQLite a held transaction would block every API write for the whole render)."""

    instance_id: int
    study_uid: str
    series_uid: str
    sop_uid: str
    object_key: str

    def dataset(self) -> Dataset:
        return parse_instance(resources.store().read_bytes(self.object_key)).dataset


def _source(instance: DicomInstance) -> InstanceSource:
    series = instance.series
    return InstanceSource(
        instance.id,
        series.study.study_uid,
        series.series_uid,
        instance.sop_uid,
        instance.stored_file.object_key,
    )


def _load_instance(instance_id: int) -> InstanceSource | None:
    with resources.session_factory()() as db:
        instance = db.get(DicomInstance, instance_id)
        return _source(instance) if instance is not None else None


def _put_jpeg(key: str, image: Image.Image) -> None:
    data = encode_jpeg(image)
    resources.store().put(key, io.BytesIO(data), length=len(data), content_type=PREVIEW_MEDIA_TYPE)


def _record_previews(instance_id: int, error: str | None) -> None:
    with resources.session_factory()() as db, db.begin():
        instance = db.get(DicomInstance, instance_id)
        if instance is None:
            return
        if error is None:
            instance.previews_at = utcnow()
        instance.preview_error = error


@shared_task(base=RecordedTask, bind=True, name="imaging.render_instance_previews")
def render_instance_previews(self: RecordedTask, instance_id: int) -> dict[str, object]:
    """Previews of every frame at each preview size. Keys derive from UIDs: a rerun overwrites the same objects."""
    return _render_previews(instance_id)


@shared_task(base=RecordedTask, bind=True, name="imaging.render_previews")
def render_previews(self: RecordedTask, instance_ids: list[int]) -> dict[str, object]:
    """The previews of a few instances ingested together (one message instead of one each)."""
    return {"instances": [_render_previews(instance_id) for instance_id in instance_ids]}


def _render_previews(instance_id: int) -> dict[str, object]:
    source = _load_instance(instance_id)
    if source is None:
        return {"instance_id": instance_id, "status": "unknown_instance"}
    try:
        ds = source.dataset()
        frames = frame_count(ds)
        for frame in range(frames):
            full = render_frame(ds, frame)
            for size in PREVIEW_SIZES:
                image = full.copy()
                image.thumbnail((size, size), Image.Resampling.LANCZOS)
                _put_jpeg(
                    preview_key(source.study_uid, source.series_uid, source.sop_uid, frame, size), image
                )
    except (InvalidDicom, RenderError) as exc:
        _record_previews(instance_id, str(exc)[:1000])
        return {"instance_id": instance_id, "status": "not_renderable"}
    _record_previews(instance_id, None)
    if frames > 1:
        render_instance_cine.delay(instance_id)
    return {"instance_id": instance_id, "status": "ok", "frames": frames}


@shared_task(base=RecordedTask, bind=True, name="imaging.render_instance_cine")
def render_instance_cine(self: RecordedTask, instance_id: int) -> dict[str, object]:
    """A multi-frame instance as MP4. Encoded to a local file first and stored under its final key only
    when complete, so a worker dying midway leaves no half video; a finished one is not made again."""
    source = _load_instance(instance_id)
    if source is None:
        return {"instance_id": instance_id, "status": "unknown_instance"}
    key = cine_key(source.study_uid, source.series_uid, source.sop_uid)
    if resources.store().exists(key):
        return {"instance_id": instance_id, "status": "exists"}
    with tempfile.TemporaryDirectory(prefix="telemed-cine-") as folder:
        path = Path(folder) / "cine.mp4"
        try:
            ds = source.dataset()
            if frame_count(ds) < 2:
                return {"instance_id": instance_id, "status": "single_frame"}
            frames = write_cine(ds, path)
        except (InvalidDicom, RenderError) as exc:
            return {"instance_id": instance_id, "status": "not_renderable", "error": str(exc)[:200]}
        with path.open("rb") as video:
            resources.store().put(key, video, length=path.stat().st_size, content_type=CINE_MEDIA_TYPE)
    return {"instance_id": instance_id, "status": "ok", "frames": frames}


@shared_task(base=RecordedTask, bind=True, name="imaging.render_series_thumbnail")
def render_series_thumbnail(self: RecordedTask, series_id: int) -> dict[str, object]:
    """The series' thumbnail, from its middle instance (stable for a complete series, so reruns agree)."""
    with resources.session_factory()() as db:
        series = db.get(DicomSeries, series_id)
        if series is None or not series.instances:
            return {"series_id": series_id, "status": "unknown_series"}
        middle = _source(series.instances[len(series.instances) // 2])
    try:
        ds = middle.dataset()
        image = render_frame(ds, frame_count(ds) // 2, size=THUMBNAIL_SIZE)
    except (InvalidDicom, RenderError) as exc:
        return {"series_id": series_id, "status": "not_renderable", "error": str(exc)[:200]}
    _put_jpeg(thumbnail_key(middle.study_uid, middle.series_uid), image)
    with resources.session_factory()() as db, db.begin():
        series = db.get(DicomSeries, series_id)
        if series is not None:
            series.thumbnail_at = utcnow()
    return {"series_id": series_id, "status": "ok", "from": middle.sop_uid}


@shared_task(base=RecordedTask, bind=True, name="uploads.expire_stale")
def expire_stale_uploads(self: RecordedTask) -> dict[str, object]:
    """Expire resumable uploads left unfinished past their time (24 h) and delete their chunks.

    Scheduled hourly by Celery beat (`celery -A worker.app beat`, one per deployment); a run that
    finds nothing does nothing, and one interrupted midway is finished by the next.
    """
    with resources.session_factory()() as db, db.begin():
        expired = expire_stale(db, resources.store())
    return {"expired": len(expired), "uploads": expired}
