"""Malformed input never gets a 5xx: every endpoint, called by a role it admits, with hostile values.

Generated from the route table like the access matrix: ids too large for the database, integer body
fields (every name the API reads) beyond 32 bits, non-JSON bodies and absurd query values.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from server.api.app import api_routes
from server.api.routing import ApiRoute
from server.auth.sessions import create_session
from server.community.models import User
from server.core.db import transaction
from tests.support.accounts import USER_OF_ROLE

HUGE = 2**40


def integer_properties(schema: object) -> set[str]:
    """The names of the integer properties anywhere in a JSON schema (nested models included)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if any(option.get("type") == "integer" for option in prop.get("anyOf", [prop])):
                found.add(name)
        for value in schema.values():
            found |= integer_properties(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= integer_properties(value)
    return found


# Every integer body field the API reads: by `body_field(ctx, name, int)`, or in a route's body model.
INT_FIELDS = sorted(
    set(
        re.findall(
            r'body_field\(\s*ctx,\s*"(\w+)",\s*int\b',
            "".join(p.read_text() for p in Path("server/api").glob("*.py")),
        )
    )
    | {
        name
        for route in api_routes()
        if isinstance(route, ApiRoute) and route.contract.body is not None
        for name in integer_properties(route.contract.body.model_json_schema())
    }
)
QUERY = {
    "month": "2026-99",
    "centre_id": str(HUGE),
    "institution": str(HUGE),
    "case": str(HUGE),
    "limit": str(HUGE),
    "offset": "-1",
    "before_id": str(HUGE),
    "q": "%' OR 1=1 --",
    "role": "reader",
}


def admitted_endpoints() -> list[tuple[str, str, str]]:
    """(path, method, a username the rule admits) for every endpoint that is not an event stream."""
    found = []
    for route in api_routes():
        assert isinstance(route, ApiRoute)
        if route.path.endswith("/stream") or route.access.is_public:
            continue
        role = next(r for r in USER_OF_ROLE if route.access.allows(r))
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((route.path, method, USER_OF_ROLE[role]))
    return found


def filled(path: str, number: int, text: str) -> str:
    return re.sub(r"{(\w+)(?::(\w+))?}", lambda m: str(number) if m.group(2) == "int" else text, path)


@pytest.fixture
def token(session_factory: sessionmaker[Session], demo: None):
    def make(username: str) -> str:
        with transaction(session_factory) as db:
            user = db.scalar(select(User).where(User.username == username))
            assert user is not None
            made, _ = create_session(db, user, lifetime=timedelta(hours=1), ip=None, user_agent="fuzz")
            return made

    return make


def test_integer_fields_are_known() -> None:
    assert {"patient_id", "price_fen", "rate_bp"} <= set(INT_FIELDS)


@pytest.mark.parametrize(("path", "method", "username"), admitted_endpoints(), ids=lambda v: str(v))
def test_hostile_values_get_a_4xx(client: TestClient, token, path: str, method: str, username: str) -> None:
    headers = {"Authorization": f"Bearer {token(username)}"}
    url = filled(path, 987654321, "2.25.1%00x")  # in range for the route, naming nothing; a NUL in text
    attempts = [
        client.request(method, filled(path, HUGE, "..%2F..%2Fetc"), headers=headers),  # too large an id
        client.request(method, url, params=QUERY, headers=headers),
    ]
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        fields = dict.fromkeys(INT_FIELDS, HUGE)
        attempts.append(client.request(method, url, json=fields, headers=headers))
        attempts.append(client.request(method, url, json=[1, 2], headers=headers))
        attempts.append(
            client.request(
                method,
                url,
                content=b"\xff\xfe{not json",
                headers={**headers, "Content-Type": "application/json"},
            )
        )
    for response in attempts:
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:300]}"
