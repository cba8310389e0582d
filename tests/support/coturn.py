"""A real coturn (`turnserver`, Debian) on free loopback ports, with REST-API (shared secret) auth.

coturn refuses to relay to loopback peers (and then relayed media fails silently: the relay
candidate is allocated, checks never succeed). Both peers' relay addresses are 127.0.0.1 here, so
`--allow-loopback-peers` and `--allowed-peer-ip=127.0.0.1` are both needed; never in production.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from signaling.ice import turn_credential
from tests.support.services import free_port

__all__ = ["Turn", "coturn", "turn_credential"]


@dataclass(frozen=True)
class Turn:
    port: int
    secret: str

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def ice_server(self, user: str, ttl_seconds: int = 600) -> dict[str, object]:
        """An RTCIceServer dict with credentials signed the way the signalling server signs them."""
        username = f"{int(time.time()) + ttl_seconds}:{user}"
        return {
            "urls": [self.url],
            "username": username,
            "credential": turn_credential(self.secret, username),
        }


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """coturn also listens on TCP on its port; a TCP connect is a cheap readiness probe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited with {process.returncode} (see its log)")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"turnserver did not listen on {port} within {timeout} s")


@contextmanager
def coturn(workdir: Path) -> Iterator[Turn]:
    """Run turnserver for the block; its log is `workdir/turnserver.log`."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn's `turnserver` is required (apt-get install -y coturn)", pytrace=False)
    port, secret = free_port(), secrets.token_hex(16)
    relay_low = 49152 + secrets.randbelow(10000)
    args = [
        binary, "-n", f"--listening-port={port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        "--allowed-peer-ip=127.0.0.1", "--allow-loopback-peers", f"--min-port={relay_low}", f"--max-port={relay_low + 200}",
        "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=telemed", "--fingerprint",
        "--no-cli", "--no-tls", "--no-dtls", "--log-file=stdout", "--simple-log",
        f"--userdb={workdir / 'turndb'}", f"--pidfile={workdir / 'turnserver.pid'}",
    ]  # fmt: skip
    with open(workdir / "turnserver.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_listening(port, process)
            yield Turn(port, secret)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
