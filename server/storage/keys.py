"""Object-key validation shared by every back-end.

Keys come from request paths and patient data, so they are checked before any back-end turns them
into a file path or a URL: a key that could climb out of its store, or that two back-ends would
interpret differently, is refused outright rather than cleaned up.
"""

from __future__ import annotations

import unicodedata

from .base import InvalidKey

MAX_KEY_BYTES = 1024  # the S3 limit; the filesystem back-end honours it too so keys stay portable


def _check_text(value: str, what: str) -> None:
    """Refuse characters that are path syntax elsewhere or invisible in logs."""
    if "\\" in value:
        raise InvalidKey(f"{what} must not contain a backslash: {value!r}")
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in value):
        raise InvalidKey(f"{what} must not contain NUL or control characters: {value!r}")
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKey(f"{what} is longer than {MAX_KEY_BYTES} bytes in UTF-8")


def _check_segments(value: str, what: str) -> None:
    """Every '/'-separated segment must be a plain name: no '', '.' or '..'."""
    if value.startswith("/"):
        raise InvalidKey(f"{what} must be relative, got {value!r}")
    for segment in value.split("/"):
        if segment in {"", ".", ".."}:
            raise InvalidKey(f"{what} has an empty, '.' or '..' segment: {value!r}")


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe object key, else raise `InvalidKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"key must be a non-empty string, got {key!r}")
    _check_text(key, "key")
    _check_segments(key, "key")
    return key


def validate_prefix(prefix: str) -> str:
    """Return a listing prefix if safe: '' or whole segments followed by a partial last segment."""
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix must be a string, got {prefix!r}")
    _check_text(prefix, "prefix")
    if prefix.startswith("/"):
        raise InvalidKey(f"prefix must be relative, got {prefix!r}")
    if "/" in prefix:
        _check_segments(prefix.rpartition("/")[0], "prefix")
    return prefix
