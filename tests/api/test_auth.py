from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.auth.passwords import hash_password
from server.community.models import Institution, Role, User
from server.core.config import Settings
from server.core.db import transaction
from tests.support.accounts import DEMO_PASSWORD, sign_in


def audit_events(session_factory: sessionmaker[Session], **where) -> list[AuditEvent]:
    with session_factory() as db:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(db.scalars(query))


def test_login_me_logout(client: TestClient) -> None:
    response = client.post("/api/auth/login", json={"username": "village", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["display_name"] == "王村医"
    assert body["user"]["role"] == "requester"
    assert body["user"]["institution"]["name"] == "青山村卫生室"
    assert "token" not in body  # browsers get an HttpOnly cookie, never the token itself
    assert "httponly" in response.headers["set-cookie"].lower()

    me = client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["user"]["username"] == "village"

    logout = client.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert logout.status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_wrong_password_is_refused_and_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    response = client.post("/api/auth/login", json={"username": "radiologist", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
    events = audit_events(session_factory, action="login", username="radiologist", outcome="failed")
    assert events and events[-1].ip and events[-1].ip.startswith("10.77.")


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient) -> None:
    response = client.post("/api/auth/login", json={"username": "nobody-here", "password": "whatever-it-is"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


def test_login_is_rate_limited_per_username(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    # A user of its own: a demo user locked out for 15 minutes would fail every later test signing in as it.
    with transaction(session_factory) as db:
        db.add(
            User(
                username="lockout-probe",
                display_name="锁定测试",
                password_hash=hash_password(DEMO_PASSWORD),
                role=Role.EXPERT,
                institution_id=db.scalar(select(Institution.id).where(Institution.name == "省人民医院")),
            )
        )
    for _ in range(settings.login_max_failures):
        refused = client.post("/api/auth/login", json={"username": "lockout-probe", "password": "not-it-1"})
        assert refused.status_code == 401
    blocked = client.post("/api/auth/login", json={"username": "lockout-probe", "password": DEMO_PASSWORD})
    assert blocked.status_code == 429  # even the right password waits out the lock
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.json()["error"] == "too_many_attempts"


def test_unsafe_request_with_cookie_needs_the_csrf_token(client: TestClient) -> None:
    sign_in(client, "village")
    new_case = {"kind": "imaging", "patient": {"name": "测试患者"}}
    refused = client.post("/api/cases", json=new_case)
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed"
    wrong = client.post("/api/cases", json=new_case, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403


def test_bearer_token_for_programs_needs_no_csrf(client: TestClient) -> None:
    response = client.post(
        "/api/auth/login", json={"username": "township", "password": DEMO_PASSWORD, "bearer": True}
    )
    token = response.json()["token"]
    assert "set-cookie" not in response.headers
    client.cookies.clear()
    created = client.post(
        "/api/cases",
        json={"kind": "ecg", "patient": {"name": "程序患者"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text


def test_non_json_body_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/auth/login",
        content=b"username=a&password=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
