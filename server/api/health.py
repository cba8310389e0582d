"""Liveness (`/healthz`) and readiness (`/readyz`: database, broker, object store)."""

from __future__ import annotations

import time
from collections.abc import Callable

from kombu import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api.routing import Access, ApiRoute, Contract
from server.api.schemas.health import Liveness, Readiness
from server.core.db import ping

CHECK_TIMEOUT_SECONDS = 3


def broker_ping(broker_url: str, transport_options: dict) -> None:
    with Connection(
        broker_url, connect_timeout=CHECK_TIMEOUT_SECONDS, transport_options=transport_options
    ) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=CHECK_TIMEOUT_SECONDS)


def _timed(check: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # readiness reports any failure, whatever raised it
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _readiness(request: Request) -> dict[str, dict[str, object]]:
    state = request.app.state
    celery_conf = state.tasks.app.conf
    return {
        "database": _timed(lambda: ping(state.engine)),
        "broker": _timed(
            lambda: broker_ping(celery_conf.broker_url, dict(celery_conf.broker_transport_options or {}))
        ),
        "object_store": _timed(state.store.check),
    }


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    checks = await run_in_threadpool(_readiness, request)
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "fail", "checks": checks}, status_code=200 if ready else 503
    )


# Probes carry no credentials; a server that is not ready answers 503 with the same body.
routes = [
    ApiRoute("/healthz", healthz, access=Access.public(), contract=Contract(response=Liveness)),
    ApiRoute(
        "/readyz",
        readyz,
        access=Access.public(),
        contract=Contract(response=Readiness, others={503: Readiness}),
    ),
]
