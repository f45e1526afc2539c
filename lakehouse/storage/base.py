"""The storage interface: a handful of operations on paths relative to a table root."""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from ..lazy import fsspec

T = TypeVar("T")


@dataclass(frozen=True)
class FileInfo:
    """One listed object: path relative to the storage root, size in bytes, mtime in ms."""

    path: str
    size: int
    modified_ms: int


class Storage(ABC):
    """A root URI plus the few operations a table needs.

    Paths passed to methods are relative to the root (``_delta_log/00000000000000000000.json``);
    ``uri(path)`` gives the absolute URI another engine (DuckDB, delta-rs) can open.
    """

    scheme: str = ""
    # True when an exception from put_if_absent means nothing was written (a local syscall); False
    # when a request may have landed although its answer was lost (a remote store).
    atomic_put: bool = False
    # The local cache of immutable data files readers go through (lakehouse.cache.DataCache); None: the
    # process default (the user cache directory). A session sets its own on the storages it resolves.
    data_cache: Any = None

    def __init__(
        self, root: str, fs: fsspec.AbstractFileSystem | None, fs_root: str, options: dict[str, Any]
    ):
        self.root = root.rstrip("/")
        self.fs = fs
        self.fs_root = fs_root.rstrip("/")
        self.options = dict(options)

    def full_path(self, path: str) -> str:
        """The filesystem path of ``path`` (relative to the root, or absolute) for ``self.fs`` calls."""
        if _is_absolute(path):
            return self.fs._strip_protocol(path)
        return posixpath.join(self.fs_root, path) if path else self.fs_root

    _full = full_path

    def guarded(self, operation: str, path: str, call: Callable[[], T]) -> T:
        """Run ``call`` (I/O on this store through ``self.fs``, e.g. a cache download); a store that kept
        failing is reported as ``StorageUnavailable`` naming ``operation`` and ``path`` (object stores)."""
        return call()

    def uri(self, path: str) -> str:
        """Absolute URI of ``path`` (relative paths resolve against the root)."""
        if _is_absolute(path):
            return path
        return f"{self.root}/{path}" if path else self.root

    def read(self, path: str) -> bytes:
        """Whole object; FileNotFoundError if absent. Checks the byte count (short reads happen on S3)."""
        full = self._full(path)
        data = self.fs.cat_file(full)
        return data

    def write(self, path: str, data: bytes) -> None:
        """Create or replace an object (data files, _last_checkpoint)."""
        full = self._full(path)
        self._makedirs(posixpath.dirname(full))
        self.fs.pipe_file(full, data)

    @abstractmethod
    def put_if_absent(self, path: str, data: bytes) -> bool:
        """Atomically create ``path`` with ``data`` unless it exists. True if we created it.

        A False answer may also mean a retried request of ours already created it, and unless
        ``atomic_put`` an exception does not mean nothing was written (the answer may have been lost):
        callers that care read the object back and compare (``lakehouse.log.outcome.put_commit``).
        """

    def exists(self, path: str) -> bool:
        return self.fs.exists(self._full(path))

    def list(self, prefix: str) -> list[FileInfo]:
        """Objects directly under the directory ``prefix`` (no recursion), sorted by path."""
        full = self._full(prefix)
        try:
            entries = self.fs.ls(full, detail=True)
        except FileNotFoundError:
            return []
        out = []
        for e in entries:
            if e.get("type") == "directory":
                continue
            name = posixpath.basename(e["name"].rstrip("/"))
            out.append(
                FileInfo(
                    posixpath.join(prefix, name) if prefix else name, int(e.get("size") or 0), _mtime_ms(e)
                )
            )
        out.sort(key=lambda f: f.path)
        return out

    def list_names(self, prefix: str) -> list[tuple[str, int]]:
        """(path, mtime_ms) of objects directly under ``prefix``; mtime -1 when not known cheaply."""
        return [(f.path, f.modified_ms) for f in self.list(prefix)]

    def list_names_from(self, prefix: str, first: str) -> list[tuple[str, int]]:
        """``list_names(prefix)`` of the paths not sorting before ``first`` (a full path)."""
        return [(p, m) for p, m in self.list_names(prefix) if p >= first]

    def list_names_after(self, prefix: str, start_after: str) -> list[tuple[str, int]] | None:
        """(path, mtime_ms) of objects under ``prefix`` whose names sort after ``start_after`` (a name
        in ``prefix``), or None when the store cannot list from a point (then list everything)."""
        return None

    def list_tagged(self, prefix: str, start_after: str = "") -> list[tuple[str, int, int, str]] | None:
        """(path, mtime_ms, size, content tag) of objects under ``prefix`` sorting after ``start_after``,
        where the store names each object's content (S3 ETags); None where it does not."""
        return None

    def mtime_ms(self, path: str) -> int:
        return _mtime_ms(self.fs.info(self._full(path)))

    def walk(self, prefix: str = "") -> list[FileInfo]:
        """All objects below ``prefix``, recursively, paths relative to the root."""
        full = self._full(prefix)
        try:
            found = self.fs.find(full, detail=True)
        except FileNotFoundError:
            return []
        base = self.fs_root + "/"
        out = []
        for name, e in found.items():
            if e.get("type") == "directory":
                continue
            rel = name[len(base) :] if name.startswith(base) else name
            out.append(FileInfo(rel, int(e.get("size") or 0), _mtime_ms(e)))
        out.sort(key=lambda f: f.path)
        return out

    def delete(self, paths: list[str]) -> None:
        for p in paths:
            if not p:  # "" would name the root itself
                continue
            try:
                self.fs.rm_file(self._full(p))
            except FileNotFoundError:
                pass

    def delete_tree(self) -> None:
        """Remove everything under the root."""
        try:
            self.fs.rm(self.fs_root, recursive=True)
        except FileNotFoundError:
            pass

    def open(self, path: str, mode: str = "rb") -> BinaryIO:
        full = self._full(path)
        if "w" in mode:
            self._makedirs(posixpath.dirname(full))
        return self.fs.open(full, mode)

    def _makedirs(self, full_dir: str) -> None:  # noqa: B027 - object stores need no directories
        return None

    def child(self, subpath: str) -> Storage:
        """A storage rooted at ``root/subpath`` sharing this filesystem."""
        return type(self)(
            f"{self.root}/{subpath}", self.fs, posixpath.join(self.fs_root, subpath), self.options
        )


def _is_absolute(path: str) -> bool:
    return "://" in path or path.startswith("/")


def _mtime_ms(entry: dict) -> int:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        v = entry.get(key)
        if v is None:
            continue
        if hasattr(v, "timestamp"):
            return int(v.timestamp() * 1000)
        return int(float(v) * 1000)
    return 0
