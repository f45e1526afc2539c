"""A session's view of remote table data files as local files, placed between DuckDB and fsspec.

Delta data files are immutable (a new version writes new files), so a file read once is kept in the
persistent cache of the machine (``lakehouse.cache``: size-bounded, shared by processes, least recently
used out) and shown to DuckDB as a hard link in this session's view directory, named like the object key
so Hive-style directories survive; its size and modification time are answered without a request too.
Only paths the engine marks as table data files are cached; anything else a query names passes through.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fsspec

from lakehouse.cache import DataCache, view_path


class ImmutableFileCache(fsspec.AbstractFileSystem):
    """Wraps a remote fsspec filesystem; ``mark(uri)`` declares a path immutable and cacheable."""

    cachable = False  # never share instances through fsspec's instance cache

    def __init__(self, fs: fsspec.AbstractFileSystem, directory: str | os.PathLike, cache: DataCache):
        super().__init__()
        self.fs = fs
        self.protocol = fs.protocol
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cache = cache
        self._immutable: set[str] = set()
        self._info: dict[str, dict] = {}
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def _key(self, path: str) -> str:
        return self.fs._strip_protocol(path)

    def mark(self, uris: Sequence[str], sizes: Sequence[int] | None = None) -> None:
        with self._lock:
            self._immutable.update(self._key(u) for u in uris)
            if sizes is not None:
                self._sizes.update((self._key(u), int(s)) for u, s in zip(uris, sizes, strict=True))

    def _is_immutable(self, path: str) -> bool:
        return self._key(path) in self._immutable

    def _local(self, path: str) -> Path:
        return view_path(self.directory, self.fs, path)

    def _size(self, path: str) -> int:
        size = self._sizes.get(self._key(path))
        return size if size is not None else int(self.info(path)["size"])

    def local_paths(
        self, uris: list[str], sizes: Sequence[int] | None = None, *, ranges_above: int | None = None
    ) -> list[str]:
        """What DuckDB should read for each uri, in order: a local copy (fetched concurrently when not
        cached), or with ``ranges_above`` the uri itself for a larger file not cached whole, which DuckDB
        then reads through this filesystem by byte ranges (only the columns and row groups it needs).
        """
        self.mark(uris, sizes)
        sizes = [self._size(u) for u in uris] if sizes is None else list(sizes)
        got = self.cache.localize(
            self.fs, [self._key(u) for u in uris], sizes, self.directory, ranges_above=ranges_above
        )
        return [u if p is None else p for u, p in zip(uris, got, strict=True)]

    def file_uri_sql(self, column: str) -> str:
        """SQL turning ``column`` (the file DuckDB read: a local copy or a remote uri) into the table URI."""
        prefix, drop = self.remote_prefix_sql()
        view = str(self.directory).replace("'", "''") + "/"
        local = f"({_literal(prefix)} || substr({column}, {drop + 1}))"
        return f"(CASE WHEN starts_with({column}, '{view}') THEN {local} ELSE {column} END)"

    def remote_prefix_sql(self) -> tuple[str, int]:
        """(protocol prefix, number of leading characters of a local path to drop) to map back."""
        proto = self.protocol[0] if isinstance(self.protocol, tuple | list) else self.protocol
        return f"{proto}://", len(str(self.directory)) + 1

    def _fetch(self, path: str) -> Path:
        return Path(self.local_paths([path])[0])

    # ---------------------------------------------------------------- what DuckDB calls

    def _open(self, path: str, mode: str = "rb", **kwargs: Any):
        if mode == "rb" and self._is_immutable(path):
            local = self._local(path)
            if local.exists():
                return open(local, "rb")  # noqa: SIM115 - the caller closes it
            # Byte ranges through the cache; a file object with a position per thread (see DataCache).
            return self.cache.open(self.fs, self._key(path), self._size(path))
        return self.fs.open(path, mode, **kwargs)

    def info(self, path: str, **kwargs: Any) -> dict:
        if not self._is_immutable(path):
            return self.fs.info(path, **kwargs)
        key = self._key(path)
        if key not in self._info:
            size = self._sizes.get(key)  # from the log: no HEAD request
            self._info[key] = (
                {"name": key, "size": size, "type": "file", "mtime": 0.0}
                if size is not None
                else self.fs.info(path, **kwargs)
            )
        return self._info[key]

    def modified(self, path: str):
        if not self._is_immutable(path):
            return self.fs.modified(path)
        if self._sizes.get(self._key(path)) is not None:
            import datetime

            return datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)  # immutable: one version forever
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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
