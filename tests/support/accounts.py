"""The demo community's accounts: its password, one user per role, signing in by cookie or bearer token."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from starlette.testclient import TestClient

from server.auth.passwords import hash_password
from server.community.models import Role, User
from server.core.db import transaction

DEMO_PASSWORD = "demo-password-for-tests"


def sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in with the session cookie; returns the CSRF token for unsafe requests."""
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post(
        "/api/auth/login", json={"username": username, "password": DEMO_PASSWORD, "bearer": True}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


# One demo user per role.
USER_OF_ROLE = {
    Role.REQUESTER: "village",
    Role.READER: "radiologist",
    Role.DISPATCHER: "dispatcher",
    Role.EXPERT: "expert",
    Role.TRAINEE: "trainee",
    Role.ADMIN: "admin",
    Role.AUDITOR: "auditor",
}


def add_reader(session_factory, like: str = "radiologist") -> str:
    """Another reader at the same centre as `like`; returns the username (password: the demo one)."""
    username = f"{like}-{uuid.uuid4().hex[:6]}"
    with transaction(session_factory) as db:
        model = db.scalar(select(User).where(User.username == like))
        assert model is not None, f"no user {like!r}"
        db.add(
            User(
                username=username,
                display_name=f"{model.display_name}二",
                password_hash=hash_password(DEMO_PASSWORD),
                role=Role.READER,
                institution_id=model.institution_id,
                centre_id=model.centre_id,
            )
        )
    return username


def user_id(session_factory, username: str) -> int:
    with session_factory() as db:
        return db.scalar(select(User.id).where(User.username == username))
