"""Slide tile latency against OpenSlide's own Deep Zoom server, same generated slide, same run.

    .venv/bin/python benchmarks/wsi_tiles.py [--width 16384 --height 12288] [--grain 0] [--tiles 200]

Generates a pyramidal TIFF, then starts on free loopback ports
- the reference: openslide-python's example `deepzoom_server.py` (Flask, `DeepZoomGenerator`, tiles
  rendered on every request; from the openslide-python source distribution), and
- the platform on its embedded default (API server + worker, SQLite, filesystem store and queue).
It uploads the slide to a pathology case and reports: upload time; upload complete → tiles ready (the
worker's thumbnail and top levels); the first view (DZI + every tile of the deepest pre-built level);
then tile latency p50/p95 and tiles/s over `--tiles` random tiles of the base level, cold (first
request: the platform renders and caches it) and warm (the same tiles again), for both servers.
Both encode JPEG at quality 85, 254 px tiles + 1 px overlap, bounds not limited. Last, the peak
resident memory (VmHWM) of the API server and of the worker's processes. `--grain 200` makes the file
about 1.1 bytes per base pixel (e.g. 30000×30000 → ≈ 1 GB), for the memory figure on a clinical size.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imaging.wsi import level_tiles  # noqa: E402
from imaging.wsi.deepzoom import PREBUILD_MAX_SIDE  # noqa: E402
from tests.support import wsi_factory  # noqa: E402
from tests.support.services import free_port, running, telemed_command  # noqa: E402

PASSWORD = "benchmark-password"
CACHE = ROOT / "test-artifacts" / "wsi-fixtures"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def reference_server(slide: Path, workdir: Path) -> Iterator[str]:
    script = wsi_factory.openslide_sdist(CACHE) / "examples" / "deepzoom" / "deepzoom_server.py"
    port = free_port()
    args = [sys.executable, str(script), "-B", "-Q", "85", "-p", str(port), str(slide)]
    with running(args, {}, ready_url=f"http://127.0.0.1:{port}/slide.dzi", log=workdir / "reference.log"):
        yield f"http://127.0.0.1:{port}/slide_files"


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident set (VmHWM) of the process and its children, in MB."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(status.parent.name) == pid or int(fields.get("PPid", "0")) == pid:
            peaks.append(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return max(peaks, default=0.0)


@contextmanager
def platform(workdir: Path) -> Iterator[tuple[str, dict[str, str], dict[str, int]]]:
    port = free_port()
    env = {"TELEMED_DATA_DIR": str(workdir), "TELEMED_PORT": str(port), "TELEMED_DEMO_PASSWORD": PASSWORD}
    for step in ("migrate", "demo"):
        subprocess.run(telemed_command(step), env={**os.environ, **env}, check=True, capture_output=True)
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        worker = stack.enter_context(
            running(telemed_command("worker", "--concurrency", "2"), env, log=workdir / "worker.log")
        )
        server = stack.enter_context(
            running(telemed_command("serve"), env, ready_url=f"{url}/healthz", log=workdir / "server.log")
        )
        token = httpx.post(
            f"{url}/api/auth/login", json={"username": "village", "password": PASSWORD, "bearer": True}
        ).json()["token"]
        yield url, {"Authorization": f"Bearer {token}"}, {"API server": server.pid, "worker": worker.pid}


def timed_gets(client: httpx.Client, urls: list[str], headers: dict[str, str]) -> list[float]:
    times = []
    for url in urls:
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        response.raise_for_status()
        times.append(time.perf_counter() - start)
    return times


def report(name: str, times: list[float]) -> None:
    print(
        f"{name:<34} p50 {percentile(times, 0.5) * 1000:7.1f} ms   p95 {percentile(times, 0.95) * 1000:7.1f} ms"
        f"   {len(times) / sum(times):7.1f} tiles/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=16384)
    parser.add_argument("--height", type=int, default=12288)
    parser.add_argument("--tiles", type=int, default=200)
    parser.add_argument("--grain", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsi-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        slide = wsi_factory.large_pyramidal_tiff(
            work / "slide.tiff", args.width, args.height, grain=args.grain
        )
        size = slide.stat().st_size
        print(f"slide {args.width}×{args.height}, {size / 1e6:.1f} MB")
        reference = stack.enter_context(reference_server(slide, work))
        (work / "platform").mkdir()
        url, headers, pids = stack.enter_context(platform(work / "platform"))
        client = stack.enter_context(httpx.Client(timeout=600))
        case = client.post(
            f"{url}/api/cases",
            json={"patient": {"name": "基准测试"}, "kind": "pathology", "clinical_question": "benchmark"},
            headers=headers,
        )
        case.raise_for_status()
        start = time.perf_counter()
        with open(slide, "rb") as body:
            uploaded = client.post(
                f"{url}/api/cases/{case.json()['id']}/slides",
                params={"filename": "slide.tiff"},
                content=body,
                headers={**headers, "Content-Type": "application/octet-stream"},
            )
        uploaded.raise_for_status()
        done = time.perf_counter()
        slide_id = uploaded.json()["id"]
        print(
            f"upload (streamed, checked, stored)  {done - start:7.2f} s  ({size / 1e6 / (done - start):.0f} MB/s)"
        )
        while client.get(f"{url}/api/slides/{slide_id}", headers=headers).json()["tiles_state"] == "pending":
            time.sleep(0.05)
        ready = time.perf_counter()
        print(f"upload complete → top levels built  {ready - done:7.2f} s")
        grid = level_tiles(args.width, args.height)
        top = max(
            z
            for z in range(len(grid))
            if max(-(-args.width // 2 ** (len(grid) - 1 - z)), -(-args.height // 2 ** (len(grid) - 1 - z)))
            <= PREBUILD_MAX_SIDE
        )
        view = [
            f"{url}/api/slides/{slide_id}/tiles/{top}/{c}_{r}.jpeg"
            for r in range(grid[top][1])
            for c in range(grid[top][0])
        ]
        first = time.perf_counter()
        client.get(f"{url}/api/slides/{slide_id}/dzi", headers=headers).raise_for_status()
        timed_gets(client, view, headers)
        print(f"first view (DZI + {len(view)} tiles of level {top})   {time.perf_counter() - first:7.2f} s")
        print(f"upload complete → first view        {time.perf_counter() - done:7.2f} s")
        base = len(grid) - 1
        rng = random.Random(5)
        picks = rng.sample([(c, r) for r in range(grid[base][1]) for c in range(grid[base][0])], args.tiles)
        ours = [f"{url}/api/slides/{slide_id}/tiles/{base}/{c}_{r}.jpeg" for c, r in picks]
        theirs = [f"{reference}/{base}/{c}_{r}.jpeg" for c, r in picks]
        for name, urls, auth in (("platform", ours, headers), ("OpenSlide deepzoom_server", theirs, {})):
            report(f"{name}, cold", timed_gets(client, urls, auth))
            report(f"{name}, warm", timed_gets(client, urls, auth))
        for name, pid in pids.items():
            print(
                f"peak resident memory, {name:<11} {peak_rss_mb(pid):7.0f} MB  (slide file {size / 1e6:.0f} MB)"
            )


if __name__ == "__main__":
    main()
