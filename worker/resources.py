"""Per-process resources of a worker: settings, database sessions, object store. Made on first use."""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session, sessionmaker

from server.core.config import Settings
from server.core.db import make_engine, make_session_factory
from server.storage import ObjectStore, open_store


def settings() -> Settings:
    from worker.app import current  # the app is made on first use, from the environment

    configured: Settings = current().conf.telemed_settings
    return configured


@cache
def session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings().database_url))


@cache
def store() -> ObjectStore:
    return open_store(settings())
