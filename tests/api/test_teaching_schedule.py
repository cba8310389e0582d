"""The teaching timetable members see (教学安排): what is on now and in the next two weeks, soonest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.core.db import transaction
from server.core.orm import utcnow
from server.teaching.models import TeachingSession
from tests.support.consult import bearer, new_teaching_session


def _at(session_factory: Any, title: str, offset: timedelta) -> int:
    session_id = new_teaching_session(session_factory, title)
    with transaction(session_factory) as db:
        db.get_one(TeachingSession, session_id).scheduled_at = utcnow() + offset
    return session_id


def test_members_see_what_is_on_now_and_soon(
    client: TestClient, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    soon = _at(session_factory, "明日教学查房：胸痛心电图", timedelta(days=1))
    now = _at(session_factory, "正在进行：肺结节读片", timedelta(hours=-1))
    past = _at(session_factory, "上周的查房", timedelta(days=-2))
    later = _at(session_factory, "下月讲座", timedelta(days=30))
    for username in ("trainee", "village", "radiologist", "admin"):
        response = client.get("/api/teaching/schedule", headers=bearer(app, username))
        assert response.status_code == 200, (username, response.text)
        sessions = response.json()["sessions"]
        ids = [s["id"] for s in sessions]
        assert now in ids and soon in ids and past not in ids and later not in ids
        assert ids.index(now) < ids.index(soon)  # soonest first
        shown = next(s for s in sessions if s["id"] == soon)
        assert (shown["title"], shown["host"]["display_name"], shown["in_library"]) == (
            "明日教学查房：胸痛心电图",
            "陈影像",
            False,
        )
    assert client.get("/api/teaching/schedule", headers=bearer(app, "auditor")).status_code == 403
    assert client.get("/api/teaching/schedule").status_code == 401
