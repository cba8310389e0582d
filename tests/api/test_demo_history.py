"""The demo's recent history (`telemed demo`, `telemed up`): what its people see, and that every step
was taken by the right one of them, through the service functions the API calls.

The history loads into a database of its own: the shared demo stays without it, as the other tests
count its rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.api.app import create_app
from server.billing.rules import month_of, parse_month
from server.core.clock import SYSTEM_CLOCK
from server.core.db import make_engine, make_session_factory, transaction
from server.core.migrate import upgrade
from server.storage import open_store
from server.tools.demo.community import load_demo
from tests.support.accounts import sign_in
from tests.support.services import TEST_QUEUE, postgres_database, redis_url
from tests.support.settings import make_settings

DEMO_LOADER = "telemed demo"
Loaded = tuple[Starlette, sessionmaker[Session]]  # the app on the demo with history, and its sessions

# Every action the demo loader audits with the history on, and the demo users who took it.
STEPS_BY = {
    "patient_create": {"village", "shiqiao", "township"},
    "case_create": {"village", "shiqiao", "township"},
    "case_submit": {"village", "shiqiao", "township"},
    "case_claim": {"radiologist", "ecgreader"},
    "case_assign": {"dispatcher"},
    "case_start_review": {"radiologist", "ecgreader"},
    "report_draft_save": {"radiologist", "ecgreader"},
    "case_sign": {"radiologist", "ecgreader"},
    "case_amend": {"radiologist"},
    "case_return": {"radiologist"},
    "case_resubmit": {"township"},
    "case_escalate": {"ecgreader"},
    "case_answer": {"expert"},
    "case_close": {"village", "shiqiao"},
    "case_cancel": {"village"},
    "notification_read": {"village", "shiqiao", "township"},
    "referral_slot_publish": {"referral"},
    "referral_create": {"village", "shiqiao", "township"},
    "referral_receive": {"referral", "village"},
    "referral_book": {"referral"},
    "referral_decline": {"referral"},
    "identity_check": {"referral", "internist"},
    "referral_arrive": {"referral"},
    "referral_note_create": {"internist"},
    "referral_treat": {"internist"},
    "referral_refer_down": {"internist"},
    "referral_close": {"village", "shiqiao"},
    "referral_cancel": {"village"},
    "follow_up_colour": {"village"},
    "referral_quota_set": {"referral"},
    "agreement_save": {"admin"},
    "statement_submit": {"village"},
    "statement_check": {"admin"},
    "statement_invoice": {"admin"},
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A fresh database with the demo and its history, as `telemed demo` loads it, and the app on it."""
    with postgres_database() as url:
        upgrade(url)
        settings = make_settings(
            tmp_path_factory.mktemp("demo-history"),
            TELEMED_DATABASE_URL=url,
            TELEMED_BROKER_URL=redis_url(),
            TELEMED_TASK_QUEUE=TEST_QUEUE,
        )
        open_store(settings).ensure_ready()
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with transaction(factory) as db:
            load_demo(db, "demo-history-password", history=True)
        try:
            yield create_app(settings), factory
        finally:
            engine.dispose()


def signed_in(app: Starlette, username: str) -> TestClient:
    client = TestClient(app)
    sign_in(client, username, "demo-history-password")
    return client


def last_month() -> str:
    return month_of(parse_month(month_of(SYSTEM_CLOCK.now()))[0] - timedelta(days=1))


def ok(client: TestClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def case_of(client: TestClient, patient: str) -> dict[str, Any]:
    (case,) = [c for c in ok(client, "/api/cases")["items"] if c["patient"]["name"] == patient]
    return case


def test_the_village_doctor_reads_a_signed_report_and_its_amendment(history: Loaded) -> None:
    app, _factory = history
    with signed_in(app, "village") as village:
        case = case_of(village, "陈淑芬")
        assert case["status"] == "closed" and case["assigned_to"]["display_name"] == "陈影像"
        first, amended = ok(village, f"/api/cases/{case['id']}/reports")["items"]
    assert [first["version"], amended["version"]] == [1, 2]
    assert first["status"] == amended["status"] == "signed"
    assert first["amendment_reason"] is None and "胸腔积液" in amended["amendment_reason"]
    assert "胸腔积液" not in first["content"]["impression"] and "胸腔积液" in amended["content"]["impression"]
    assert first["signed_at"] < amended["signed_at"]


def test_the_signed_read_is_billed_and_last_months_statement_invoiced(history: Loaded) -> None:
    app, _factory = history
    month = last_month()
    with signed_in(app, "village") as village:
        case = case_of(village, "陈淑芬")
        items = ok(village, f"/api/billing/items?month={month}")["items"]
        (statement,) = ok(village, f"/api/billing/statements?month={month}")["items"]
    (item,) = [i for i in items if i["case_id"] == case["id"]]
    assert (item["service_code"], item["price_fen"], item["tier"]) == ("TM-IMAGING-READ", 3000, "secondary")
    assert statement["state"] == "invoiced" and statement["provider"]["name"] == "示范县人民医院"
    assert statement["submitted_at"] < statement["checked_at"] < statement["invoiced_at"]
    (imaging,) = [line for line in statement["lines"] if line["service_code"] == "TM-IMAGING-READ"]
    assert (imaging["count"], imaging["rule"], imaging["net_fen"]) == (1, "discount", 2400)  # 20% off
    assert statement["gross_fen"] == sum(i["price_fen"] for i in items)


def test_the_township_doctor_sees_the_declined_referral_and_why(history: Loaded) -> None:
    app, _factory = history
    with signed_in(app, "township") as township:
        (declined,) = ok(township, "/api/referrals?box=outgoing&state=declined")["items"]
        wrist = case_of(township, "马小军")
    assert declined["patient"]["name_masked"] == "孙*明"
    assert "骨科门诊" in declined["decline_reason"]
    # The wrist film returned for more (退回补充) is back with the radiologist who asked.
    assert wrist["status"] == "assigned" and wrist["assigned_to"]["display_name"] == "陈影像"


def test_the_other_stories_end_where_they_should(history: Loaded) -> None:
    app, _factory = history
    with signed_in(app, "village") as village:
        states = {(r["direction"], r["state"]) for r in ok(village, "/api/referrals")["items"]}
        assert case_of(village, "黄美华")["status"] == "cancelled"
        (ended,) = [e for e in ok(village, "/api/follow-up?closed=1")["items"] if e["closed_at"]]
        assert ended["colour"]["code"] == "yellow"  # re-triaged before the follow-up ended
    assert {("up", "cancelled"), ("up", "closed"), ("down", "closed")} <= states
    with signed_in(app, "shiqiao") as shiqiao:
        (referral,) = ok(shiqiao, "/api/referrals?box=outgoing")["items"]
        assert (
            referral["state"] == "closed"
            and case_of(shiqiao, "刘建国")["escalated_to"]["display_name"] == "孙教授"
        )


def test_every_history_step_is_audited_as_its_demo_user(history: Loaded) -> None:
    _app, factory = history
    with factory() as db:
        events = db.execute(
            select(AuditEvent.action, AuditEvent.username, AuditEvent.outcome).where(
                AuditEvent.user_agent == DEMO_LOADER
            )
        ).all()
    taken: dict[str, set[str | None]] = {}
    for action, username, outcome in events:
        assert outcome == "ok", (action, username)
        taken.setdefault(action, set()).add(username)
    assert taken == STEPS_BY
