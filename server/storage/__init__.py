"""Object storage for uploads, images and reports: S3 in production, a local folder when embedded."""

from __future__ import annotations

from server.core.config import ConfigError, Settings

from .base import (
    ChecksumMismatch,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StorageUnavailable,
)
from .filesystem import FilesystemStore
from .s3 import S3Store

__all__ = [
    "ChecksumMismatch",
    "FilesystemStore",
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3Store",
    "StorageError",
    "StorageUnavailable",
    "open_store",
]


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings name; nothing is contacted or created until it is used."""
    if settings.storage_backend == "filesystem":
        return FilesystemStore(settings.storage_root)
    if settings.storage_backend == "s3":
        if settings.s3 is None:
            raise ConfigError("TELEMED_S3_* settings are required when TELEMED_STORAGE=s3")
        return S3Store(settings.s3)
    raise ConfigError(f"TELEMED_STORAGE must be 'filesystem' or 's3', got {settings.storage_backend!r}")
