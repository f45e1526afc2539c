"""S3 and S3-compatible stores: put-if-absent via conditional PUT (If-None-Match: *)."""

from __future__ import annotations

from .base import Storage


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


class S3Storage(Storage):
    scheme = "s3"

    def put_if_absent(self, path: str, data: bytes) -> bool:
        full = self._full(path)
        try:
            self.fs.pipe_file(full, data, mode="create")
        except Exception as e:  # s3fs surfaces 412 as OSError with a PreconditionFailed cause
            if is_precondition_failed(e):
                return False
            raise
        return True

    def read(self, path: str) -> bytes:
        """One GET; the body length is checked against Content-Length (short reads happen on S3)."""
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

        for _ in range(3):
            data, length = sync(self.fs.loop, get)
            if length is None or len(data) == int(length):
                return data
        raise OSError(f"short read of {self.uri(path)}: got {len(data)} of {length} bytes (3 attempts)")
