"""Fixtures of the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.cases.models import Case
from server.community.models import Institution
from server.core.config import Settings
from server.core.db import transaction
from tests.support.consult import platform_with_signalling
from tests.support.consult_browser import ConsultPlatform


@pytest.fixture(scope="module")
def consult_platform(
    settings: Settings,
    demo: None,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsultPlatform]:
    """API, worker and signalling server; the API hands out the signalling server's port."""
    with transaction(session_factory) as db:
        case_id = db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )
        assert case_id is not None
    with platform_with_signalling(settings, tmp_path_factory.mktemp("consult")) as (platform, _port):
        yield ConsultPlatform(platform, case_id)
