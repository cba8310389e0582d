"""The workflow's periodic work: flag urgent cases past their target time and alert their centre."""

from __future__ import annotations

from server.cases.overdue import flag_overdue
from server.core.clock import SYSTEM_CLOCK
from worker import resources
from worker.app import celery_app
from worker.base import RecordedTask

OVERDUE_SWEEP_SECONDS = 60.0


@celery_app.task(base=RecordedTask, bind=True, name="workflow.flag_overdue")
def flag_overdue_cases(self: RecordedTask) -> dict[str, object]:
    """Idempotent: a case is flagged, and its centre alerted, once however often this runs."""
    with resources.session_factory()() as db, db.begin():
        flagged = flag_overdue(db, SYSTEM_CLOCK.now())
    return {"flagged": flagged}


celery_app.add_periodic_task(OVERDUE_SWEEP_SECONDS, flag_overdue_cases.s(), name="workflow.flag_overdue")
