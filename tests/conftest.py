"""Shared fixtures: a migrated PostgreSQL database with the demo community, the app, signed-in clients."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pydicom
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.api.app import create_app
from server.cases.models import Case, CaseKind, CaseStatus
from server.community.models import CentreKind, Institution, ReadingCentre, User
from server.core.config import Settings
from server.core.db import make_engine, make_session_factory, transaction
from server.core.migrate import upgrade
from server.storage import open_store
from server.tools.demo.community import load_demo
from tests.support.accounts import DEMO_PASSWORD
from tests.support.live import LivePlatform, live_platform
from tests.support.people import Person, people
from tests.support.services import TEST_QUEUE, postgres_database, redis_url
from tests.support.settings import make_settings

_addresses = itertools.count(1)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def settings(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(
        tmp_path_factory.mktemp("platform"),
        TELEMED_DATABASE_URL=pg_url,
        TELEMED_BROKER_URL=redis_url(),
        TELEMED_TASK_QUEUE=TEST_QUEUE,
    )
    open_store(settings).ensure_ready()
    return settings


@pytest.fixture(scope="session")
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def demo(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as db:
        load_demo(db, DEMO_PASSWORD)


@pytest.fixture(scope="session")
def village_id(session_factory: sessionmaker[Session], demo: None) -> int:
    """The demo village clinic, 青山村卫生室."""
    with session_factory() as db:
        found = db.scalar(select(Institution.id).where(Institution.name == "青山村卫生室"))
        assert found is not None
        return found


@pytest.fixture(scope="session")
def app(settings: Settings, demo: None) -> Starlette:
    return create_app(settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    """A client from its own address, so one test's failed logins never throttle another's."""
    n = next(_addresses)
    with TestClient(app, client=(f"10.77.{n // 250}.{n % 250 + 1}", 40000)) as test_client:
        yield test_client


@pytest.fixture
def person(app: Starlette) -> Iterator[Callable[[str], Person]]:
    """`person("village")`: a demo user signed in to the in-process app, each with a client of their own."""
    yield from people(app)


@dataclass(frozen=True)
class LiveWithCT:
    platform: LivePlatform
    case_with_ct: int
    study_uid: str
    series_uid: str

    @property
    def url(self) -> str:
        return self.platform.url

    @property
    def password(self) -> str:
        return self.platform.password


@pytest.fixture(scope="session")
def live_server(
    settings: Settings,
    demo: None,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveWithCT]:
    """API server and worker processes; the village doctor's imaging case carries a 30-slice CT."""
    from tests.support.dicom_factory import ct_series

    with transaction(session_factory) as db:
        case_id = db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )
        assert case_id is not None
    with live_platform(settings, DEMO_PASSWORD, tmp_path_factory.mktemp("live")) as platform:
        series = ct_series(n_slices=30, rows=256, cols=256, seed=30, patient_name="张^秀英")
        stored = platform.stow("village", series, case_id)
        assert stored.status_code == 200, stored.text
        ds = pydicom.dcmread(io.BytesIO(series[0]))
        platform.wait_for_thumbnail("radiologist", ds.StudyInstanceUID, ds.SeriesInstanceUID)
        yield LiveWithCT(platform, case_id, ds.StudyInstanceUID, ds.SeriesInstanceUID)


@pytest.fixture(scope="session")
def pathology_case(session_factory: sessionmaker[Session], demo: None) -> tuple[int, int]:
    """A pathology case of the demo village clinic, read by the county's pathology centre."""
    with session_factory() as db, db.begin():
        clinic = db.scalar(select(Institution).where(Institution.name == "青山村卫生室"))
        assert clinic is not None
        other = db.scalars(select(Case).where(Case.institution_id == clinic.id).order_by(Case.id)).first()
        assert other is not None
        centre = db.scalar(select(ReadingCentre).where(ReadingCentre.kind == CentreKind.PATHOLOGY))
        assert centre is not None
        village = db.scalar(select(User).where(User.username == "village"))
        assert village is not None
        case = Case(
            institution_id=clinic.id,
            patient_id=other.patient_id,
            created_by_id=village.id,
            kind=CaseKind.PATHOLOGY,
            status=CaseStatus.QUEUED,
            clinical_question="术中冰冻",
            centre_id=centre.id,
        )
        db.add(case)
        db.flush()
        return case.id, case.patient_id
