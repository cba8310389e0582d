"""Every role × every endpoint, generated from the route table: a new endpoint is covered on arrival.

For each endpoint and method the test calls it as nobody and as one user of each role. A role the
endpoint's rule does not name must get 403 and leave an `access_denied` audit event for the endpoint;
a role it names must get past the rule (event streams excepted: admitted, they never end); nobody
gets a 5xx, whatever the (empty) input. Path
parameters name records that do not exist, so the calls change nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.api.app import api_routes
from server.api.routing import Access, ApiRoute
from server.auth.sessions import create_session
from server.community.models import Role, User
from server.core.db import transaction
from tests.support.accounts import USER_OF_ROLE

PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
MISSING_ID = 987654321


def endpoints() -> list[tuple[str, str, Access, str]]:
    found = []
    for route in api_routes():
        assert isinstance(route, ApiRoute), f"{route} carries no access rule; the matrix cannot walk it"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((route.path, method, route.access, route.name))
    return found


def concrete(path: str) -> str:
    """The path with every parameter naming a record that does not exist."""

    def fill(match: re.Match[str]) -> str:
        name, convertor = match.groups()
        if convertor == "int":
            return str(MISSING_ID)
        return "1" if name == "frames" else f"2.25.{MISSING_ID}"

    return PATH_PARAM.sub(fill, path)


@pytest.fixture
def tokens(session_factory: sessionmaker[Session], demo: None) -> dict[Role, str]:
    """Fresh bearer sessions per endpoint (logout ends one), made directly rather than by logging in."""
    made = {}
    with transaction(session_factory) as db:
        for role, username in USER_OF_ROLE.items():
            user = db.scalar(select(User).where(User.username == username))
            assert user is not None and user.role == role
            made[role], _ = create_session(
                db, user, lifetime=timedelta(hours=1), ip="10.99.0.1", user_agent="matrix"
            )
    return made


def endpoint_refusals(session_factory: sessionmaker[Session], username: str, endpoint: str) -> int:
    with session_factory() as db:
        found = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "access_denied",
                AuditEvent.resource_type == "endpoint",
                AuditEvent.resource_id == endpoint,
                AuditEvent.username == username,
            )
        )
        assert found is not None
        return found


def call(client: TestClient, method: str, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        return client.request(method, path, json={}, headers=headers)
    return client.request(method, path, headers=headers)


@pytest.mark.parametrize(
    ("path", "method", "access", "name"),
    endpoints(),
    ids=[f"{method} {path}" for path, method, _access, _name in endpoints()],
)
def test_role_by_endpoint(
    client: TestClient, session_factory: sessionmaker[Session], tokens, path, method, access, name
) -> None:
    url = concrete(path)
    anonymous = call(client, method, url)
    assert anonymous.status_code < 500, anonymous.text
    if not access.is_public:
        assert anonymous.status_code == 401, f"{method} {path} answered {anonymous.status_code} to nobody"
    for role, token in tokens.items():
        if access.allows(role) and path.endswith("/stream"):
            continue  # an admitted event stream never ends; its own tests cover what it sends
        username = USER_OF_ROLE[role]
        before = endpoint_refusals(session_factory, username, name)
        response = call(client, method, url, token)
        refused = endpoint_refusals(session_factory, username, name) - before
        assert response.status_code < 500, f"{role} {method} {path}: {response.text}"
        if access.allows(role):
            assert refused == 0, f"{role} was refused {method} {path}, which its rule allows"
        else:
            assert response.status_code == 403, f"{role} got {response.status_code} on {method} {path}"
            assert refused == 1, f"the refusal of {role} on {method} {path} was not audited"
