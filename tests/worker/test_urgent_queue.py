"""Urgent cases' tasks go to the urgent queue: a worker kept for it builds a frozen section's tiles
while routine work is left to the ordinary workers."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from server.api.app import create_app
from server.cases.models import Case, Urgency
from server.core.config import Settings
from server.slides.models import Slide
from tests.support import wsi_factory
from tests.support.accounts import sign_in
from tests.support.services import process_env, running, telemed_command


@pytest.fixture
def own_queue(settings: Settings) -> Settings:
    """A task queue of this test's own: the suite's other workers (on the shared test queue) would
    otherwise take the routine slide, which must be left waiting here."""
    return dataclasses.replace(settings, task_queue=f"telemed-urgent-test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def urgent_worker(own_queue: Settings, demo: None, tmp_path: Path) -> Iterator[None]:
    command = telemed_command("worker", "--urgent-only", "--concurrency", "1")
    with running(command, process_env(own_queue), log=tmp_path / "urgent-worker.log"):
        yield


@pytest.fixture
def client(own_queue: Settings, demo: None) -> Iterator[TestClient]:
    with TestClient(create_app(own_queue), client=("10.78.0.1", 40000)) as test_client:
        yield test_client


def upload(client: TestClient, csrf: str, case_id: int, data: bytes) -> int:
    response = client.post(
        f"/api/cases/{case_id}/slides",
        params={"filename": "frozen.tiff"},
        content=data,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def tiles_state(session_factory: sessionmaker[Session], slide_id: int) -> str:
    with session_factory() as db:
        found = db.scalar(select(Slide.tiles_state).where(Slide.id == slide_id))
        assert found is not None
        return found


def test_a_frozen_section_jumps_the_queue(
    client: TestClient,
    session_factory: sessionmaker[Session],
    pathology_case: tuple[int, int],
    urgent_worker,
    tmp_path: Path,
) -> None:
    case_id = pathology_case[0]
    with session_factory() as db, db.begin():
        db.get_one(Case, case_id).urgency = Urgency.URGENT
    csrf = sign_in(client, "village")
    urgent = upload(
        client, csrf, case_id, wsi_factory.pyramidal_tiff(tmp_path / "a.tiff", 1500, 1100).read_bytes()
    )
    with session_factory() as db, db.begin():
        db.get_one(Case, case_id).urgency = Urgency.ROUTINE
    routine = upload(
        client, csrf, case_id, wsi_factory.pyramidal_tiff(tmp_path / "b.tiff", 1400, 1000).read_bytes()
    )

    deadline = time.monotonic() + 60
    while tiles_state(session_factory, urgent) != "ready":
        assert time.monotonic() < deadline, "the urgent worker did not build the frozen section's tiles"
        time.sleep(0.2)
    time.sleep(
        2
    )  # time enough for the urgent-only worker to have taken the routine slide, were it queued there
    assert tiles_state(session_factory, routine) == "pending"
