"""`telemed dimse` as its own process, and dcmtk's storescu sending files to it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server.core.config import Settings
from tests.support.services import free_port, running, telemed_command


@dataclass(frozen=True)
class Scp:
    port: int
    log: Path
    queue: Path


@contextmanager
def dimse_process(settings: Settings, peers: str, folder: Path, **env: str) -> Iterator[Scp]:
    """`telemed dimse` as its own process, on the test database and filesystem store, once it listens.

    Its task queue is a filesystem queue of its own in `folder`, with no worker, to see what it asks for.
    """
    port, log = free_port(), folder / "dimse.log"
    env = {
        "TELEMED_DATA_DIR": str(folder),
        "TELEMED_STORAGE_ROOT": str(settings.storage_root),
        "TELEMED_DATABASE_URL": settings.database_url,
        "TELEMED_SECRET_KEY": settings.secret_key,
        "TELEMED_DIMSE_PORT": str(port),
        "TELEMED_DIMSE_PEERS": peers,
        **env,
    }
    with running(telemed_command("dimse"), env, log=log) as process:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"telemed dimse exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"telemed dimse is not listening:\n{log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield Scp(port, log, folder / "broker" / "queue")
        assert process.poll() is None, f"telemed dimse stopped:\n{log.read_text()}"


def storescu(scp: Scp, *files: Path, propose: str | None = None) -> subprocess.CompletedProcess[str]:
    """One association for all `files`; with `propose`, only for their SOP classes (`-R`)."""
    options = ["-R", propose] if propose else []
    return subprocess.run(
        ["storescu", "-v", *options, "-aec", "TELEMED", "-aet", "VILLAGE_DR", "127.0.0.1", str(scp.port)]
        + [str(path) for path in files],
        capture_output=True,
        text=True,
        timeout=30,
    )


def write_files(folder: Path, instances: list[bytes]) -> list[Path]:
    paths = [folder / f"{index}.dcm" for index in range(len(instances))]
    for path, data in zip(paths, instances, strict=True):
        path.write_bytes(data)
    return paths
