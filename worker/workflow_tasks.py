"""The workflow's periodic work: flag urgent cases past their target time and alert their centre."""

from __future__ import annotations

from celery import shared_task

from server.cases.overdue import flag_overdue
from server.core.clock import SYSTEM_CLOCK
from worker import resources
from worker.base import RecordedTask


@shared_task(base=RecordedTask, bind=True, name="workflow.flag_overdue")
def flag_overdue_cases(self: RecordedTask) -> dict[str, object]:
    """Idempotent: a case is flagged, and its centre alerted, once however often this runs."""
    with resources.session_factory()() as db, db.begin():
        flagged = flag_overdue(db, SYSTEM_CLOCK.now())
    return {"flagged": flagged}
