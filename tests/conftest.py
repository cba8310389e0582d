"""Shared fixtures: a migrated PostgreSQL database with the demo community, the app, signed-in clients."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.config import Settings, load_settings
from server.db import make_engine, make_session_factory, transaction
from server.demo import load_demo
from server.migrate import upgrade
from server.storage import open_store
from tests.support.services import postgres_database, redis_url

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DEMO_PASSWORD = "demo-password-for-tests"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"

_addresses = itertools.count(1)


def make_settings(data_dir: Path, **env: str) -> Settings:
    return load_settings(
        environ={"TELEMED_DATA_DIR": str(data_dir), "TELEMED_SECRET_KEY": TEST_SECRET, **env}
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def settings(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(
        tmp_path_factory.mktemp("platform"), TELEMED_DATABASE_URL=pg_url, TELEMED_BROKER_URL=redis_url()
    )
    open_store(settings).ensure_ready()
    return settings


@pytest.fixture(scope="session")
def session_factory(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def demo(session_factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as db:
        load_demo(db, DEMO_PASSWORD)


@pytest.fixture(scope="session")
def app(settings: Settings, demo: None):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client from its own address, so one test's failed logins never throttle another's."""
    n = next(_addresses)
    with TestClient(app, client=(f"10.77.{n // 250}.{n % 250 + 1}", 40000)) as test_client:
        yield test_client


def sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in with the session cookie; returns the CSRF token for unsafe requests."""
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]
