from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from server.core.db import make_engine
from server.core.migrate import current_revision, downgrade, head_revision, upgrade
from server.schema import metadata
from tests.support.services import postgres_database


def assert_schema_matches_models(url: str) -> None:
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    finally:
        engine.dispose()


def round_trip(url: str) -> None:
    upgrade(url)
    assert_schema_matches_models(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    assert_schema_matches_models(url)


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    round_trip(f"sqlite:///{tmp_path / 'migrations.db'}")


def test_migrations_on_postgresql() -> None:
    with postgres_database() as url:
        round_trip(url)
