"""A local whole-file cache for remote table data files, placed between DuckDB and fsspec.

Delta data files are immutable (a new version writes new files), so a file read once is kept on local
disk and served from there; its size and modification time are answered without a request too. Only
paths the engine marks as table data files are cached; anything else a query names passes through.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import fsspec


class ImmutableFileCache(fsspec.AbstractFileSystem):
    """Wraps a remote fsspec filesystem; ``mark(uri)`` declares a path immutable and cacheable."""

    cachable = False  # never share instances through fsspec's instance cache

    def __init__(self, fs: fsspec.AbstractFileSystem, directory: str | os.PathLike):
        super().__init__()
        self.fs = fs
        self.protocol = fs.protocol
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._immutable: set[str] = set()
        self._info: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _key(self, path: str) -> str:
        return self.fs._strip_protocol(path)

    def mark(self, uris: list[str]) -> None:
        with self._lock:
            self._immutable.update(self._key(u) for u in uris)

    def _is_immutable(self, path: str) -> bool:
        return self._key(path) in self._immutable

    def _local(self, path: str) -> Path:
        # Mirror the object key (bucket/prefix/col=value/part.parquet) so Hive-style directory names
        # survive and the remote URI can be recovered from the local path.
        key = self._key(path).lstrip("/")
        if ".." in key.split("/"):
            return self.directory / "_hashed" / hashlib.sha256(key.encode()).hexdigest()[:32]
        return self.directory / key

    def local_paths(self, uris: list[str]) -> list[str]:
        """Fetch every uri not cached yet (concurrently) and return the local paths, in order.

        DuckDB then reads plain local files: its Python-filesystem bridge was seen returning corrupt
        bytes under concurrent reads, and local reads are faster anyway.
        """
        self.mark(uris)
        locals_ = [self._local(u) for u in uris]
        missing = [(u, lp) for u, lp in zip(uris, locals_, strict=True) if not lp.exists()]
        if missing:
            tmps = []
            for _, lp in missing:
                lp.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=lp.parent, prefix=".part-")
                os.close(fd)
                tmps.append(tmp)
            try:
                self.fs.get([u for u, _ in missing], tmps)
                for (u, lp), tmp in zip(missing, tmps, strict=True):
                    size = int(self.info(u)["size"])
                    if os.path.getsize(tmp) != size:  # a GET can come back short with no error
                        raise OSError(f"short download of {u}: {os.path.getsize(tmp)} of {size} bytes")
                    os.replace(tmp, lp)
            finally:
                for tmp in tmps:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
        return [str(lp) for lp in locals_]

    def remote_prefix_sql(self) -> tuple[str, int]:
        """(protocol prefix, number of leading characters of a local path to drop) to map back."""
        proto = self.protocol[0] if isinstance(self.protocol, tuple | list) else self.protocol
        return f"{proto}://", len(str(self.directory)) + 1

    def _fetch(self, path: str) -> Path:
        local = self._local(path)
        if not local.exists():
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".part-")
            os.close(fd)
            try:
                self.fs.get_file(path, tmp)
                os.replace(tmp, local)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        return local

    # ---------------------------------------------------------------- what DuckDB calls

    def _open(self, path: str, mode: str = "rb", **kwargs: Any):
        if mode == "rb" and self._is_immutable(path):
            return open(self._fetch(path), "rb")  # noqa: SIM115 - the caller closes it
        return self.fs.open(path, mode, **kwargs)

    def info(self, path: str, **kwargs: Any) -> dict:
        if not self._is_immutable(path):
            return self.fs.info(path, **kwargs)
        key = self._key(path)
        if key not in self._info:
            self._info[key] = self.fs.info(path, **kwargs)
        return self._info[key]

    def modified(self, path: str):
        if not self._is_immutable(path):
            return self.fs.modified(path)
        info = self.info(path)
        value = info.get("LastModified") or info.get("mtime") or info.get("last_modified")
        return value if value is not None else self.fs.modified(path)

    def size(self, path: str) -> int:
        return int(self.info(path)["size"])

    def exists(self, path: str, **kwargs: Any) -> bool:
        return self._is_immutable(path) or self.fs.exists(path, **kwargs)

    def ls(self, path: str, detail: bool = True, **kwargs: Any):
        return self.fs.ls(path, detail=detail, **kwargs)

    def glob(self, path: str, **kwargs: Any):
        if self._is_immutable(path):
            return [self._key(path)]
        return self.fs.glob(path, **kwargs)

    def isdir(self, path: str) -> bool:
        return False if self._is_immutable(path) else self.fs.isdir(path)

    def isfile(self, path: str) -> bool:
        return True if self._is_immutable(path) else self.fs.isfile(path)

    def _strip_protocol(self, path: str) -> str:  # type: ignore[override]
        return self.fs._strip_protocol(path)
