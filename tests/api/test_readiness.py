"""/readyz reports each dependency and fails clearly when the S3 server goes away."""

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.api.app import create_app
from server.core.config import Settings
from tests.support.s3server import S3Server
from tests.support.settings import make_settings


@pytest.fixture
def s3_app(settings: Settings, tmp_path: Path):
    with S3Server() as s3:
        s3_settings = make_settings(
            tmp_path,
            TELEMED_DATABASE_URL=settings.database_url,
            TELEMED_BROKER_URL=settings.broker_url,
            TELEMED_STORAGE="s3",
            TELEMED_S3_ENDPOINT=s3.endpoint,
            TELEMED_S3_ACCESS_KEY=s3.access_key,
            TELEMED_S3_SECRET_KEY=s3.secret_key,
            TELEMED_S3_BUCKET="readiness",
        )
        app = create_app(s3_settings)
        app.state.store.ensure_ready()
        yield app, s3


def test_readyz_reports_each_dependency_and_the_s3_outage(s3_app) -> None:
    app, s3 = s3_app
    client = TestClient(app)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "broker", "object_store"}
    assert all(check["ok"] for check in checks.values())

    s3.stop()
    failing = client.get("/readyz")
    assert failing.status_code == 503
    checks = failing.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert checks["object_store"]["ok"] is False
    assert checks["object_store"]["error"]  # says what went wrong, not just "false"
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_readyz_fails_when_the_broker_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    broken = make_settings(
        tmp_path, TELEMED_DATABASE_URL=settings.database_url, TELEMED_BROKER_URL="redis://127.0.0.1:1/0"
    )
    checks = TestClient(create_app(broken)).get("/readyz").json()["checks"]
    assert checks["broker"]["ok"] is False and checks["database"]["ok"] is True
