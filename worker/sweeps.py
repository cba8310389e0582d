"""Sweeps: find work whose task was lost and queue it again.

Ingest sends its preview tasks after the transaction commits. If the broker is unreachable at that
moment the send fails (logged, the upload still succeeds) and nothing else would ever render those
previews. Celery beat runs this sweep every few minutes; it sends the tasks again for instances and
series still without previews after a grace period. Rendering is idempotent, so a task that was only
slow and now runs twice costs time, never correctness.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.core.orm import utcnow
from server.dicom.models import DicomInstance, DicomSeries
from worker import resources
from worker.base import RecordedTask

GRACE_SECONDS = 600  # longer than a busy queue takes to render a fresh upload
MAX_PER_SWEEP = 2000  # a backlog is worked off over several sweeps rather than flooding the queue


def missing_previews(
    db: Session, cutoff: datetime, limit: int = MAX_PER_SWEEP
) -> tuple[list[int], list[int]]:
    """Instances without previews and series without a thumbnail, ingested before `cutoff`.

    Instances whose rendering failed for good (`preview_error`) are left out: sending them again
    would fail again, and so are series all of whose instances failed (SR, waveforms: no image to
    show).
    """
    instance_ids = db.scalars(
        select(DicomInstance.id)
        .where(
            DicomInstance.previews_at.is_(None),
            DicomInstance.preview_error.is_(None),
            DicomInstance.created_at <= cutoff,
        )
        .order_by(DicomInstance.id)
        .limit(limit)
    ).all()
    renderable_before_cutoff = (
        (DicomInstance.series_id == DicomSeries.id)
        & DicomInstance.preview_error.is_(None)
        & (DicomInstance.created_at <= cutoff)
    )
    series_ids = db.scalars(
        select(DicomSeries.id)
        .where(DicomSeries.thumbnail_at.is_(None), exists().where(renderable_before_cutoff))
        .order_by(DicomSeries.id)
        .limit(limit)
    ).all()
    return list(instance_ids), list(series_ids)


@shared_task(base=RecordedTask, bind=True, name="imaging.requeue_missing_previews")
def requeue_missing_previews(self: RecordedTask, grace_seconds: int = GRACE_SECONDS) -> dict[str, object]:
    """Queue the preview and thumbnail tasks of what still lacks them after the grace period."""
    with resources.session_factory()() as db:
        instance_ids, series_ids = missing_previews(db, utcnow() - timedelta(seconds=grace_seconds))
    for instance_id in instance_ids:
        self.app.send_task("imaging.render_instance_previews", args=[instance_id])
    for series_id in series_ids:
        self.app.send_task("imaging.render_series_thumbnail", args=[series_id])
    return {"instances": len(instance_ids), "series": len(series_ids)}
