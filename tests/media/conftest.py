"""Fixtures of the media tests: coturn, a signalling server process using it, a worker process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.core.config import Settings
from tests.support.consult import signalling_process, village_case_id
from tests.support.coturn import Turn, coturn
from tests.support.services import process_env, running, telemed_command


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    with coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server


@pytest.fixture(scope="module")
def room_url(settings: Settings, demo: None, session_factory: Any, turn: Turn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # fmt: skip
    """The village case's room on a signalling server process configured with the coturn above."""
    log = tmp_path_factory.mktemp("signaling") / "signaling.log"
    with signalling_process(settings, [turn.url], turn.secret, log) as port:
        yield f"ws://127.0.0.1:{port}/ws/rooms/case-{village_case_id(session_factory)}"


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A `telemed worker` process on the test queue (it muxes recordings)."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running(telemed_command("worker"), process_env(settings), log=log):
        yield
