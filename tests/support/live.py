"""A running platform (API server and a worker as real processes) for browser and end-to-end tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from server.core.config import Settings
from tests.support.services import free_port, process_env, running, telemed_command


@dataclass(frozen=True)
class LivePlatform:
    url: str
    password: str
    settings: Settings

    def bearer(self, username: str) -> dict[str, str]:
        response = httpx.post(
            f"{self.url}/api/auth/login",
            json={"username": username, "password": self.password, "bearer": True},
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def stow(self, username: str, instances: list[bytes], case_id: int | None = None) -> httpx.Response:
        boundary = uuid.uuid4().hex
        body = (
            b"".join(
                f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n"
                for part in instances
            )
            + f"--{boundary}--\r\n".encode()
        )
        content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
        return httpx.post(
            f"{self.url}/dicomweb/studies",
            params={"case": case_id} if case_id else None,
            content=body,
            headers={**self.bearer(username), "Content-Type": content_type},
            timeout=120,
        )

    def wait_for_thumbnail(self, username: str, study_uid: str, series_uid: str, timeout: float = 60) -> None:
        url = f"{self.url}/dicomweb/studies/{study_uid}/series/{series_uid}/thumbnail"
        headers = self.bearer(username)
        deadline = time.monotonic() + timeout
        while httpx.get(url, headers=headers).status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no thumbnail for series {series_uid} after {timeout} s")
            time.sleep(0.3)


@contextmanager
def live_platform(
    settings: Settings, password: str, logs: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[LivePlatform]:
    """`extra_env` adds to the processes' environment (e.g. where the signalling server listens)."""
    port = free_port()
    env = {**process_env(settings), **(extra_env or {}), "TELEMED_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        stack.enter_context(
            running(telemed_command("worker", "--concurrency", "2"), env, log=logs / "worker.log")
        )
        stack.enter_context(
            running(telemed_command("serve"), env, ready_url=f"{url}/healthz", log=logs / "server.log")
        )
        yield LivePlatform(url=url, password=password, settings=settings)
