"""`telemed` command: start the platform, its parts, migrations and administration."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from server.core.config import ConfigError, Settings, load_settings


def _session(settings: Settings):
    from server.core.db import make_engine, make_session_factory, transaction

    return transaction(make_session_factory(make_engine(settings.database_url)))


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """Bring the database schema up to date and create the object store's root or bucket if missing."""
    from server.core.migrate import upgrade
    from server.storage import open_store

    upgrade(settings.database_url)
    open_store(settings).ensure_ready()
    print("database schema is up to date; object store is ready")
    return 0


def _demo_password(settings: Settings) -> str:
    """The demo users' password: TELEMED_DEMO_PASSWORD, or one made for this install and kept in the data dir."""
    if os.environ.get("TELEMED_DEMO_PASSWORD"):
        return os.environ["TELEMED_DEMO_PASSWORD"]
    path = settings.data_dir / "demo-password"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def cmd_demo(settings: Settings, _args: argparse.Namespace) -> int:
    """Load the demo community with its last weeks of work (once; an existing one is left as it is)."""
    from server.tools.demo.community import load_demo

    password = _demo_password(settings)
    with _session(settings) as db:
        created = load_demo(db, password, history=True)
    print("demo medical community loaded" if created else "demo medical community already present")
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from server.auth.passwords import WeakPassword, hash_password
    from server.community.models import Institution, Role, User

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    try:
        password_hash = hash_password(password)
    except WeakPassword as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with _session(settings) as db:
        institution = db.get(Institution, args.institution_id)
        if institution is None:
            print(f"error: no institution with id {args.institution_id}", file=sys.stderr)
            return 2
        if db.scalar(select(User.id).where(User.username == args.username)) is not None:
            print(f"error: user {args.username!r} already exists", file=sys.stderr)
            return 2
        db.add(
            User(
                username=args.username,
                display_name=args.display_name or args.username,
                password_hash=password_hash,
                role=Role.ADMIN,
                institution=institution,
            )
        )
    print(f"administrator {args.username!r} created for {institution.name}")
    return 0


def cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "server.api.app:create_app", factory=True, host=settings.host, port=settings.port, proxy_headers=True
    )
    return 0


def cmd_signaling(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "signaling.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.signaling_port,
        proxy_headers=True,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if args.nice:
        os.nice(args.nice)  # background rendering yields the CPU to uploads and readers on a shared machine
    concurrency = str(args.concurrency or settings.worker_concurrency)
    # The urgent queue first: kombu takes from the listed queues in turn, so an urgent task waits for
    # at most the tasks already running, never for the backlog behind them.
    queues = [settings.urgent_queue] if args.urgent_only else [settings.urgent_queue, settings.task_queue]
    argv = ["worker", "--loglevel", args.loglevel, "--concurrency", concurrency, "--queues", ",".join(queues)]
    if args.beat:
        # The periodic sweeps in the same process: right for one embedded machine, while a deployment
        # with several workers runs exactly one `celery -A worker.app beat` instead.
        argv += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    # The worker is its own program (server/ never imports worker/): this process becomes it.
    os.execv(sys.executable, [sys.executable, "-m", "celery", "-A", "worker.app", *argv])


def cmd_dimse(settings: Settings, _args: argparse.Namespace) -> int:
    import logging

    from server.dimse.scp import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # it logs every association at INFO
    try:
        return serve(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


def cmd_upload(_settings: Settings | None, args: argparse.Namespace) -> int:
    """Upload DICOM files from this PC to a platform server, resuming what an earlier run left unfinished."""
    from server.tools.uploader import run

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
    return run(
        server=args.server,
        username=args.username,
        password=password,
        paths=args.paths,
        case_id=args.case,
        state_path=args.state,
        chunk_size=args.chunk_size,
        retries=args.retries,
        retry_delay=args.retry_delay,
        progress=not args.no_progress,
    )


def _print_banner(settings: Settings) -> None:
    from server.tools.demo.community import demo_logins

    url = f"http://{settings.host}:{settings.port}/"
    password = _demo_password(settings)
    print("\n县域远程诊断平台 / County telemedicine platform is running (embedded mode)")
    print(f"  open      {url}")
    print(f"  data      {settings.data_dir}")
    peers = "" if settings.dimse_peers else " (no modality allowed yet: set TELEMED_DIMSE_PEERS)"
    print(f"  DICOM     C-STORE to {settings.dimse_ae_title}@{settings.host}:{settings.dimse_port}{peers}")
    print(f"  demo logins (password for all: {password})")
    for login in demo_logins():
        print(f"    {login.username:<12} {login.role.value:<11} {login.display_name} · {login.institution}")
    print("  stop with Ctrl-C\n", flush=True)


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Everything on the embedded default: migrate, load the demo, run worker (with beat), signalling, C-STORE SCP and API."""
    cmd_migrate(settings, args)
    cmd_demo(settings, args)
    me = [sys.executable, "-m", "server.tools.cli"]
    children = [
        subprocess.Popen([*me, "worker", "--loglevel", "warning", "--nice", "10", "--beat"]),
        subprocess.Popen([*me, "signaling"]),
        subprocess.Popen([*me, "dimse"]),
        subprocess.Popen([*me, "serve"]),
    ]

    def stop(*_signal_args: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        _wait_until_serving(settings, children)
        _print_banner(settings)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a platform process stopped; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        for child in children:
            child.wait(timeout=20)


def _wait_until_serving(
    settings: Settings, children: list[subprocess.Popen[bytes]], timeout: float = 60
) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    url = f"http://{settings.host}:{settings.port}/healthz"
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise SystemExit("a platform process failed to start; see the messages above")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the API did not answer on {url} within {timeout:.0f} s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telemed", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole platform on the embedded default").set_defaults(func=cmd_up)
    sub.add_parser("serve", help="run the API server").set_defaults(func=cmd_serve)
    sub.add_parser("signaling", help="run the WebRTC signalling server").set_defaults(func=cmd_signaling)
    sub.add_parser("dimse", help="run the DICOM C-STORE SCP for modalities").set_defaults(func=cmd_dimse)
    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int)
    worker.add_argument("--loglevel", default="info")
    worker.add_argument("--nice", type=int, default=0, help="lower the worker's CPU priority by this much")
    worker.add_argument(
        "--beat", action="store_true", help="also run the periodic tasks (one per deployment)"
    )
    worker.add_argument(
        "--urgent-only",
        action="store_true",
        help="take only urgent cases' tasks (a worker kept free for them)",
    )
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations, create the object store bucket").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("demo", help="load the demo medical community").set_defaults(func=cmd_demo)
    admin = sub.add_parser("create-admin", help="create a community administrator")
    admin.add_argument("--username", required=True)
    admin.add_argument("--institution-id", type=int, required=True, help="the community's lead institution")
    admin.add_argument("--display-name")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=cmd_create_admin)
    upload = sub.add_parser(
        "upload",
        help="upload DICOM files or folders to a platform server (resumable)",
        description="Upload DICOM files (folders are searched) over tus; re-running resumes an interrupted run.",
    )
    upload.add_argument(
        "--server", required=True, help="the platform's address, e.g. https://pacs.example.cn"
    )
    upload.add_argument("--username", required=True)
    upload.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    upload.add_argument("--case", type=int, help="attach the images to this case of your institution")
    upload.add_argument(
        "--state",
        type=Path,
        default=Path.home() / ".telemed" / "upload-state.json",
        help="where unfinished uploads are remembered (default: %(default)s)",
    )
    upload.add_argument("--chunk-size", type=int, default=1 << 20, help="bytes per request (default: 1 MiB)")
    upload.add_argument("--retries", type=int, default=10, help="retries of a failed chunk (default: 10)")
    upload.add_argument("--retry-delay", type=float, default=5, help="seconds between retries (default: 5)")
    upload.add_argument("--no-progress", action="store_true", help="no progress bars")
    upload.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    # A client command: no server settings, nothing written to a data directory on the clinic PC.
    upload.set_defaults(func=cmd_upload, client_only=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "client_only", False):
        return args.func(None, args)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return args.func(settings, args)


if __name__ == "__main__":
    sys.exit(main())
