"""CPU seconds the recording peer spends per recorded stream per minute of media, for N = 1, 2, 4
participants each sending 320x240 video and a tone. The recorder runs in its own process (participants
encode too, and must not be counted); its CPU time is read with getrusage there.

    PYTHONPATH=. .venv/bin/python benchmarks/recording_cpu.py [seconds per run, default 20]
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from signaling.recording.recorder import RecordingPeer
from tests.support.recording import MovingBars, Tone


def recorder(conn: Connection, n: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        answers: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        with tempfile.TemporaryDirectory() as tmp:
            peer = RecordingPeer([], time.monotonic(), Path(tmp), answers.put)
            for _ in range(n):
                name, offer = await loop.run_in_executor(None, conn.recv)
                await peer.handle(name, offer)
                conn.send(await answers.get())
            before = resource.getrusage(resource.RUSAGE_SELF)
            await loop.run_in_executor(None, conn.recv)  # participants finished sending
            await peer.close()
            after = resource.getrusage(resource.RUSAGE_SELF)
            dropped = sum(w.dropped for w in peer.writers)
        conn.send((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, dropped))

    asyncio.run(main())


async def participants(conn: Connection, n: int, seconds: float) -> None:
    pcs = []
    for i in range(n):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(MovingBars())
        pc.addTrack(Tone())
        await pc.setLocalDescription(await pc.createOffer())
        conn.send((f"p{i}", {"type": "offer", "sdp": pc.localDescription.sdp}))
        answer = conn.recv()
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        pcs.append(pc)
    await asyncio.sleep(seconds)
    conn.send("done")
    await asyncio.gather(*(pc.close() for pc in pcs))


def run(n: int, seconds: float) -> tuple[float, int]:
    ours, theirs = mp.Pipe()
    child = mp.get_context("fork").Process(target=recorder, args=(theirs, n))
    child.start()
    asyncio.run(participants(ours, n, seconds))
    cpu, dropped = ours.recv()
    child.join()
    return cpu, dropped


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    print(f"{'streams':>7} {'recorder CPU s':>14} {'CPU s / stream / media min':>27} {'dropped':>8}")
    for n in (1, 2, 4):
        cpu, dropped = run(n, seconds)
        print(f"{n:>7} {cpu:>14.2f} {cpu / n / (seconds / 60):>27.2f} {dropped:>8}")
