"""S3 and S3-compatible stores: put-if-absent via conditional PUT (If-None-Match: *).

Transient failures (503 Slow Down, timeouts, dropped connections, short bodies) are retried; when
they outlast every retry, ``StorageUnavailable`` names the operation, the path and the attempts.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from ..errors import LakehouseError, StorageUnavailable
from .base import FileInfo, Storage

T = TypeVar("T")
READ_ATTEMPTS = 3


def is_precondition_failed(exc: BaseException) -> bool:
    """True if ``exc`` (or its cause chain) is an HTTP 412 answer to a conditional write."""
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, FileExistsError):
            return True
        text = f"{type(e).__name__} {e}"
        if "PreconditionFailed" in text or "412" in text or "ConditionalRequestConflict" in text:
            return True
        e = e.__cause__ or e.__context__
    return False


def is_transient(exc: BaseException) -> bool:
    """True for errors that say the store was busy or unreachable, not that the request was wrong."""
    import asyncio

    import aiohttp
    import botocore.exceptions as bx

    if isinstance(exc, StorageUnavailable):
        return False  # already explained
    if isinstance(exc, OSError) and exc.errno in (errno.EBUSY, errno.ETIMEDOUT, errno.ECONNRESET):
        return True
    transient = (bx.ConnectionError, bx.HTTPClientError, aiohttp.ClientError, asyncio.TimeoutError)
    return isinstance(exc, (*transient, ConnectionError, TimeoutError))


_CREDENTIAL_OPTIONS = ("anon", "key", "secret", "token", "profile", "session")


def check_credentials(options: dict) -> None:
    """Fail in one line, before any request, when no AWS credentials can be found anywhere.

    Without this, the first request ends in seventy lines of botocore's ``NoCredentialsError``.
    """
    if any(options.get(k) for k in _CREDENTIAL_OPTIONS):
        return
    import botocore.session

    try:
        found = botocore.session.Session().get_credentials()
    except Exception:
        return  # a broken config file: let the request say so
    if found is None:
        raise LakehouseError(
            "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
            "or pass storage_options={'key': ..., 'secret': ...} (CLI: --storage-option key=... "
            "--storage-option secret=...)"
        )


class S3Storage(Storage):
    scheme = "s3"

    def _attempts(self, s3fs_rounds: int = 1) -> int:
        """Requests sent before giving up: botocore's attempts times the retry rounds around them."""
        retries = (self.options.get("config_kwargs") or {}).get("retries") or {}
        botocore = int(retries.get("max_attempts") or retries.get("total_max_attempts") or 5)
        return botocore * s3fs_rounds

    def guarded(self, operation: str, path: str, call: Callable[[], T]) -> T:
        return self._guard(operation, path, call)

    def _guard(self, operation: str, path: str, call: Callable[[], T], rounds: int = 0) -> T:
        rounds = rounds or int(getattr(self.fs, "retries", 1) or 1)
        try:
            return call()
        except Exception as e:
            if not is_transient(e):
                raise
            attempts = self._attempts(rounds)
            raise StorageUnavailable(
                f"{operation} {self.uri(path)} failed after {attempts} attempts: the storage kept answering "
                f"{type(e).__name__}: {e} (503 Slow Down, timeouts or dropped connections). Nothing is "
                f"wrong with the request; retry the operation when the store recovers, or allow more "
                f"retries (storage_options config_kwargs={{'retries': {{'max_attempts': 10}}}})",
                operation=operation,
                path=self.uri(path),
                attempts=attempts,
            ) from e

    def put_if_absent(self, path: str, data: bytes) -> bool:
        """One conditional PUT (botocore's own retries only): a lost answer is for the caller to
        resolve by reading the object back, which beats re-sending blindly (see log/outcome.py)."""
        from fsspec.asyn import sync
        from s3fs.errors import translate_boto_error

        bucket, key, _ = self.fs.split_path(self._full(path))

        async def put() -> None:
            await self.fs.set_session()
            s3 = await self.fs.get_s3(bucket)
            kwargs = {"Bucket": bucket, "Key": key, "Body": data, "IfNoneMatch": "*"}
            if hasattr(self.fs, "_get_s3_method_kwargs"):
                kwargs = self.fs._get_s3_method_kwargs(s3.put_object, **kwargs)
            await s3.put_object(**kwargs)

        def call() -> bool:
            try:
                sync(self.fs.loop, put)
            except Exception as e:
                if is_precondition_failed(e):
                    return False
                if type(e).__name__ == "ClientError":
                    raise translate_boto_error(e) from e
                raise
            return True

        return self._guard("conditional PUT of", path, call, rounds=1)

    def write(self, path: str, data: bytes) -> None:
        self._guard("PUT of", path, lambda: super(S3Storage, self).write(path, data))

    def exists(self, path: str) -> bool:
        return self._guard("HEAD of", path, lambda: super(S3Storage, self).exists(path))

    def list(self, prefix: str) -> list[FileInfo]:
        return self._guard("LIST of", prefix, lambda: super(S3Storage, self).list(prefix))

    def list_names_after(self, prefix: str, start_after: str) -> list[tuple[str, int]]:
        """One ListObjectsV2 from ``StartAfter`` on (pages followed): the log's newest commits without
        listing the whole ``_delta_log/``."""
        return [(path, mtime) for path, mtime, _, _ in self.list_tagged(prefix, start_after)]

    def list_tagged(self, prefix: str, start_after: str = "") -> list[tuple[str, int, int, str]]:
        """(path, mtime_ms, size, ETag) of the objects directly under ``prefix`` whose names sort after
        ``start_after`` ("": all), in one ListObjectsV2 per page. An object's ETag changes with its
        content, so (path, size, ETag) names one content for good (``lakehouse.log.log_cache``)."""
        from fsspec.asyn import sync

        bucket, key, _ = self.fs.split_path(self._full(prefix))
        key = key.rstrip("/") + "/"

        async def listing() -> list[tuple[str, int, int, str]]:
            out: list[tuple[str, int, int, str]] = []
            kwargs = {"Bucket": bucket, "Prefix": key, "Delimiter": "/"}
            if start_after:
                kwargs["StartAfter"] = key + start_after
            while True:
                page = await self.fs._call_s3("list_objects_v2", **kwargs)
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(key) :]
                    modified = obj.get("LastModified")
                    out.append(
                        (
                            f"{prefix}/{name}",
                            int(modified.timestamp() * 1000) if modified else 0,
                            int(obj.get("Size") or 0),
                            str(obj.get("ETag") or "").strip('"'),
                        )
                    )
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    return out
                kwargs["ContinuationToken"] = token

        return self._guard("LIST of", prefix, lambda: sync(self.fs.loop, listing))

    def walk(self, prefix: str = "") -> list[FileInfo]:
        return self._guard("LIST of", prefix, lambda: super(S3Storage, self).walk(prefix))

    def delete(self, paths: list[str]) -> None:
        for p in paths:
            self._guard("DELETE of", p, lambda p=p: super(S3Storage, self).delete([p]))

    def open(self, path: str, mode: str = "rb") -> BinaryIO:
        f = self._guard("open of", path, lambda: super(S3Storage, self).open(path, mode))
        return _GuardedFile(self, path, f) if "r" in mode else f

    def read(self, path: str) -> bytes:
        """One GET; the body length is checked against Content-Length (short reads happen on S3), and
        a body cut off mid-transfer (aiohttp ClientPayloadError) is fetched again."""
        import aiohttp
        from fsspec.asyn import sync

        bucket, key, _ = self.fs.split_path(self._full(path))

        async def get() -> tuple[bytes, int | None]:
            resp = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
            body = resp["Body"]
            try:
                data = await body.read()
            finally:
                body.close()
            return data, resp.get("ContentLength")

        def attempt() -> bytes:
            short = ""
            for i in range(READ_ATTEMPTS):
                try:
                    data, length = sync(self.fs.loop, get)
                except aiohttp.ClientPayloadError:  # cut off mid-body: s3fs retried only the request
                    if i == READ_ATTEMPTS - 1:
                        raise
                    continue
                if length is None or len(data) == int(length):
                    return data
                short = f"got {len(data)} of {length} bytes"
            raise ConnectionError(f"short read of {self.uri(path)}: {short}")

        return self._guard("GET of", path, attempt)


class _GuardedFile:
    """A file opened for reading whose failed range GETs raise StorageUnavailable, not OSError(EBUSY)."""

    def __init__(self, storage: S3Storage, path: str, f: BinaryIO):
        self._storage, self._path, self._f = storage, path, f

    def read(self, size: int = -1) -> bytes:
        return self._storage._guard("GET of", self._path, lambda: self._f.read(size))

    def readinto(self, buffer) -> int:
        return self._storage._guard("GET of", self._path, lambda: self._f.readinto(buffer))

    def __getattr__(self, name: str):
        return getattr(self._f, name)

    def __enter__(self) -> _GuardedFile:
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()

    def __iter__(self):
        return iter(self._f)
