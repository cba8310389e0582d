"""Real services the tests talk to: PostgreSQL and Redis on this machine, and processes we start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from server.core.config import Settings

POSTGRES_ADMIN_URL = os.environ.get("TELEMED_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TELEMED_TEST_REDIS", "redis://127.0.0.1:6379/9")
START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}


def missing(service: str, error: Exception) -> None:
    pytest.fail(
        f"{service} is required by this test but is not reachable ({error}). Start it with: {START_HINTS[service]}",
        pytrace=False,
    )


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"telemed_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        missing("PostgreSQL", exc)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url() -> str:
    """The test Redis database. Each test session uses its own task queue (`TEST_QUEUE`) in it, so
    concurrent runs on one machine never take each other's tasks."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        missing("Redis", exc)
    return REDIS_URL


TEST_QUEUE = f"telemed-test-{uuid.uuid4().hex[:8]}"


def process_env(settings: Settings) -> dict[str, str]:
    """Environment for a platform process (server, worker, SCP) sharing `settings`' database, store and queue."""
    return {
        "TELEMED_DATA_DIR": str(settings.data_dir),
        "TELEMED_STORAGE_ROOT": str(settings.storage_root),
        "TELEMED_DATABASE_URL": settings.database_url,
        "TELEMED_BROKER_URL": settings.broker_url,
        "TELEMED_TASK_QUEUE": settings.task_queue,
        "TELEMED_SECRET_KEY": settings.secret_key,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def running(
    args: Sequence[str], env: dict[str, str], *, ready_url: str | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a command (a platform process) for the duration of the block; its output goes to `log`."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(list(args), env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        if ready_url:
            wait_for_http(ready_url, process)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not isinstance(out, int):  # subprocess.DEVNULL is an int; a log file is ours to close
            out.close()


def telemed_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "server.tools.cli", *args]
