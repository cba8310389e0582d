"""`telemed upload`: send DICOM files from a clinic PC to the platform over tus, resuming after any drop.

Each file is hashed (SHA-256, declared at creation so the server can check the whole file), then sent in
chunks, each with its own `Upload-Checksum`, by the tuspy client. Its upload URL is kept in a local
state file as soon as the upload is created, so running the same command again after an interruption
(network, power, Ctrl-C) asks the server how far each file got and sends only the rest; a file that
already finished sends nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.fingerprint.interface import Fingerprint
from tusclient.request import TusRequest, catch_requests_error
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader

DICM_OFFSET = 128
DEFAULT_CHUNK_SIZE = 1 << 20
DEFAULT_STATE = Path.home() / ".telemed" / "upload-state.json"
# (connect, read) seconds: a link that goes silent is dropped and the chunk retried, never waited on forever.
TIMEOUT = (15, 120)
# Answers that no retry can change: stop at once instead of retrying.
FINAL_STATUSES = frozenset({400, 401, 403, 404, 410, 412, 413, 415})
GOOD_RESULTS = frozenset({"stored", "duplicate", "conflict"})


class UploadError(Exception):
    """The upload of one file could not be done; the message says why, for the summary."""


@dataclass
class FileOutcome:
    path: Path
    result: str  # stored | duplicate | conflict | invalid | failed | error | skipped
    detail: str = ""
    size: int = 0
    sent: int = 0  # bytes sent in this run (a retried chunk counts again)
    resumed_at: int = 0  # bytes the server already had when this run took the file up

    def line(self) -> str:
        text = f"{self.result:<10} {self.path}"
        if self.detail:
            text += f": {self.detail}"
        if self.result != "skipped":
            text += f" (sent {self.sent} of {self.size} bytes"
            text += f", resumed at byte {self.resumed_at})" if self.resumed_at else ")"
        return text


# -- finding files ---------------------------------------------------------------------------------


def is_dicom(path: Path) -> bool:
    """A DICOM Part 10 file: the 'DICM' marker after the 128-byte preamble."""
    try:
        with path.open("rb") as stream:
            head = stream.read(DICM_OFFSET + 4)
    except OSError:
        return False
    return head[DICM_OFFSET:] == b"DICM"


def _walk(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(folder) / name
        else:
            yield path


def collect(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """The DICOM files under `paths` (folders recursed), and a note for each other path."""
    found, skipped, seen = [], [], set()
    for path in _walk(paths):
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        if not path.is_file():
            skipped.append(FileOutcome(path, "skipped", "no such file"))
        elif not is_dicom(path):
            skipped.append(FileOutcome(path, "skipped", "not a DICOM file (no DICM marker at byte 128)"))
        else:
            found.append(path)
    return found, skipped


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# -- tuspy, adapted --------------------------------------------------------------------------------


class _FixedFingerprint(Fingerprint):
    """The key of a file's upload URL in the state file: server, user, case and the file's SHA-256."""

    def __init__(self, key: str) -> None:
        self.key = key

    def get_fingerprint(self, fs: Any) -> str:
        return self.key


class _TimedRequest(TusRequest):
    """tuspy's PATCH, with a timeout, and the file closed afterwards."""

    def perform(self) -> None:
        try:
            with self.file:
                chunk = self.file.read(self._content_length)
            self.add_checksum(chunk)
            response = requests.patch(
                self._url,
                data=chunk,
                headers=self._request_headers,
                verify=self.verify_tls_cert,
                cert=self.client_cert,
                timeout=TIMEOUT,
            )
            self.status_code = response.status_code
            self.response_content = response.content
            self.response_headers = {k.lower(): v for k, v in response.headers.items()}
        except requests.exceptions.RequestException as error:
            raise TusUploadFailed(error) from error


class _Uploader(Uploader):
    """SHA-256 chunk checksums (the server's preferred algorithm), counted bytes, no futile retries."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)
    # tuspy's BaseUploader sets both to None in __init__ without an annotation, so mypy types them as None.
    url: str | None  # type: ignore[assignment]  # tuspy infers None alone; set_url stores the str
    request: _TimedRequest | None  # type: ignore[assignment]  # tuspy infers None alone; _do_request sets it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.bytes_sent = 0
        super().__init__(*args, **kwargs)

    @catch_requests_error
    def get_offset(self) -> int:
        assert self.url is not None, "tuspy asks for the offset of a created upload only"
        response = requests.head(
            self.url,
            headers=self.get_headers(),
            verify=self.verify_tls_cert,
            cert=self.client_cert,
            timeout=TIMEOUT,
        )
        offset = response.headers.get("upload-offset")
        if offset is None:
            raise TusCommunicationError(
                f"asking for the offset failed with status {response.status_code}",
                response.status_code,
                response.content,
            )
        return int(offset)

    def _do_request(self) -> None:
        self.bytes_sent += self.get_request_length()
        self.request = _TimedRequest(self)
        try:
            self.request.perform()
            if not 200 <= self.request.status_code < 300:
                raise TusUploadFailed("", self.request.status_code, self.request.response_content)
        except TusUploadFailed as error:
            self._retry_or_cry(error)

    def _retry_or_cry(self, error: Exception) -> None:
        status = getattr(error, "status_code", None)
        assert self.request is not None, "only a request that was sent fails"
        failed_whole = (
            status == 460 and (self.request.response_headers or {}).get("upload-result") == "failed"
        )
        if status in FINAL_STATUSES or failed_whole:
            raise error
        super()._retry_or_cry(error)


def _server_detail(error: TusCommunicationError) -> str:
    content = error.response_content or b""
    try:
        return str(json.loads(content)["detail"])
    except (ValueError, KeyError, TypeError):
        return str(error) or f"status {error.status_code}"


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Session:
    server: str
    username: str
    token: str
    case_id: int | None
    state: FileStorage
    chunk_size: int = DEFAULT_CHUNK_SIZE
    retries: int = 10
    retry_delay: float = 5

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def upload_info(self, url: str) -> dict[str, Any]:
        response = requests.get(url, headers=self.headers, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()


def login(server: str, username: str, password: str) -> str:
    """A Bearer token for `username`; raises `UploadError` with the server's reason."""
    try:
        response = requests.post(
            f"{server}/api/auth/login",
            json={"username": username, "password": password, "bearer": True},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise UploadError(f"cannot reach {server}: {exc}") from exc
    if response.status_code != 200:
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError):
            detail = f"status {response.status_code}"
        raise UploadError(f"login failed: {detail}")
    return response.json()["token"]


def _make_uploader(session: Session, path: Path, size: int, digest: str) -> _Uploader:
    key = f"{session.server}|{session.username}|case={session.case_id or ''}|sha256={digest}|size={size}"
    metadata = {"filename": path.name, "filetype": "application/dicom", "sha256": digest}
    if session.case_id is not None:
        metadata["case_id"] = str(session.case_id)

    def make() -> _Uploader:
        return _Uploader(
            file_path=str(path),
            client=TusClient(f"{session.server}/api/uploads", headers=session.headers),
            chunk_size=session.chunk_size,
            metadata=metadata,
            retries=session.retries,
            retry_delay=session.retry_delay,
            store_url=True,
            url_storage=session.state,
            fingerprinter=_FixedFingerprint(key),
            upload_checksum=True,
        )

    try:
        return make()
    except TusCommunicationError as error:
        if error.status_code not in (404, 410):
            raise
        session.state.remove_item(key)  # that upload is gone (expired, failed, terminated): start anew
        return make()


def upload_file(session: Session, path: Path, progress: Callable[[int], None]) -> FileOutcome:
    """Send one file (or what the server still lacks of it) and report what the server made of it."""
    size = path.stat().st_size
    digest = sha256_of(path)
    outcome = FileOutcome(path, "error", size=size)
    uploader: _Uploader | None = None
    try:
        uploader = _make_uploader(session, path, size, digest)
        url = uploader.url
        if url is None:
            url = uploader.create_url()
            uploader.set_url(url)  # kept in the state file at once
            uploader.offset = 0
        outcome.resumed_at = uploader.offset
        progress(uploader.offset)
        while uploader.offset < size:
            before = uploader.offset
            try:
                uploader.upload_chunk()
            finally:
                outcome.sent = uploader.bytes_sent
            progress(uploader.offset - before)
        info = session.upload_info(url)
        if info["state"] == "receiving" and info["offset"] == size:
            # Every byte arrived but the server's last step was interrupted: an empty PATCH finishes it.
            uploader.upload_chunk()
            info = session.upload_info(url)
    except TusCommunicationError as error:
        outcome.detail = _server_detail(error)
        if uploader is not None and uploader.url:
            try:
                info = session.upload_info(uploader.url)
            except requests.RequestException:
                return outcome
            if info["state"] == "failed":
                outcome.result, outcome.detail = "failed", info["detail"]
        return outcome
    except (requests.RequestException, OSError) as error:
        outcome.detail = str(error)
        return outcome
    if info["state"] == "completed":
        outcome.result, outcome.detail = info["result"], info["detail"] or ""
        if outcome.sent == 0 and outcome.resumed_at == size:
            outcome.detail = f"uploaded by an earlier run ({outcome.detail}); nothing sent"
    else:
        outcome.result, outcome.detail = info["state"], info["detail"] or ""
    return outcome


def upload_paths(
    session: Session, paths: Iterable[Path], *, progress: bool = True, out: Any = sys.stdout
) -> list[FileOutcome]:
    files, skipped = collect(paths)
    for note in skipped:
        tqdm.write(note.line(), file=out)
    outcomes = list(skipped)
    total = sum(path.stat().st_size for path in files)
    disable = None if progress else True  # None: bars only on a terminal
    with tqdm(
        total=total, unit="B", unit_scale=True, desc="all files", position=0, disable=disable
    ) as overall:
        for path in files:
            size = path.stat().st_size
            with tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc=path.name[:30],
                position=1,
                leave=False,
                disable=disable,
            ) as bar:

                def advance(n: int, bar: tqdm = bar) -> None:
                    bar.update(n)
                    overall.update(n)

                outcome = upload_file(session, path, advance)
            outcomes.append(outcome)
            tqdm.write(outcome.line(), file=out)
    return outcomes


def summary(outcomes: list[FileOutcome]) -> str:
    counts = Counter(o.result for o in outcomes if o.result != "skipped")
    sent = sum(o.sent for o in outcomes)
    skipped = sum(1 for o in outcomes if o.result == "skipped")
    parts = ", ".join(f"{n} {result}" for result, n in sorted(counts.items())) or "nothing to upload"
    return f"{sum(counts.values())} DICOM files: {parts}; {skipped} skipped; {sent} bytes sent"


def run(
    *,
    server: str,
    username: str,
    password: str,
    paths: list[Path],
    case_id: int | None = None,
    state_path: Path = DEFAULT_STATE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    retries: int = 10,
    retry_delay: float = 5,
    progress: bool = True,
    out: Any = sys.stdout,
) -> int:
    """Upload every DICOM file under `paths`; 0 if all were stored (or already were), else 1; 2 if none could start."""
    server = server.rstrip("/")
    try:
        token = login(server, username, password)
    except UploadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state = FileStorage(str(state_path))
    try:
        session = Session(server, username, token, case_id, state, chunk_size, retries, retry_delay)
        outcomes = upload_paths(session, paths, progress=progress, out=out)
    finally:
        state.close()
    print(summary(outcomes), file=out)
    return 0 if all(o.result in GOOD_RESULTS or o.result == "skipped" for o in outcomes) else 1
