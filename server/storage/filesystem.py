"""Filesystem back-end: the embedded default, one directory tree on local disk.

Layout under the root:

- `data/<key>`  the object bytes, as a plain file an operator can inspect or back up;
- `meta/`       one JSON sidecar per object with its content type and SHA-256 (extended attributes
                are not available on every filesystem a clinic server may run on), named by the
                SHA-256 of the key so sidecar names can never clash with each other or with keys;
- `tmp/`        uploads being written: on the same filesystem as `data/`, so publishing one is an
                atomic `os.replace`, and outside `data/`, so half-written files never appear in
                `list()` or take a name a key could use.

A sidecar records the inode, size and mtime of the data file it describes. A crash or a concurrent
writer between publishing the data and publishing the sidecar leaves a sidecar that no longer
matches, and `stat()` then reports `sha256=None` rather than a wrong digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from .base import (
    DEFAULT_CONTENT_TYPE,
    ChecksumMismatch,
    InvalidKey,
    NewObject,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StorageUnavailable,
)
from .keys import validate_key, validate_prefix
from .streams import check_length, copy_hashed, normalise_sha256

MAX_NAME_BYTES = 255  # NAME_MAX of common Linux filesystems, per '/'-separated segment
_INSTALL_ATTEMPTS = 3
_MAX_THREADS = 8  # concurrent writes and fsyncs of one put_many
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class FilesystemStore(ObjectStore):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.data_dir = self.root / "data"
        self._meta_dir = self.root / "meta"
        self._tmp_dir = self.root / "tmp"

    def __repr__(self) -> str:
        return f"FilesystemStore({str(self.root)!r})"

    # -- paths and errors ----------------------------------------------------------------------

    def _data_path(self, key: str) -> Path:
        """The key's file, verified to stay inside `data/` even after following symlinks."""
        validate_key(key)
        if any(len(segment.encode("utf-8")) > MAX_NAME_BYTES for segment in key.split("/")):
            raise InvalidKey(f"a key segment is longer than {MAX_NAME_BYTES} bytes: {key!r}")
        return _inside(self.data_dir / key, self.data_dir, key)

    def _meta_path(self, key: str) -> Path:
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return _inside(self._meta_dir / name[:2] / f"{name}.json", self._meta_dir, key)

    def _unavailable(self, err: OSError) -> StorageUnavailable:
        return StorageUnavailable(f"filesystem storage at {self.root} failed: {err}")

    def _require_ready(self) -> None:
        """A missing root is an outage (an unmounted disk), not an empty store: never recreate it here."""
        if not self.data_dir.is_dir():
            raise StorageUnavailable(
                f"storage root {self.root} is missing or not initialised (ensure_ready() creates it)"
            )

    # -- writing -------------------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: BinaryIO,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
        expected_sha256: str | None = None,
    ) -> ObjectInfo:
        """Write to a temporary file in `tmp/`, fsync, verify, then `os.replace` it over the key."""
        return self.put_many([NewObject(key, data, length, content_type, expected_sha256)])[0]

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        """Write and fsync the temporary files in parallel threads, publish them, then fsync each
        folder touched once: the durability a series costs is then about that of one object."""
        targets = [self._target(obj) for obj in objects]  # every key is checked before any I/O
        self._require_ready()
        staged = _in_parallel(self._stage, targets, cleanup=_Staged.discard)
        folders: set[Path] = set()
        try:
            for item in staged:
                folders.add(self._install(item.tmp, item.target.path, item.target.obj.key))
                folders.add(self._install(item.meta_tmp, item.target.meta_path, item.target.obj.key))
                item.published = True
        finally:
            for item in staged:
                item.discard()
        _in_parallel(self._sync_folder, sorted(folders))
        return [item.info for item in staged]

    def _target(self, obj: NewObject) -> _Target:
        check_length(obj.length)
        expected = normalise_sha256(obj.expected_sha256)
        return _Target(obj, self._data_path(obj.key), self._meta_path(obj.key), expected)

    def _stage(self, target: _Target) -> _Staged:
        """The object's bytes in a fsynced temporary file, checked against the expected digest, and
        its sidecar in another."""
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp_dir, prefix="put-")
        except OSError as err:
            raise self._unavailable(err) from err
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                size, digest = copy_hashed(target.obj.data, out, target.obj.length)
                identity = self._sync(out)
            if target.expected is not None and digest != target.expected:
                raise ChecksumMismatch(target.obj.key, target.expected, digest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        info = ObjectInfo(key=target.obj.key, size=size, content_type=target.obj.content_type, sha256=digest)
        record: dict[str, object] = {
            "key": info.key,
            "content_type": info.content_type,
            "sha256": digest,
            "of": identity,
        }
        try:
            return _Staged(target, tmp, self._write_meta(record), info)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _sync(self, out: BinaryIO) -> list[int]:
        """Flush the upload to disk before it is published; return the identity its sidecar records."""
        try:
            out.flush()
            os.fsync(out.fileno())
            return _identity(os.fstat(out.fileno()))
        except OSError as err:
            raise self._unavailable(err) from err

    def _sync_folder(self, folder: Path) -> None:
        try:
            _fsync_dir(folder)
        except OSError as err:
            raise self._unavailable(err) from err

    def _install(self, tmp: Path, path: Path, key: str) -> Path:
        """Rename `tmp` to `path`, creating folders; retried because a concurrent `delete()` prunes them.

        Returns the folder whose fsync makes the rename durable; the caller syncs it.
        """
        for _ in range(_INSTALL_ATTEMPTS):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
                return path.parent
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise StorageError(
                    f"key {key!r} clashes with an existing key: on the filesystem a key cannot be both "
                    "an object and a folder of other keys"
                ) from None
            except FileNotFoundError as err:
                if not tmp.exists():
                    raise self._unavailable(err) from err
            except OSError as err:
                raise self._unavailable(err) from err
        raise StorageUnavailable(f"could not publish {key!r}: its folder kept disappearing")

    def _write_meta(self, record: dict[str, object]) -> Path:
        """The sidecar, in a temporary file to publish after the object it describes."""
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp_dir, prefix="meta-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(record, out, ensure_ascii=False)
        except OSError as err:
            raise self._unavailable(err) from err
        return Path(tmp_name)

    def delete(self, key: str) -> None:
        """Sidecar first, so an interrupted delete leaves bytes without a digest, never a stray digest."""
        path, meta_path = self._data_path(key), self._meta_path(key)
        self._require_ready()
        for file in (meta_path, path):
            try:
                file.unlink()
            except _MISSING:
                pass
            except OSError as err:
                raise self._unavailable(err) from err
        _prune(path.parent, self.data_dir)

    # -- reading -------------------------------------------------------------------------------

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        path = self._data_path(key)
        try:
            stream = path.open("rb")
        except _MISSING:
            self._require_ready()
            raise ObjectNotFound(key) from None
        except OSError as err:
            raise self._unavailable(err) from err
        with stream:
            yield stream

    @contextmanager
    def open_range(self, key: str, start: int, length: int) -> Iterator[BinaryIO]:
        with self.open(key) as stream:
            stream.seek(start)
            yield stream

    def stat(self, key: str) -> ObjectInfo:
        path, meta_path = self._data_path(key), self._meta_path(key)
        try:
            st = path.stat()
        except _MISSING:
            st = None
        except OSError as err:
            raise self._unavailable(err) from err
        if st is None or not stat.S_ISREG(st.st_mode):
            self._require_ready()
            raise ObjectNotFound(key)
        try:
            record = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("of") == _identity(st):
            return ObjectInfo(key, st.st_size, record["content_type"], record["sha256"])
        return ObjectInfo(key, st.st_size, DEFAULT_CONTENT_TYPE, None)

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        self._require_ready()
        folder = prefix.rpartition("/")[0]
        start = _inside(self.data_dir / folder, self.data_dir, prefix) if folder else self.data_dir
        keys = [key for key in _walk(start, f"{folder}/" if folder else "") if key.startswith(prefix)]
        yield from sorted(keys)

    # -- readiness -----------------------------------------------------------------------------

    def check(self) -> None:
        for folder in (self.data_dir, self._meta_dir, self._tmp_dir):
            if not folder.is_dir():
                raise StorageUnavailable(
                    f"storage folder {folder} is missing (ensure_ready() creates the storage root)"
                )
            if not os.access(folder, os.W_OK | os.X_OK):
                raise StorageUnavailable(f"storage folder {folder} is not writable by this process")
        try:
            fd, probe = tempfile.mkstemp(dir=self._tmp_dir, prefix="check-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise StorageUnavailable(f"cannot write to storage folder {self._tmp_dir}: {err}") from err

    def ensure_ready(self) -> None:
        try:
            for folder in (self.data_dir, self._meta_dir, self._tmp_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageUnavailable(f"cannot create storage root {self.root}: {err}") from err


@dataclass(frozen=True)
class _Target:
    obj: NewObject
    path: Path
    meta_path: Path
    expected: str | None


@dataclass
class _Staged:
    """An object written to its temporary file, not yet published under its key."""

    target: _Target
    tmp: Path
    meta_tmp: Path
    info: ObjectInfo
    published: bool = False

    def discard(self) -> None:
        """Remove what was not published (a sidecar whose object was published is published next)."""
        if not self.published:
            self.tmp.unlink(missing_ok=True)
            self.meta_tmp.unlink(missing_ok=True)


_pool: tuple[int, ThreadPoolExecutor] | None = None  # the process that started it, and the pool


def _io_threads() -> ThreadPoolExecutor:
    """The process's threads for file writes and fsyncs, started on first use (and again in a forked
    child, which has none of its parent's threads: the pool remembers the process that made it)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (
            os.getpid(),
            ThreadPoolExecutor(max_workers=_MAX_THREADS, thread_name_prefix="filesystem-store"),
        )
    return _pool[1]


_T = TypeVar("_T")
_R = TypeVar("_R")


def _in_parallel(
    work: Callable[[_T], _R], items: Sequence[_T], cleanup: Callable[[_R], None] | None = None
) -> list[_R]:
    """`work` on every item, in threads when there are several (file writes and fsyncs release the
    GIL). Every call ends before the first error is raised; `cleanup` then undoes the ones that
    succeeded."""
    if len(items) <= 1:
        return [work(item) for item in items]
    futures = [_io_threads().submit(work, item) for item in items]
    errors = [future.exception() for future in futures]  # waits for each
    first = next((error for error in errors if error is not None), None)
    if first is None:
        return [future.result() for future in futures]
    if cleanup is not None:
        for future, error in zip(futures, errors, strict=True):
            if error is None:
                cleanup(future.result())
    raise first


def _inside(path: Path, base: Path, key: str) -> Path:
    """Defence in depth behind key validation: refuse paths whose real location leaves `base`."""
    if not path.resolve().is_relative_to(base.resolve()):
        raise InvalidKey(f"{key!r} resolves outside the storage root")
    return path


def _identity(st: os.stat_result) -> list[int]:
    """What ties a sidecar to one version of a data file (a list, so it compares equal to JSON)."""
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable, not just the file contents."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(folder: Path, base: Path) -> None:
    """Remove folders a delete left empty, so a later key may use their names."""
    while folder != base:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _walk(folder: Path | str, rel: str) -> Iterator[str]:
    """Keys of the regular files below `folder`; symlinks are neither followed nor listed."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, f"{rel}{entry.name}/")
        elif entry.is_file(follow_symlinks=False):
            yield rel + entry.name
