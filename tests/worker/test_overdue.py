"""Urgent cases past their target time: flagged, their centre alerted once, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from server.cases.models import CaseEvent, Notification
from server.cases.overdue import flag_overdue
from server.core.clock import FixedClock
from server.core.config import Settings
from server.core.db import transaction
from tests.support.people import Person
from tests.support.services import process_env, running, telemed_command
from tests.support.task_runs import wait_for_run
from worker.app import make_celery


@pytest.fixture
def clock(app: Starlette, monkeypatch: pytest.MonkeyPatch):
    """The app's clock, standing still at the current time until the test moves it."""
    fixed = FixedClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(app.state, "clock", fixed, raising=False)
    return fixed


def alerts(session_factory: sessionmaker[Session], case_id: int) -> list[tuple[int | None, int | None]]:
    with session_factory() as db:
        rows = db.execute(
            select(Notification.recipient_centre_id, Notification.recipient_user_id).where(
                Notification.case_id == case_id, Notification.kind == "overdue"
            )
        ).all()
    return [(row[0], row[1]) for row in rows]


def overdue_events(session_factory: sessionmaker[Session], case_id: int) -> int:
    with session_factory() as db:
        found = db.scalar(
            select(func.count()).where(CaseEvent.case_id == case_id, CaseEvent.action == "overdue")
        )
        assert found is not None
        return found


def test_an_urgent_case_past_its_target_is_flagged_and_its_centre_alerted_once(
    person: Callable[[str], Person], clock, session_factory: sessionmaker[Session]
) -> None:
    village, ecg = person("village"), person("ecgreader")
    urgent = village.new_case("ecg", "urgent")
    routine = village.new_case("ecg", "routine")
    submitted_at = clock.now()
    for case_id in (urgent, routine):
        village.act(case_id, "submit")
    case = ecg.get(f"/api/cases/{urgent}").json()
    assert datetime.fromisoformat(case["target_at"]) == submitted_at + timedelta(hours=2)

    clock.advance(hours=1, minutes=59)
    assert ecg.get(f"/api/cases/{urgent}").json()["overdue"] is False
    assert alerts(session_factory, urgent) == []

    clock.advance(minutes=2)  # 2 h 1 min after submission
    listed = {c["id"]: c for c in ecg.get("/api/worklist", overdue="true").json()["items"]}
    assert urgent in listed and routine not in listed  # only urgent cases are flagged
    flagged_at = datetime.fromisoformat(listed[urgent]["overdue_at"])
    assert flagged_at == clock.now()
    centre_id = listed[urgent]["centre"]["id"]
    assert alerts(session_factory, urgent) == [(centre_id, None)]
    alert = [n for n in ecg.get("/api/notifications").json()["items"] if n["case"]["id"] == urgent]
    assert [(n["kind"], n["for_centre"]) for n in alert] == [("overdue", True)]

    # Every later read, and every sweep, finds it flagged already: no second alert, no second event.
    clock.advance(hours=1)
    for _ in range(3):
        ecg.get("/api/worklist")
        village.get(f"/api/cases/{urgent}")
    with transaction(session_factory) as db:
        assert urgent not in flag_overdue(db, clock.now())
    assert alerts(session_factory, urgent) == [(centre_id, None)]
    assert overdue_events(session_factory, urgent) == 1
    assert ecg.get(f"/api/cases/{urgent}").json()["overdue_at"] == listed[urgent]["overdue_at"]

    # A case answered in time never becomes overdue.
    on_time = village.new_case("ecg", "urgent")
    village.act(on_time, "submit")
    ecg.act(on_time, "claim")
    ecg.act(on_time, "start_review")
    ecg.put(
        f"/api/cases/{on_time}/report",
        {"content": {"rhythm": "窦性心律", "heart_rate": 70, "interpretation": "正常心电图"}},
    )
    ecg.act(on_time, "sign")
    clock.advance(hours=3)
    assert ecg.get(f"/api/cases/{on_time}").json()["overdue"] is False


def test_resubmission_restarts_the_clock(
    person: Callable[[str], Person], clock, session_factory: sessionmaker[Session]
) -> None:
    village, ecg = person("village"), person("ecgreader")
    case_id = village.new_case("ecg", "urgent")
    village.act(case_id, "submit")
    ecg.act(case_id, "claim")
    ecg.act(case_id, "return", note="请补充病史")
    clock.advance(hours=5)  # the requester took their time; a returned case waits on them, not the centre
    assert ecg.get(f"/api/cases/{case_id}").json()["overdue"] is False
    village.act(case_id, "resubmit", note="已补充")
    resubmitted = ecg.get(f"/api/cases/{case_id}").json()
    assert datetime.fromisoformat(resubmitted["target_at"]) == clock.now() + timedelta(hours=2)
    assert alerts(session_factory, case_id) == []
    clock.advance(hours=2, seconds=1)
    assert ecg.get(f"/api/cases/{case_id}").json()["overdue"] is True
    # Addressed back to the reader who returned it, still at the ECG centre: the centre is alerted.
    assert alerts(session_factory, case_id) == [(resubmitted["centre"]["id"], None)]


@pytest.fixture(scope="module")
def worker_log(settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("overdue-worker") / "worker.log"
    with running(telemed_command("worker", "--concurrency", "1"), process_env(settings), log=log):
        yield log


def test_the_worker_sweep_flags_once_however_often_it_runs(
    person: Callable[[str], Person],
    clock,
    session_factory: sessionmaker[Session],
    settings: Settings,
    worker_log,
) -> None:
    village = person("village")
    clock.advance(hours=-3)  # submitted three hours ago by the app's clock: due an hour ago by the worker's
    case_id = village.new_case("ecg", "urgent")
    village.act(case_id, "submit")

    celery = make_celery(settings)
    first = wait_for_run(session_factory, celery.send_task("workflow.flag_overdue").id, worker_log)
    second = wait_for_run(session_factory, celery.send_task("workflow.flag_overdue").id, worker_log)
    assert first.state == "succeeded" and case_id in first.result["flagged"]
    assert second.state == "succeeded" and case_id not in second.result["flagged"]
    assert len(alerts(session_factory, case_id)) == 1
    assert overdue_events(session_factory, case_id) == 1
