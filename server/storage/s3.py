"""S3 back-end (MinIO, AWS or any S3-compatible server) through the `minio` SDK.

Uploads are verified *before* anything is sent: the SHA-256 has to be known up front anyway,
because it is stored as `x-amz-meta-sha256` and S3 metadata can only be set when an upload starts.
A seekable stream is hashed in a first pass and rewound; any other stream is spooled to a local
temporary file (under `TMPDIR`) while it is hashed. The object is then sent in a single `put_object`
call, multipart in 8 MiB parts when larger than that, which S3 publishes atomically. So a checksum
mismatch never reaches the server, an existing good object is never replaced by bad bytes, and no
temporary keys are left behind in the bucket by a crash (the alternative, upload to a temporary key
then server-side copy, would leave such keys and is limited to 5 GiB per copy).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from server.core.config import S3Settings

from .base import (
    DEFAULT_CONTENT_TYPE,
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StorageUnavailable,
)
from .keys import validate_key, validate_prefix
from .streams import check_length, copy_hashed, normalise_sha256

# Memory per upload is about two parts: minio reads the next part before dropping the previous one.
PART_SIZE = 8 << 20
SHA256_HEADER = "x-amz-meta-sha256"
# Codes that mean the bucket as a whole cannot be used, rather than one request failing.
_UNAVAILABLE_CODES = frozenset(
    {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
)


class S3Store(ObjectStore):
    def __init__(
        self, settings: S3Settings, *, connect_timeout: float = 3.0, read_timeout: float = 60.0
    ) -> None:
        """Timeouts are short for connecting (so `check()` fails in seconds when the server is down)
        and generous for reading (a server may take a while to assemble a large multipart upload)."""
        self.bucket = settings.bucket
        self.endpoint = settings.endpoint
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=urllib3.Retry(
                total=3, connect=1, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
            maxsize=10,
        )
        self._client = Minio(
            settings.endpoint,
            access_key=settings.access_key,
            secret_key=settings.secret_key,
            secure=settings.secure,
            region=settings.region,
            http_client=http,
        )

    def __repr__(self) -> str:
        return f"S3Store(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    @contextmanager
    def _translated(self, key: str | None = None) -> Iterator[None]:
        """Turn minio and urllib3 errors into the store's errors."""
        try:
            yield
        except S3Error as err:
            if err.code == "NoSuchKey" and key is not None:
                raise ObjectNotFound(key) from None
            message = f"S3 bucket {self.bucket!r} at {self.endpoint}: {err.code}: {err.message}"
            if err.code in _UNAVAILABLE_CODES:
                raise StorageUnavailable(message) from err
            raise StorageError(message) from err
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError) as err:
            raise StorageUnavailable(
                f"S3 server at {self.endpoint} is unreachable or failing: {err}"
            ) from err

    @contextmanager
    def _readiness(self) -> Iterator[None]:
        """For `check()` and `ensure_ready()`, any failure means the store cannot be used."""
        try:
            with self._translated():
                yield
        except StorageUnavailable:
            raise
        except (StorageError, ValueError) as err:  # ValueError: minio refusing the bucket name
            raise StorageUnavailable(f"S3 bucket {self.bucket!r} at {self.endpoint}: {err}") from err

    def put(
        self,
        key: str,
        data: BinaryIO,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
        expected_sha256: str | None = None,
    ) -> ObjectInfo:
        """Hash first (see the module docstring), then upload once with the digest as metadata.

        Parts are uploaded one at a time: minio's parallel mode keeps a part per thread in memory.
        A seekable stream must not change between the hashing pass and the upload.
        """
        validate_key(key)
        expected = normalise_sha256(expected_sha256)
        check_length(length)
        with _staged(data, length) as (source, size, digest):
            if expected is not None and digest != expected:
                raise ChecksumMismatch(key, expected, digest)
            with self._translated():
                self._client.put_object(
                    self.bucket,
                    key,
                    source,
                    size,
                    content_type=content_type,
                    metadata={SHA256_HEADER: digest},
                    part_size=PART_SIZE,
                    num_parallel_uploads=1,
                )
        return ObjectInfo(key=key, size=size, content_type=content_type, sha256=digest)

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        validate_key(key)
        with self._translated(key):
            response = self._client.get_object(self.bucket, key)
            try:
                yield cast(BinaryIO, response)
            finally:
                response.close()
                response.release_conn()

    @contextmanager
    def open_range(self, key: str, start: int, length: int) -> Iterator[BinaryIO]:
        validate_key(key)
        with self._translated(key):
            response = self._client.get_object(self.bucket, key, offset=start, length=length)
            try:
                yield cast(BinaryIO, response)
            finally:
                response.close()
                response.release_conn()

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        with self._translated(key):
            obj = self._client.stat_object(self.bucket, key)
        sha256 = obj.metadata.get(SHA256_HEADER) if obj.metadata else None
        return ObjectInfo(key, obj.size or 0, obj.content_type or DEFAULT_CONTENT_TYPE, sha256)

    def delete(self, key: str) -> None:
        validate_key(key)
        with self._translated():
            self._client.remove_object(self.bucket, key)

    def list(self, prefix: str = "") -> Iterator[str]:
        """S3 lists keys in UTF-8 byte order, which is the same as code-point order."""
        validate_prefix(prefix)
        with self._translated():
            for obj in self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
                yield cast(str, obj.object_name)

    def check(self) -> None:
        with self._readiness():
            exists = self._client.bucket_exists(self.bucket)
        if not exists:
            raise StorageUnavailable(
                f"S3 bucket {self.bucket!r} does not exist at {self.endpoint} (ensure_ready() creates it)"
            )

    def ensure_ready(self) -> None:
        with self._readiness():
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as err:
                if err.code != "BucketAlreadyOwnedByYou":  # lost a race with another process
                    raise


@contextmanager
def _staged(data: BinaryIO, length: int | None) -> Iterator[tuple[BinaryIO, int, str]]:
    """Yield (stream positioned at the upload's start, size, sha256) without holding it in memory."""
    seekable = getattr(data, "seekable", None)
    if callable(seekable) and seekable():
        start = data.tell()
        size, digest = copy_hashed(data, None, length)
        data.seek(start)
        yield data, size, digest
        return
    with tempfile.TemporaryFile(prefix="telemed-upload-") as spool:
        size, digest = copy_hashed(data, spool, length)
        spool.seek(0)
        yield spool, size, digest
