"""Remote data files through the disk cache: whole local copies, or a file object reading cached ranges.

``DataCache.localize`` gives DuckDB plain local files (hard links of whole-file entries, named like the
object keys so Hive-style directories survive); ``DataCache.open`` gives the Arrow reader a seekable file
that fetches and caches exactly the byte ranges it reads (a Parquet footer, then the selected columns'
chunks of the surviving row groups), or a whole small file when that costs less than several requests.
Both key entries by the object (endpoint + path) and its size from the Delta log: data files never change.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .fetch import RangeFetcher
from .store import DiskCache, entry_key

# A file this small is fetched whole on first read: one request instead of a footer and several column
# chunks. Measured on the local S3 server (benchmarks/s3_bench.py): a GET costs ~2-4 ms plus ~1 ms/MB, so
# below ~1 MiB the extra requests of range reads cost more than the bytes they save.
WHOLE_FILE_BELOW = 1 << 20


def remote_name(fs: object, path: str) -> str:
    """A name for ``path`` unique across stores: the endpoint, the protocol and the path."""
    kwargs = getattr(fs, "client_kwargs", None) or {}
    endpoint = kwargs.get("endpoint_url") or getattr(fs, "endpoint_url", None) or ""
    proto = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol  # type: ignore[attr-defined]
    return f"{endpoint}|{proto}://{fs._strip_protocol(path)}"  # type: ignore[attr-defined]


class DataCache:
    """One ``DiskCache`` plus a ``RangeFetcher`` per filesystem (latencies are learned per store)."""

    def __init__(self, disk: DiskCache, *, whole_file_below: int = WHOLE_FILE_BELOW):
        self.disk = disk
        self.whole_file_below = whole_file_below
        self._fetchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._ranges: dict[str, list[tuple[int, int]]] = {}  # remote -> cached (start, end), sorted
        self._lock = threading.Lock()

    def reset_after_fork(self) -> None:
        """In a forked child: fresh locks, and no fetchers bound to the parent's filesystems."""
        self._lock = threading.Lock()
        self._fetchers = weakref.WeakKeyDictionary()
        self.disk.reset_after_fork()

    def fetcher(self, fs: object) -> RangeFetcher:
        with self._lock:
            try:
                f = self._fetchers.get(fs)
            except TypeError:  # unhashable filesystem
                return RangeFetcher(fs)
            if f is None:
                f = self._fetchers[fs] = RangeFetcher(fs)
            return f

    def counters(self) -> dict[str, int]:
        """This process's totals: cache hits, misses, bytes fetched; GETs sent, hedged and retried."""
        out = self.disk.counters.as_dict()
        with self._lock:
            fetchers = list(self._fetchers.values())
        for name in ("requests", "hedges", "retries"):
            out[name] = sum(getattr(f.stats, name) for f in fetchers)
        return out

    # ------------------------------------------------------------------------------ whole files

    def localize(
        self,
        fs: object,
        paths: Sequence[str],
        sizes: Sequence[int],
        view: Path,
        *,
        ranges_above: int | None = None,
    ) -> list[str | None]:
        """Local files holding ``paths`` (fs paths, ``sizes`` from the log), under the session's ``view``
        directory and named like the object keys; files not cached yet are fetched concurrently.

        ``ranges_above``: a file larger than this that is not cached whole is not fetched; its entry is
        None and the caller reads it by ranges (``open``)."""
        out: list[str | None] = []
        missing = []
        for i, (p, size) in enumerate(zip(paths, sizes, strict=True)):
            local = view_path(view, fs, p)
            out.append(str(local))
            if local.exists():  # this session linked it already
                self.disk._count(hits=1, bytes_served=size)
                continue
            entry = self.disk.get(entry_key(remote_name(fs, p), size), size)
            if entry is None and ranges_above is not None and size > ranges_above:
                out[-1] = None
                continue
            if entry is not None:
                local.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(entry, local)
                    continue
                except FileExistsError:
                    continue
                except FileNotFoundError:  # evicted a moment ago
                    pass
            missing.append(i)

        def done(j: int, data: bytes) -> None:
            i = missing[j]
            key = entry_key(remote_name(fs, paths[i]), sizes[i])
            self.disk.fill(key, sizes[i], lambda f: f.write(data), link_to=Path(out[i]))  # type: ignore[arg-type]

        self.fetcher(fs).fetch_many([(paths[i], 0, sizes[i]) for i in missing], done)
        return out

    # ------------------------------------------------------------------------------ ranges

    def open(self, fs: object, path: str, size: int) -> BinaryIO:
        """A seekable binary file of ``path`` (``size`` bytes) reading through the cache."""
        remote = remote_name(fs, path)
        whole = entry_key(remote, size)
        entry = self.disk.get(whole, size)
        if entry is None and size <= self.whole_file_below:
            data = self.fetcher(fs).fetch(path, 0, size)
            entry = self.disk.put(whole, data)
            with contextlib.suppress(FileNotFoundError):
                return open(entry, "rb")  # noqa: SIM115 - the caller closes it
            return io.BytesIO(data)
        if entry is not None:
            with contextlib.suppress(FileNotFoundError):
                return open(entry, "rb")  # noqa: SIM115 - the caller closes it
        # Unbuffered: each read is exactly the range the Parquet reader asked for (one request, one key).
        return _RangeFile(self, fs, path, remote, size)  # type: ignore[return-value]

    def read_range(self, fs: object, path: str, remote: str, size: int, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``: from entries holding them (one, or several side by side, cached by any
        process), the parts no entry holds fetched (concurrently) and cached as entries of their own."""
        data = self.disk.read(entry_key(remote, size, start, end - start), end - start)
        if data is not None:
            return data
        parts: list[bytes | None] = []
        gaps: list[tuple[int, int, int]] = []  # (index in parts, start, end)
        for s, e, source in _cover(self._known(remote, size), start, end):
            piece = None
            if source is not None:
                key = entry_key(remote, size, source[0], source[1] - source[0])
                piece = self.disk.read_slice(key, source[1] - source[0], s - source[0], e - s)
            if piece is None:  # not cached (or evicted a moment ago): fetch it
                gaps.append((len(parts), s, e))
            parts.append(piece)
        if gaps:

            def done(j: int, got: bytes) -> None:
                i, s, _ = gaps[j]
                parts[i] = got
                self.store_range(remote, size, s, got)

            self.fetcher(fs).fetch_many([(path, s, e) for _, s, e in gaps], done)
        return parts[0] if len(parts) == 1 else b"".join(parts)  # type: ignore[arg-type]

    def store_range(self, remote: str, size: int, start: int, data: bytes) -> None:
        """Cache ``data`` (bytes from ``start`` of ``remote``) as an entry, findable by containment."""
        end = start + len(data)
        self.disk.put(entry_key(remote, size, start, len(data)), data)
        with self._lock:
            known = self._ranges.setdefault(remote, [])
            if (start, end) not in known:
                known.append((start, end))
        # The file's range index: what other processes can look up by containment, not only by key.
        # One short O_APPEND write per range: whole lines, whatever other writers do.
        index = self._index_path(remote, size)
        index.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{start} {end}\n".encode())
        finally:
            os.close(fd)

    def missing(self, remote: str, size: int, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` no known cached range holds."""
        return [(s, e) for s, e, source in _cover(self._known(remote, size), start, end) if source is None]

    def _index_path(self, remote: str, size: int) -> Path:
        key = entry_key(remote, size)
        return self.disk.base / "ranges" / key[:2] / key

    def _known(self, remote: str, size: int) -> list[tuple[int, int]]:
        """The ranges of ``remote`` cached as entries (by this process, or listed in its range index)."""
        with self._lock:
            if remote in self._ranges:
                return list(self._ranges[remote])
        found: list[tuple[int, int]] = []
        try:
            text = self._index_path(remote, size).read_text()
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                found.append((int(parts[0]), int(parts[1])))
        with self._lock:
            known = self._ranges.setdefault(remote, [])
            known.extend(r for r in found if r not in known)
            return list(known)


def _cover(
    known: list[tuple[int, int]], start: int, end: int
) -> list[tuple[int, int, tuple[int, int] | None]]:
    """``[start, end)`` as consecutive parts ``(s, e, source)``: ``source`` the known range holding the
    part (the one reaching furthest), or None for a part no known range holds."""
    out: list[tuple[int, int, tuple[int, int] | None]] = []
    pos = start
    while pos < end:
        holding = [r for r in known if r[0] <= pos < r[1]]
        if holding:
            best = max(holding, key=lambda r: r[1])
            stop = min(end, best[1])
            out.append((pos, stop, best))
        else:
            stop = min([r[0] for r in known if pos < r[0] < end], default=end)
            out.append((pos, stop, None))
        pos = stop
    return out


class _RangeFile(io.RawIOBase):
    """The raw file under ``DataCache.open``: every read is a cached range (a position per thread)."""

    def __init__(self, cache: DataCache, fs: object, path: str, remote: str, size: int):
        super().__init__()
        self._cache, self._fs, self._path, self._remote, self._size = cache, fs, path, remote, size
        self._local = threading.local()

    # The position is per thread: DuckDB's Python-filesystem bridge reads a shared handle from several
    # threads as seek(location) then read(n); with one shared position another thread's seek between
    # the two gave a read at the wrong place (the corrupt bytes seen before). A thread's seek + read pair
    # is never split, so a per-thread position is always the one its read means.
    @property
    def _pos(self) -> int:
        return getattr(self._local, "pos", 0)

    @_pos.setter
    def _pos(self, value: int) -> None:
        self._local.pos = value

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        start = self._pos
        end = min(self._size, start + len(buffer))
        if end <= start:
            return 0
        data = self._cache.read_range(self._fs, self._path, self._remote, self._size, start, end)
        buffer[: end - start] = data
        self._pos = end
        return end - start

    def read(self, size: int = -1) -> bytes:
        # One request for the whole read (RawIOBase.read would go through readinto of a fresh buffer).
        start = self._pos
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        if end <= start:
            return b""
        data = self._cache.read_range(self._fs, self._path, self._remote, self._size, start, end)
        self._pos = end
        return data

    def size(self) -> int:
        return self._size


def view_path(view: Path, fs: object, path: str) -> Path:
    """Where a session's view shows the object ``path``: its key under ``view`` (a hash if it has '..')."""
    key = fs._strip_protocol(path).lstrip("/")  # type: ignore[attr-defined]
    if ".." in key.split("/"):
        return view / "_hashed" / hashlib.sha256(key.encode()).hexdigest()[:32]
    return view / key
