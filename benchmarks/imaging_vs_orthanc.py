"""Ingest and preview speed against Orthanc, side by side on this machine, same generated CT series.

    .venv/bin/python benchmarks/imaging_vs_orthanc.py [--slices 300] [--batch 10] [--mode embedded|services]
        [--database postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 3] [--ingest-only]

Starts Orthanc (Debian's `orthanc` + `orthanc-dicomweb`; as root this script installs them) and the
platform (API server + worker) on free loopback ports, each on its own temporary storage, then:
1. STOW-RS the series in batches from one client → instances/s for each, and the ratio;
2. previews: Orthanc's `/instances/{id}/preview` vs the platform's WADO-RS `rendered` per instance →
   median and p95 latency, and the ratio;
3. time from an instance's upload being committed to its previews being ready (platform only), p50/p95.
`--mode embedded` runs the platform on its embedded default (SQLite, files, filesystem queue), the same
class of set-up as Orthanc's default; `--mode services` uses PostgreSQL and Redis on 127.0.0.1.
`--database URL` runs the platform on a scratch database created on that PostgreSQL server (and dropped
afterwards), keeping the filesystem object store. `--rounds N` ingests N fresh series into each server,
taking turns, and reports the median rates: other load on a shared machine then falls on both.
`--ingest-only` skips the preview measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2 as httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.dicom_factory import ct_series  # noqa: E402
from tests.support.services import free_port, postgres_database, redis_url, running, telemed_command  # noqa: E402

PASSWORD = "benchmark-password"


def multipart(instances: list[bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n"
        for part in instances
    )
    return (
        body + f"--{boundary}--\r\n".encode(),
        f'multipart/related; type="application/dicom"; boundary={boundary}',
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def orthanc(workdir: Path) -> Iterator[str]:
    if not shutil.which("Orthanc"):
        if os.geteuid() != 0:
            raise SystemExit("Orthanc is missing: apt-get install orthanc orthanc-dicomweb")
        print("installing orthanc and orthanc-dicomweb (apt-get)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "orthanc", "orthanc-dicomweb"], check=True)
    port = free_port()
    config = {
        "Name": "benchmark",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "HttpPort": port,
        "DicomPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (workdir / "orthanc.json").write_text(json.dumps(config))
    url = f"http://127.0.0.1:{port}"
    with running(
        ["Orthanc", str(workdir / "orthanc.json")], {}, ready_url=f"{url}/system", log=workdir / "orthanc.log"
    ):
        yield url


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of `admin_url`, dropped afterwards."""
    name = f"telemed_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def platform(
    workdir: Path, mode: str, database: str | None
) -> Iterator[tuple[str, dict[str, str], Callable[[], list[float]]]]:
    port = free_port()
    env = {"TELEMED_DATA_DIR": str(workdir), "TELEMED_PORT": str(port), "TELEMED_DEMO_PASSWORD": PASSWORD}
    with ExitStack() as stack:
        if database:
            env["TELEMED_DATABASE_URL"] = stack.enter_context(scratch_database(database))
        elif mode == "services":
            env["TELEMED_DATABASE_URL"] = stack.enter_context(postgres_database())
        if mode == "services":
            env["TELEMED_BROKER_URL"] = redis_url()
        for step in ("migrate", "demo"):
            subprocess.run(telemed_command(step), env={**os.environ, **env}, check=True, capture_output=True)
        stack.enter_context(
            running(
                telemed_command("worker", "--concurrency", "2", "--nice", "10"),
                env,
                log=workdir / "worker.log",
            )
        )
        url = f"http://127.0.0.1:{port}"
        stack.enter_context(
            running(telemed_command("serve"), env, ready_url=f"{url}/healthz", log=workdir / "server.log")
        )
        token = httpx.post(
            f"{url}/api/auth/login", json={"username": "village", "password": PASSWORD, "bearer": True}
        ).json()["token"]

        def preview_delays() -> list[float]:
            return _preview_delays(env)

        yield url, {"Authorization": f"Bearer {token}"}, preview_delays


def _preview_delays(env: dict[str, str]) -> list[float]:
    """Seconds from each instance's commit to its previews being stored (the worker's lag)."""
    query = "SELECT created_at, previews_at FROM dicom_instances"
    if "TELEMED_DATABASE_URL" in env:
        with psycopg.connect(env["TELEMED_DATABASE_URL"]) as connection:
            rows = connection.execute(query).fetchall()
        return [(done - made).total_seconds() for made, done in rows if done]
    with sqlite3.connect(Path(env["TELEMED_DATA_DIR"]) / "telemed.db") as connection:
        rows = connection.execute(query).fetchall()
    from datetime import datetime

    return [
        (datetime.fromisoformat(done) - datetime.fromisoformat(made)).total_seconds()
        for made, done in rows
        if done
    ]


def stow(url: str, headers: dict[str, str], series: list[bytes], batch: int) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=300) as client:
        for start in range(0, len(series), batch):
            body, content_type = multipart(series[start : start + batch])
            response = client.post(url, content=body, headers={**headers, "Content-Type": content_type})
            response.raise_for_status()
    return len(series) / (time.perf_counter() - started)


def timed_gets(urls: list[str], headers: dict[str, str]) -> list[float]:
    times = []
    with httpx.Client(timeout=60, headers=headers) as client:
        for url in urls:
            started = time.perf_counter()
            client.get(url).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


def wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("previews were not ready in time")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10, help="instances per STOW-RS request")
    parser.add_argument("--mode", choices=["embedded", "services"], default="embedded")
    parser.add_argument(
        "--database", metavar="URL", help="PostgreSQL server (admin URL) for the platform's scratch database"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="fresh series ingested into each server, in turn"
    )
    parser.add_argument("--ingest-only", action="store_true", help="skip the preview measurements")
    args = parser.parse_args()

    print(f"generating {args.rounds} x {args.slices}-slice 512x512 CT series ...", file=sys.stderr)
    rounds = [
        ct_series(n_slices=args.slices, rows=512, cols=512, seed=2026 + n, patient_name="基准^测试")
        for n in range(args.rounds)
    ]
    megabytes = sum(map(len, rounds[0])) / 1e6

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, ExitStack() as stack:
        orthanc_dir, platform_dir = Path(tmp, "orthanc"), Path(tmp, "platform")
        orthanc_dir.mkdir()
        platform_dir.mkdir()
        orthanc_url = stack.enter_context(orthanc(orthanc_dir))
        platform_url, auth, preview_delays = stack.enter_context(
            platform(platform_dir, args.mode, args.database)
        )

        orthanc_rates, platform_rates = [], []
        for n, series in enumerate(rounds, 1):
            orthanc_rates.append(stow(f"{orthanc_url}/dicom-web/studies", {}, series, args.batch))
            platform_rates.append(stow(f"{platform_url}/dicomweb/studies", auth, series, args.batch))
            print(
                f"round {n}: platform {platform_rates[-1]:.1f}/s, Orthanc {orthanc_rates[-1]:.1f}/s, "
                f"ratio {platform_rates[-1] / orthanc_rates[-1]:.2f}",
                file=sys.stderr,
            )
        if not args.ingest_only:
            previews = _previews(orthanc_url, platform_url, auth, preview_delays, sum(map(len, rounds)))

    platform_rate, orthanc_rate = statistics.median(platform_rates), statistics.median(orthanc_rates)
    database = "PostgreSQL" if args.database or args.mode == "services" else "SQLite"
    print(
        f"\nCT series: {args.slices} slices, 512x512x16 bit, {megabytes:.0f} MB; STOW batches of {args.batch}; "
        f"mode {args.mode}, platform index on {database}; median of {args.rounds} round(s)"
    )
    print(f"{'':32}{'platform':>12}{'Orthanc':>12}{'ratio':>10}")
    print(
        f"{'STOW-RS ingest (instances/s)':32}{platform_rate:12.1f}{orthanc_rate:12.1f}{platform_rate / orthanc_rate:10.2f}"
    )
    if args.ingest_only:
        return
    platform_ms, orthanc_ms, delays = previews
    for label, q in (("preview median (ms)", 0.5), ("preview p95 (ms)", 0.95)):
        ours, theirs = percentile(platform_ms, q), percentile(orthanc_ms, q)
        print(f"{label:32}{ours:12.1f}{theirs:12.1f}{theirs / ours:10.2f}  (Orthanc time / platform time)")
    print(
        f"upload committed → previews ready: p50 {statistics.median(delays):.2f} s, "
        f"p95 {percentile(delays, 0.95):.2f} s, max {max(delays):.2f} s"
    )


def _previews(
    orthanc_url: str,
    platform_url: str,
    auth: dict[str, str],
    preview_delays: Callable[[], list[float]],
    instances: int,
) -> tuple[list[float], list[float], list[float]]:
    """Preview latencies of the first series on each server (ms), and the platform's preview lag (s)."""
    orthanc_study = httpx.get(f"{orthanc_url}/studies").json()[0]
    orthanc_ids = httpx.get(f"{orthanc_url}/studies/{orthanc_study}/instances").json()
    orthanc_ms = timed_gets([f"{orthanc_url}/instances/{i['ID']}/preview" for i in orthanc_ids], {})

    wait_until(lambda: len(preview_delays()) == instances, timeout=600)
    delays = preview_delays()
    study = httpx.get(f"{platform_url}/dicomweb/studies", headers=auth).json()[0]["0020000D"]["Value"][0]
    series_uid = httpx.get(f"{platform_url}/dicomweb/studies/{study}/series", headers=auth).json()[0]
    series_uid = series_uid["0020000E"]["Value"][0]
    base = f"{platform_url}/dicomweb/studies/{study}/series/{series_uid}"
    sops = [i["00080018"]["Value"][0] for i in httpx.get(f"{base}/instances", headers=auth).json()]
    platform_ms = timed_gets([f"{base}/instances/{sop}/rendered" for sop in sops], auth)
    return platform_ms, orthanc_ms, delays


if __name__ == "__main__":
    main()
