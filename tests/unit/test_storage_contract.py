"""One behavioural contract for every object-store back-end: filesystem and S3 (moto_server).

Each test runs against both back-ends, built through `open_store(load_settings(...))` as the
platform builds them, so the two cannot drift apart without a test noticing.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from minio import Minio

from server.core.config import load_settings
from server.storage import (
    ChecksumMismatch,
    FilesystemStore,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    S3Store,
    StorageError,
    StorageUnavailable,
    open_store,
)
from tests.support.s3server import S3Server, free_port

MiB = 1 << 20
# Over 20 MB and not a multiple of any chunk or part size. Large enough that the S3 back-end's bound
# (two 8 MiB parts: minio reads the next part before letting go of the last) is under half of it.
BIG_SIZE = 40 * MiB + 12_345
_PATTERN_PERIOD = 65_521  # prime, so the pattern never lines up with chunk or part boundaries
_PATTERN = random.Random(20240611).randbytes(_PATTERN_PERIOD) * 2


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TrickleStream:
    """A deterministic, non-seekable upload of `size` bytes that hands out at most 32 KiB per read.

    It cannot tell its length, cannot rewind, and refuses an unbounded read(), so a store that
    tried to take the whole body into memory at once fails loudly.
    """

    def __init__(self, size: int, piece: int = 32 * 1024) -> None:
        self._offset = 0
        self._size = size
        self._piece = piece

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            raise AssertionError("the store read the whole upload in one call")
        n = min(n, self._piece, self._size - self._offset)
        start = self._offset % _PATTERN_PERIOD
        self._offset += n
        return _PATTERN[start : start + n]


def trickle(size: int) -> BinaryIO:
    """A TrickleStream as the stores' `data: BinaryIO` parameter. It has only the part of BinaryIO a
    store may rely on for an upload (read, readable, seekable), which is the point of the double."""
    return cast(BinaryIO, TrickleStream(size))


def trickle_sha256(size: int) -> str:
    digest = hashlib.sha256()
    stream = TrickleStream(size)
    while chunk := stream.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def settings_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"TELEMED_DATA_DIR": str(tmp_path / "var"), "TELEMED_SECRET_KEY": "k" * 40, **extra}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


def make_store(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> ObjectStore:
    """A store as the platform would open it; S3 stores get a fresh bucket name per test."""
    if backend == "filesystem":
        env = settings_env(
            tmp_path, TELEMED_STORAGE="filesystem", TELEMED_STORAGE_ROOT=str(tmp_path / "store")
        )
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        env = settings_env(
            tmp_path,
            TELEMED_STORAGE="s3",
            TELEMED_S3_ENDPOINT=f"http://{server.endpoint}",
            TELEMED_S3_ACCESS_KEY=server.access_key,
            TELEMED_S3_SECRET_KEY=server.secret_key,
            TELEMED_S3_BUCKET=f"contract-{uuid.uuid4().hex[:16]}",
            TELEMED_S3_REGION="us-east-1",
        )
    return open_store(load_settings(env))


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    store = make_store(request, request.param, tmp_path)
    store.ensure_ready()
    return store


@pytest.fixture(params=["filesystem", "s3"])
def unready_store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Configured but never `ensure_ready()`-ed: no root directory, no bucket."""
    return make_store(request, request.param, tmp_path)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its contents (symlinks as their target), to prove nothing changed."""
    return {
        str(path.relative_to(folder)): (
            os.readlink(path).encode()
            if path.is_symlink()
            else path.read_bytes()
            if path.is_file()
            else b"<dir>"
        )
        for path in sorted(folder.rglob("*"))
    }


# -- basic behaviour -----------------------------------------------------------------------------


def test_factory_builds_the_configured_backend(store: ObjectStore, request: pytest.FixtureRequest) -> None:
    expected = FilesystemStore if request.node.callspec.params["store"] == "filesystem" else S3Store
    assert isinstance(store, expected)
    store.check()


def test_round_trip_and_stat(store: ObjectStore) -> None:
    body = b"%PDF-1.7 report for patient 42\n" * 100
    info = store.put("reports/2024/42.pdf", io.BytesIO(body), content_type="application/pdf")

    assert info.key == "reports/2024/42.pdf"
    assert info.size == len(body)
    assert info.content_type == "application/pdf"
    assert info.sha256 == sha256(body)
    assert store.stat("reports/2024/42.pdf") == info
    assert store.read_bytes("reports/2024/42.pdf") == body
    assert store.exists("reports/2024/42.pdf")
    with store.open("reports/2024/42.pdf") as stream:
        assert stream.read(8) == b"%PDF-1.7"
        assert stream.read() == body[8:]


def test_a_range_is_read_from_its_offset(store: ObjectStore) -> None:
    """What a seeking video player asks for: the bytes from an offset, to the end at most."""
    body = bytes(range(256)) * 40
    store.put("recordings/1/recording.mp4", io.BytesIO(body), content_type="video/mp4")
    with store.open_range("recordings/1/recording.mp4", 5000, 300) as stream:
        assert stream.read(300) == body[5000:5300]
    with store.open_range("recordings/1/recording.mp4", len(body) - 10, 300) as stream:
        assert stream.read(300) == body[-10:]
    with pytest.raises(ObjectNotFound), store.open_range("recordings/1/missing.mp4", 0, 10) as stream:
        stream.read(10)


def test_empty_object(store: ObjectStore) -> None:
    info = store.put("empty", io.BytesIO(b""))
    assert info.size == 0
    assert info.content_type == "application/octet-stream"
    assert store.stat("empty").sha256 == sha256(b"")
    assert store.read_bytes("empty") == b""
    assert list(store.iter_chunks("empty")) == []


def test_missing_object(store: ObjectStore) -> None:
    assert not store.exists("no/such/key")
    with pytest.raises(ObjectNotFound) as caught:
        store.stat("no/such/key")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "no object stored under key 'no/such/key'"
    with pytest.raises(ObjectNotFound):
        store.read_bytes("no/such/key")
    with pytest.raises(ObjectNotFound), store.open("no/such/key"):
        pass
    with pytest.raises(ObjectNotFound):
        list(store.iter_chunks("no/such/key"))


def test_delete_is_idempotent(store: ObjectStore) -> None:
    store.put("scans/a.dcm", io.BytesIO(b"dicom"))
    store.delete("scans/a.dcm")
    assert not store.exists("scans/a.dcm")
    assert list(store.list()) == []
    store.delete("scans/a.dcm")
    store.delete("never/existed")


def test_list_by_prefix_is_sorted(store: ObjectStore) -> None:
    keys = ["b", "a/c/d", "ab", "a.b", "a/b", "z/1", "a/c/e"]
    for key in keys:
        store.put(key, io.BytesIO(key.encode()))

    assert list(store.list()) == sorted(keys)
    assert list(store.list("a/")) == ["a/b", "a/c/d", "a/c/e"]
    assert list(store.list("a")) == ["a.b", "a/b", "a/c/d", "a/c/e", "ab"]
    assert list(store.list("a/c/")) == ["a/c/d", "a/c/e"]
    assert list(store.list("a/c/d")) == ["a/c/d"]
    assert list(store.list("nothing/")) == []


def test_overwrite_keeps_the_latest(store: ObjectStore) -> None:
    store.put(
        "notes/visit.txt", io.BytesIO(b"first draft, longer than the second"), content_type="text/plain"
    )
    store.put("notes/visit.txt", io.BytesIO(b"final"), content_type="text/markdown")

    assert store.read_bytes("notes/visit.txt") == b"final"
    info = store.stat("notes/visit.txt")
    assert (info.size, info.content_type, info.sha256) == (5, "text/markdown", sha256(b"final"))
    assert list(store.list()) == ["notes/visit.txt"]


def test_chinese_keys_round_trip(store: ObjectStore) -> None:
    key = "患者/张三/胸部CT 2024年6月.dcm"
    store.put(key, io.BytesIO("影像".encode()), content_type="application/dicom")

    assert store.read_bytes(key) == "影像".encode()
    assert store.stat(key).key == key
    assert list(store.list("患者/")) == [key]
    store.delete(key)
    assert not store.exists(key)


def test_length_limits_what_is_read(store: ObjectStore) -> None:
    stream = io.BytesIO(b"abcdefgh")
    info = store.put("partial", stream, length=3)
    assert info.size == 3
    assert store.read_bytes("partial") == b"abc"
    assert stream.read() == b"defgh"  # the rest of the stream is left to the caller


def test_stream_shorter_than_length_stores_nothing(store: ObjectStore) -> None:
    store.put("kept", io.BytesIO(b"good"))
    with pytest.raises(StorageError, match="ended after 2 bytes"):
        store.put("kept", trickle(2), length=5)
    with pytest.raises(StorageError):
        store.put("new", trickle(2), length=5)
    assert store.read_bytes("kept") == b"good"
    assert list(store.list()) == ["kept"]


# -- large objects -------------------------------------------------------------------------------


def test_large_object_is_streamed_in_and_out(store: ObjectStore, s3_server_for_etag: Minio | None) -> None:
    expected = trickle_sha256(BIG_SIZE)

    tracemalloc.start()
    try:
        info = store.put("big/series.bin", trickle(BIG_SIZE))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < BIG_SIZE / 2, f"put() peaked at {peak / MiB:.1f} MiB for a {BIG_SIZE / MiB:.1f} MiB object"
    assert (info.size, info.sha256) == (BIG_SIZE, expected)
    assert store.stat("big/series.bin").sha256 == expected

    digest, size, largest = hashlib.sha256(), 0, 0
    for chunk in store.iter_chunks("big/series.bin", chunk_size=MiB):
        digest.update(chunk)
        size += len(chunk)
        largest = max(largest, len(chunk))
    assert (size, digest.hexdigest()) == (BIG_SIZE, expected)
    assert largest <= MiB

    if s3_server_for_etag is not None:
        assert isinstance(store, S3Store)
        etag = s3_server_for_etag.stat_object(store.bucket, "big/series.bin").etag
        assert re.fullmatch(r"[0-9a-f]{32}-6", etag or ""), f"not a 6-part multipart ETag: {etag!r}"


@pytest.fixture
def s3_server_for_etag(store: ObjectStore, request: pytest.FixtureRequest) -> Minio | None:
    """A plain minio client on the test server, to look at what S3 really stored."""
    if not isinstance(store, S3Store):
        return None
    server: S3Server = request.getfixturevalue("s3_server")
    return Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)


# -- integrity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "non-seekable"])
def test_checksum_mismatch_stores_nothing(store: ObjectStore, seekable: bool) -> None:
    good = b"verified bytes"
    store.put("exam/1.dcm", io.BytesIO(good), content_type="application/dicom", expected_sha256=sha256(good))

    def upload() -> BinaryIO:
        return io.BytesIO(b"x" * 3000) if seekable else trickle(3000)

    with pytest.raises(ChecksumMismatch) as caught:
        store.put("exam/1.dcm", upload(), expected_sha256=sha256(good))
    assert caught.value.expected == sha256(good)
    with pytest.raises(ChecksumMismatch):
        store.put("exam/2.dcm", upload(), expected_sha256=sha256(good).upper())

    assert store.read_bytes("exam/1.dcm") == good
    info = store.stat("exam/1.dcm")
    assert (info.size, info.content_type, info.sha256) == (len(good), "application/dicom", sha256(good))
    assert not store.exists("exam/2.dcm")
    assert list(store.list()) == ["exam/1.dcm"]
    if isinstance(store, FilesystemStore):
        files = [path for path in store.root.rglob("*") if path.is_file()]
        assert len(files) == 2, files  # the object and its sidecar; no temporary file left over


def test_malformed_expected_sha256_is_refused_before_reading(store: ObjectStore) -> None:
    stream = io.BytesIO(b"data")
    with pytest.raises(ValueError, match="64 hex digits"):
        store.put("k", stream, expected_sha256="abc")
    assert stream.tell() == 0
    assert not store.exists("k")


# -- keys that must never reach the disk or the network -----------------------------------------

BAD_KEYS = {
    "parent": "../x",
    "climb": "a/../../x",
    "climb-out": "../../outside/planted",
    "absolute": "/etc/passwd",
    "double-slash": "a//b",
    "trailing-slash": "a/",
    "backslash": "a\\b",
    "windows-climb": "..\\x",
    "empty": "",
    "dot-segment": "a/./b",
    "dot": ".",
    "dotdot": "..",
    "nul": "a\x00b",
    "newline": "a\nb",
    "escape": "\x1b[31mred",
    "overlong": "k" * 1025,
}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_bad_keys_are_refused(store: ObjectStore, key: str, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    before = snapshot(tmp_path)
    # Never hand an absolute path to put(), even to check it is refused: as root a regression would
    # overwrite it. An absolute key inside the sandbox proves the same thing.
    put_key = str(tmp_path / "outside" / "abs") if key.startswith("/") else key

    with pytest.raises(InvalidKey) as caught:
        store.put(put_key, io.BytesIO(b"payload"))
    assert isinstance(caught.value, ValueError)
    for action in (
        store.stat,
        store.read_bytes,
        store.exists,
        store.delete,
        lambda k: list(store.iter_chunks(k)),
    ):
        with pytest.raises(InvalidKey):
            action(key)

    assert snapshot(tmp_path) == before
    assert list(store.list()) == []


@pytest.mark.parametrize("prefix", ["../", "/etc/", "a//", "a\\", "a/../b"])
def test_bad_prefixes_are_refused(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        list(store.list(prefix))


def test_key_length_limit_counts_utf8_bytes(store: ObjectStore) -> None:
    longest = "/".join(["患" * 80] * 4) + "/" + "x" * 60  # 4 × 240 + 4 + 60 = 1024 bytes
    assert len(longest.encode()) == 1024
    store.put(longest, io.BytesIO(b"ok"))
    assert store.read_bytes(longest) == b"ok"
    with pytest.raises(InvalidKey):
        store.put(longest + "x", io.BytesIO(b"too long"))


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not yours")
    store = FilesystemStore(tmp_path / "store")
    store.ensure_ready()
    (store.data_dir / "link").symlink_to(outside, target_is_directory=True)
    (store.data_dir / "file-link").symlink_to(outside / "secret.txt")
    before = snapshot(tmp_path)

    for key in ("link/planted", "link/secret.txt", "file-link"):
        with pytest.raises(InvalidKey, match="outside the storage root"):
            store.put(key, io.BytesIO(b"payload"))
        with pytest.raises(InvalidKey):
            store.read_bytes(key)
        with pytest.raises(InvalidKey):
            store.delete(key)
    with pytest.raises(InvalidKey):
        list(store.list("link/"))

    assert snapshot(tmp_path) == before
    assert list(store.list()) == []  # symlinks are neither followed nor listed


def test_key_that_is_also_a_folder_is_refused_on_the_filesystem(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    store.ensure_ready()
    store.put("a/b", io.BytesIO(b"1"))
    with pytest.raises(StorageError, match="clashes"):
        store.put("a", io.BytesIO(b"2"))
    assert list(store.list()) == ["a/b"]
    store.delete("a/b")
    store.put("a", io.BytesIO(b"2"))  # the emptied folder was pruned
    assert list(store.list()) == ["a"]


# -- readiness -----------------------------------------------------------------------------------


def test_unready_store_reports_unavailable_until_ensure_ready(unready_store: ObjectStore) -> None:
    with pytest.raises(StorageUnavailable, match=r"ensure_ready\(\)"):
        unready_store.check()
    with pytest.raises(StorageUnavailable):
        unready_store.put("k", io.BytesIO(b"v"))

    unready_store.ensure_ready()
    unready_store.check()
    unready_store.ensure_ready()  # idempotent
    unready_store.put("k", io.BytesIO(b"v"))
    assert unready_store.read_bytes("k") == b"v"


def test_filesystem_root_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")  # a file where a parent folder should be: fails even for root
    env = settings_env(tmp_path, TELEMED_STORAGE_ROOT=str(blocker / "store"))
    store = open_store(load_settings(env))

    with pytest.raises(StorageUnavailable, match="cannot create storage root"):
        store.ensure_ready()
    with pytest.raises(StorageUnavailable, match="missing"):
        store.check()


def test_s3_endpoint_with_nothing_listening(tmp_path: Path) -> None:
    env = settings_env(
        tmp_path,
        TELEMED_STORAGE="s3",
        TELEMED_S3_ENDPOINT=f"127.0.0.1:{free_port()}",
        TELEMED_S3_ACCESS_KEY="testing",
        TELEMED_S3_SECRET_KEY="testing",
    )
    store = open_store(load_settings(env))

    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="unreachable"):
        store.check()
    with pytest.raises(StorageUnavailable):
        store.ensure_ready()
    with pytest.raises(StorageUnavailable):
        store.put("k", io.BytesIO(b"v"))
    assert time.monotonic() - started < 10


def test_s3_outage_is_reported_and_recovers(tmp_path: Path) -> None:
    """A server of its own, so stopping it does not disturb the other tests."""
    with S3Server() as server:
        store = S3Store(server.s3_settings("outage"))
        store.ensure_ready()
        store.put("k", io.BytesIO(b"before"))

        server.stop()
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match="unreachable"):
            store.check()
        with pytest.raises(StorageUnavailable):
            store.read_bytes("k")
        assert time.monotonic() - started < 10

        server.start()  # same endpoint, empty again: moto keeps buckets in memory
        with pytest.raises(StorageUnavailable, match="does not exist"):
            store.check()
        store.ensure_ready()
        store.put("k", io.BytesIO(b"after"))
        assert store.read_bytes("k") == b"after"
