"""The object-store interface the rest of the platform codes against, and its errors.

Callers only ever see these types, so swapping the embedded filesystem store for S3 (or back) never
changes how an upload handler, a worker or `/readyz` behaves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    sha256: str | None  # hex; None when the object did not come through put() or its record is stale


@dataclass(frozen=True)
class NewObject:
    """One object for `ObjectStore.put_many`: the arguments of `put`, as a value."""

    key: str
    data: BinaryIO
    length: int | None = None
    content_type: str = DEFAULT_CONTENT_TYPE
    expected_sha256: str | None = None


class StorageError(Exception):
    """Base of every error a store raises, so callers can catch one type."""


class InvalidKey(StorageError, ValueError):
    """The key is malformed or would escape the store; nothing was read or written."""


class ObjectNotFound(StorageError, KeyError):
    """No object is stored under the key."""

    __str__ = Exception.__str__  # KeyError would quote the whole message

    def __init__(self, key: str) -> None:
        super().__init__(f"no object stored under key {key!r}")
        self.key = key


class StorageUnavailable(StorageError):
    """The store cannot be used at all (server down, bucket or root directory missing, no permission)."""


class ChecksumMismatch(StorageError):
    """The uploaded bytes do not hash to the expected SHA-256; nothing was stored."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        super().__init__(f"SHA-256 of the upload for {key!r} is {actual}, expected {expected}")
        self.key = key
        self.expected = expected
        self.actual = actual


class ObjectStore(ABC):
    """Streamed object storage: objects are never held whole in memory by the store."""

    @abstractmethod
    def put(
        self,
        key: str,
        data: BinaryIO,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
        expected_sha256: str | None = None,
    ) -> ObjectInfo:
        """Store the stream under `key` (all of it, or exactly `length` bytes) and record its SHA-256.

        The object is replaced atomically: readers see the old bytes or the new ones, never a mix.
        If `expected_sha256` is given and the bytes differ, `ChecksumMismatch` is raised and
        whatever was stored under `key` before is left untouched.
        """

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        """Store each object as `put` does; when this returns, every one of them is stored.

        Back-ends may write them concurrently and share the cost of making them durable, which is
        what a request carrying many objects (a STOW-RS upload of a series) is waiting for. On an
        error the first one is raised once every write has ended; objects stored before it stay,
        unreferenced, as after a crash (storing them again replaces them). This default stores them
        one after another.
        """
        return [
            self.put(
                obj.key,
                obj.data,
                length=obj.length,
                content_type=obj.content_type,
                expected_sha256=obj.expected_sha256,
            )
            for obj in objects
        ]

    @abstractmethod
    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """Context manager yielding a readable stream of the object's bytes."""

    @abstractmethod
    def open_range(self, key: str, start: int, length: int) -> AbstractContextManager[BinaryIO]:
        """Context manager yielding a stream of the object from byte `start` on, `length` bytes of it
        (fewer at the end; read no further): a video player's seek, without reading what comes before."""

    def iter_chunks(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the object in chunks of at most `chunk_size` bytes (for streaming responses)."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        with self.open(key) as stream:
            while chunk := stream.read(chunk_size):
                yield chunk

    def read_bytes(self, key: str) -> bytes:
        """Whole object in memory: only for objects known to be small."""
        with self.open(key) as stream:
            return stream.read()

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Describe the object; raises `ObjectNotFound`."""

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix` (a plain string prefix, as in S3), sorted by code point."""

    @abstractmethod
    def check(self) -> None:
        """Raise `StorageUnavailable` with a message an operator can act on if the store is unusable."""

    @abstractmethod
    def ensure_ready(self) -> None:
        """Create the root directory or bucket if missing; raise `StorageUnavailable` if impossible."""
