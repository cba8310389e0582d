"""Streaming helpers shared by the back-ends: copy in bounded chunks while hashing."""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from .base import StorageError, StorageUnavailable

COPY_CHUNK = 1 << 20
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def normalise_sha256(value: str | None) -> str | None:
    """Lower-case hex digest, or None; a malformed digest is a caller bug, so fail before any I/O."""
    if value is None:
        return None
    digest = value.lower()
    if not _SHA256_HEX.fullmatch(digest):
        raise ValueError(f"expected_sha256 must be 64 hex digits, got {value!r}")
    return digest


def check_length(length: int | None) -> None:
    if length is not None and length < 0:
        raise ValueError(f"length must be None or >= 0, got {length}")


def copy_hashed(src: BinaryIO, dst: BinaryIO | None, length: int | None) -> tuple[int, str]:
    """Copy `src` to `dst` (or just read it when `dst` is None); return (size, sha256 hex).

    Reads at most `length` bytes when given, and never more than `COPY_CHUNK` at a time, so memory
    stays flat whatever the object size. A stream shorter than `length` is an incomplete upload.
    Errors reading `src` are the caller's and pass through; errors writing `dst` (local disk full,
    read-only) mean the store cannot take uploads.
    """
    digest = hashlib.sha256()
    size = 0
    while length is None or size < length:
        chunk = src.read(COPY_CHUNK if length is None else min(COPY_CHUNK, length - size))
        if not chunk:
            break
        digest.update(chunk)
        if dst is not None:
            try:
                dst.write(chunk)
            except OSError as err:
                raise StorageUnavailable(f"cannot write the upload to local disk: {err}") from err
        size += len(chunk)
    if length is not None and size < length:
        raise StorageError(f"the stream ended after {size} bytes; {length} were announced")
    return size, digest.hexdigest()
