"""Signalling server: join-to-first-media time, and how many 2-peer rooms one process holds.

    PYTHONPATH=. .venv/bin/python benchmarks/signaling_rooms.py [--joins 10] [--steps 25,50,100,200,400]

Starts its own PostgreSQL database (migrated, demo community, one cloned imaging case per room) and
a `telemed signaling` process. (a) Two aiortc peers on loopback: the village doctor waits in the
room, the radiologist joins; time from opening the socket to the first decoded video frame. (b) For
each step, that many rooms with two plain `websockets` clients each: an offer, then the leader's
viewer events at --rate per room; latency is leader send → other peer receive (p50/p95). The client
runs in one process on the same cores, so the figures are an upper bound for the server's share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets
from sqlalchemy import select
from starlette.testclient import TestClient

from server.api.app import create_app
from server.cases.models import Case
from server.community.models import Institution
from server.core.config import load_settings
from server.core.db import make_engine, make_session_factory, transaction
from server.core.migrate import upgrade
from server.tools.demo.community import load_demo
from tests.support.rtc import RtcPeer
from tests.support.services import free_port, postgres_database, process_env, running, telemed_command

PASSWORD = "benchmark-demo-password"
LIMIT_MS = 100


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def clone_cases(factory: Any, n: int) -> list[int]:
    """`n` copies of the village clinic's imaging case, so each room has its own case."""
    with transaction(factory) as db:
        template = db.scalar(
            select(Case).join(Institution).where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )
        assert template is not None
        columns = [c.key for c in Case.__table__.columns if c.key != "id"]
        copies = [Case(**{key: getattr(template, key) for key in columns}) for _ in range(n)]
        db.add_all(copies)
        db.flush()
        return [template.id] + [case.id for case in copies]


def tokens(settings: Any) -> dict[str, str]:
    with TestClient(create_app(settings)) as api:
        return {
            user: api.post(
                "/api/auth/login", json={"username": user, "password": PASSWORD, "bearer": True}
            ).json()["token"]
            for user in ("village", "radiologist")
        }


async def join_to_first_media(base: str, case_id: int, token: dict[str, str], joins: int) -> list[float]:
    times = []
    for _ in range(joins):
        village = RtcPeer(f"{base}/case-{case_id}", token["village"], ice_servers=[])
        reader = RtcPeer(f"{base}/case-{case_id}", token["radiologist"], ice_servers=[])
        await village.join()
        start = time.perf_counter()
        await reader.join()
        await asyncio.wait_for(reader.received.first_video.wait(), 20)
        times.append((time.perf_counter() - start) * 1000)
        await reader.close()
        await village.close()
    return times


async def connect(url: str, token: str) -> Any:
    ws = await websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None
    )
    welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


async def room_load(
    url: str, token: dict[str, str], rate: float, seconds: float, latencies: list[float]
) -> int:
    """One room: village then reader; the reader (first host, so leader) streams slice events."""
    village, _ = await connect(url, token["village"])
    reader, welcome = await connect(url, token["radiologist"])
    sent: dict[int, float] = {}
    errors = 0

    async def receive(ws: Any, timed: bool) -> None:
        """The leader gets its own events back too; only the other peer's copies are timed."""
        nonlocal errors
        async for message in ws:
            frame = json.loads(message)
            if timed and frame["type"] == "viewer" and frame["event"].get("kind") == "slice":
                latencies.append((time.perf_counter() - sent[frame["event"]["index"]]) * 1000)
            elif frame["type"] == "error":
                errors += 1

    receivers = [asyncio.ensure_future(receive(village, True)), asyncio.ensure_future(receive(reader, False))]
    village_id = next(p["peer_id"] for p in welcome["peers"])
    await reader.send(json.dumps({"type": "offer", "to": village_id, "sdp": "v=0"}))
    for index in range(round(rate * seconds)):
        sent[index] = time.perf_counter()
        await reader.send(json.dumps({"type": "viewer", "event": {"kind": "slice", "index": index}}))
        await asyncio.sleep(1 / rate)
    await asyncio.sleep(0.5)
    for ws in (reader, village):  # bye: leave at once, so the next step finds the room empty
        await ws.send(json.dumps({"type": "bye"}))
        await ws.close()
    await asyncio.gather(*receivers, return_exceptions=True)
    return errors


async def rooms_step(base: str, cases: list[int], token: dict[str, str], rooms: int, rate: float, seconds: float) -> tuple[list[float], int]:  # fmt: skip
    """Latencies of every delivered event, and how many `error` frames the receivers got."""
    latencies: list[float] = []
    loads = (room_load(f"{base}/case-{case}", token, rate, seconds, latencies) for case in cases[:rooms])
    return latencies, sum(await asyncio.gather(*loads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=10)
    parser.add_argument("--steps", default="25,50,100,200,400")
    parser.add_argument("--rate", type=float, default=5, help="viewer events per second per room")
    parser.add_argument("--seconds", type=float, default=10, help="measurement window per step")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        upgrade(url)
        settings = load_settings(
            environ={"TELEMED_DATA_DIR": tmp, "TELEMED_DATABASE_URL": url, "TELEMED_SECRET_KEY": "b" * 48}
        )
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with transaction(factory) as db:
            load_demo(db, PASSWORD)
        cases = clone_cases(factory, max(steps))
        engine.dispose()
        token = tokens(settings)
        port = free_port()
        env = {**process_env(settings), "TELEMED_SIGNALING_PORT": str(port)}
        base = f"ws://127.0.0.1:{port}/ws/rooms"
        with running(telemed_command("signaling"), env, ready_url=f"http://127.0.0.1:{port}/healthz", log=Path(tmp) / "signaling.log"):  # fmt: skip
            times = asyncio.run(join_to_first_media(base, cases[0], token, args.joins))
            print(f"join → first decoded video frame, {args.joins} joins: p50 {statistics.median(times):.0f} ms, p95 {percentile(times, 0.95):.0f} ms")  # fmt: skip
            print(
                f"\n{'rooms':>6} {'events/s':>9} {'delivered':>10} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}"
            )
            for rooms in steps:
                latencies, errors = asyncio.run(
                    rooms_step(base, cases, token, rooms, args.rate, args.seconds)
                )
                expected = round(args.rate * args.seconds) * rooms
                p95 = percentile(latencies, 0.95) if latencies else float("inf")
                median = statistics.median(latencies) if latencies else float("inf")
                print(
                    f"{rooms:>6} {rooms * args.rate:>9.0f} {len(latencies) / expected:>10.1%} {median:>8.1f} {p95:>8.1f} {errors:>7}"
                )
                if p95 > LIMIT_MS:
                    print(f"p95 above {LIMIT_MS} ms at {rooms} rooms: stopping")
                    break


if __name__ == "__main__":
    main()
