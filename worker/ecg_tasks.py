"""ECG background work: automated measurements and the rendered page (PNG preview, PDF for the report)."""

from __future__ import annotations

import io

from celery import shared_task

from imaging.ecg import InvalidEcg, from_bytes
from imaging.ecg.measure import measure
from imaging.ecg.render import MEDIA_TYPES, render_page
from server.core.orm import utcnow
from server.ecg.ingest import PROCESS_TASK, page_key
from server.ecg.models import EcgRecord
from server.ecg.service import PageFormat
from worker import resources
from worker.base import RecordedTask

PAGE_FORMATS: tuple[PageFormat, ...] = ("png", "pdf")  # what render_page draws; MEDIA_TYPES names each


@shared_task(base=RecordedTask, bind=True, name=PROCESS_TASK)
def process_ecg_record(self: RecordedTask, record_id: int) -> dict[str, object]:
    """Measure the normalised record and render its page. Keys derive from the record: a rerun overwrites
    the same objects with the same content."""
    with resources.session_factory()() as db, db.begin():
        row = db.get(EcgRecord, record_id)
        if row is None:
            return {"record_id": record_id, "status": "unknown_record"}
        store = resources.store()
        try:
            record = from_bytes(store.read_bytes(row.record_key))
            automated = measure(record)
            for fmt in PAGE_FORMATS:
                page = render_page(record, automated, fmt)
                store.put(
                    page_key(row, fmt), io.BytesIO(page), length=len(page), content_type=MEDIA_TYPES[fmt]
                )
        except (InvalidEcg, ValueError) as exc:
            row.render_state, row.render_error = "failed", str(exc)[:1000]
            return {"record_id": record_id, "status": "failed"}
        row.automated_measurements = automated
        row.render_state, row.render_error, row.rendered_at = "ready", None, utcnow()
        return {"record_id": record_id, "status": "ok"}
