"""Live HLS broadcast of a teaching room: glass-to-glass latency with N concurrent viewers, and the
signalling server's CPU seconds per minute of media with 1 and with 50 viewers (the encode is done once
per room, so only the file serving should grow with the viewers).

One presenter (aiortc, a clock picture and a tone) records a teaching room on a signalling server
process of its own; N viewers poll the live playlist every half segment and fetch each new segment
(tests/support/broadcast.py). The server's CPU time is read from /proc over the viewing window only.
Needs the development machine's PostgreSQL (a scratch database is made and dropped).

    PYTHONPATH=. .venv/bin/python benchmarks/broadcast_hls.py [seconds per run, default 30] [N ...]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from server.api.app import create_app
from server.core.db import make_engine, make_session_factory, transaction
from server.core.migrate import upgrade
from server.tools.demo.community import load_demo
from tests.support.accounts import DEMO_PASSWORD
from tests.support.broadcast import Presenter, browsers, go_live, latencies, percentiles, viewers
from tests.support.consult import new_teaching_session, token
from tests.support.services import free_port, postgres_database, process_env, running, telemed_command
from tests.support.settings import make_settings

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid`, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def run(base: str, room: str, host: str, trainee: str, pid: int, n: int, seconds: float) -> tuple[float, dict[str, float], int]:  # fmt: skip
    """One broadcast watched by `n` viewers for `seconds`: server CPU s, latency figures, segments seen."""
    presenter = Presenter(f"ws{base[4:]}/ws/rooms/{room}", host, ice_servers=[])
    async with httpx.AsyncClient(timeout=10) as client, browsers(n) as clients:
        try:
            await go_live(presenter, client, base, room, trainee)
            before = cpu_seconds(pid)
            watches = await viewers(clients, base, room, trainee, seconds)
            cpu = cpu_seconds(pid) - before
            await presenter.send({"type": "recording", "action": "stop"})
            await presenter.next_frame("peer_left")
        finally:
            await presenter.close()
    return cpu, percentiles(latencies(watches)), min(len(w.segments) for w in watches)


def main(seconds: float, counts: list[int]) -> None:
    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        upgrade(url)
        settings = make_settings(Path(tmp), TELEMED_DATABASE_URL=url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as db:
            load_demo(db, DEMO_PASSWORD)
        room = f"teaching-{new_teaching_session(make_session_factory(engine), '网络收看：胸部CT读片')}"
        api = create_app(settings)
        host, trainee = token(api, "radiologist"), token(api, "trainee")
        port = free_port()
        env = {**process_env(settings), "TELEMED_SIGNALING_PORT": str(port)}
        base = f"http://127.0.0.1:{port}"
        with running(telemed_command("signaling"), env, ready_url=f"{base}/healthz", log=Path(tmp) / "sig.log") as process:  # fmt: skip
            print(f"{seconds:.0f} s per run, 1 s segments, viewers poll every 0.5 s; {os.cpu_count()} cores")
            print(f"{'viewers':>7} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'server CPU s':>12} {'CPU s / media min':>17} {'segments':>8}")  # fmt: skip
            for n in counts:
                cpu, figures, segments = asyncio.run(run(base, room, host, trainee, process.pid, n, seconds))
                print(
                    f"{n:>7} {figures['p50']:>6.2f} {figures['p95']:>6.2f} {figures['max']:>6.2f}"
                    f" {cpu:>12.2f} {cpu / (seconds / 60):>17.2f} {segments:>8}"
                )
                time.sleep(1)
        engine.dispose()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0, [int(a) for a in sys.argv[2:]] or [1, 50])
