"""A real S3-protocol server for tests: `moto_server` in its own process.

A separate process (not moto's in-process threaded server) so a test can stop it the way a real
outage happens, and so the client under test talks plain HTTP to a socket like it would in production.
Buckets live in the server's memory: they are gone after `stop()`.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType

from server.core.config import S3Settings

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
START_TIMEOUT = 30.0


def free_port() -> int:
    """A 127.0.0.1 TCP port nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers_http(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def _shutdown(process: subprocess.Popen[bytes], log_path: Path) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log_path.unlink(missing_ok=True)


class S3Server:
    """`moto_server` on a free 127.0.0.1 port; restarting reuses the port so clients reconnect."""

    access_key = "testing"
    secret_key = "testing"

    def __init__(self) -> None:
        if not MOTO_SERVER.exists():
            raise RuntimeError(
                f"{MOTO_SERVER} not found: install the S3 test server into this environment with "
                "`pip install 'moto[server]'` (or `pip install -e '.[test]'`)"
            )
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> S3Server:
        if self.running:
            return self
        fd, log_name = tempfile.mkstemp(prefix="moto-server-", suffix=".log")  # a file: moto logs a lot
        self._log_path = Path(log_name)
        try:
            self._process = subprocess.Popen(
                [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
            )
        finally:
            os.close(fd)
        # Stops the server and removes its log even if a test never calls stop() or exits early.
        self._finalizer = weakref.finalize(self, _shutdown, self._process, self._log_path)
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_http(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                message = f"moto_server did not start on port {self.port}:\n{self.log()}"
                self.stop()
                raise RuntimeError(message)
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """Terminate the server and wait for it, like an outage; start() brings it back, empty."""
        if self._finalizer is not None:
            self._finalizer()  # runs _shutdown at most once
            self._finalizer = None
        self._process = None

    def log(self) -> str:
        """The tail of the running server's output, for failure messages."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_bytes().decode(errors="replace")[-4000:]

    def s3_settings(self, bucket: str) -> S3Settings:
        return S3Settings(
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            bucket=bucket,
            secure=False,
            region="us-east-1",
        )

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
