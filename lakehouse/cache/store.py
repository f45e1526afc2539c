"""A persistent, size-bounded cache of immutable remote bytes on local disk, shared by processes.

Layout under the cache root (one per machine and user by default, ``default_cache_dir()``)::

    v1/data/ab/<sha256>     one entry: a whole data file or one byte range of it
    v1/tmp/<pid>.<uuid>     fills in progress (a dead process's are removed by the next eviction)
    v1/lock                 flock: accounting and eviction run under it
    v1/usage.json           {"bytes": ..., "entries": ...}, kept under the lock
    v1/stats.json           cumulative hits / misses / bytes fetched (``info()``)
    sessions/<pid>-<id>/    per-session views: hard links named like the object keys (engine.filecache)

An entry is published by writing a temp file completely and then ``os.link``-ing it to its final name,
so a reader either finds a whole entry or none: a filler killed by SIGKILL leaves only a temp file.
Every entry's key includes its length and ``get`` checks the file's length, so even a damaged entry is
never served. Recency is the entry's mtime (touched on hits); when the accounted bytes pass the bound,
the least recently used entries are removed under the lock until 90% of the bound is left. Entries are
immutable, so a reader that holds one open (or a session's hard link) keeps reading correct bytes after
an eviction removed its name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DEFAULT_CACHE_SIZE = 10 * 1024**3  # bytes; connect(cache_size=...) or LAKEHOUSE_CACHE_SIZE changes it
LOW_WATER = 0.9  # an eviction leaves this fraction of the bound used
TOUCH_AFTER = 30.0  # seconds: a hit refreshes an entry's mtime at most this often (one syscall saved)
STALE_TMP = 3600.0  # seconds: a temp file this old is removed even when its pid is alive (reused pids)


def default_cache_dir() -> Path:
    """``$LAKEHOUSE_CACHE_DIR``, else ``lakehouse/data`` in the user cache directory: ``$XDG_CACHE_HOME``,
    ``~/.cache`` (``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows)."""
    env = os.environ.get("LAKEHOUSE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "lakehouse" / "data"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "lakehouse" / "data"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lakehouse" / "data"


def default_cache_size() -> int:
    env = os.environ.get("LAKEHOUSE_CACHE_SIZE")
    return parse_size(env) if env else DEFAULT_CACHE_SIZE


def parse_size(value: int | str) -> int:
    """Bytes from ``1048576``, ``"512MB"``, ``"10 GiB"`` (decimal and binary units)."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"cache_size must be positive, got {value}")
        return value
    text = str(value).strip().upper().replace(" ", "")
    units = {"TIB": 1024**4, "GIB": 1024**3, "MIB": 1024**2, "KIB": 1024, "TB": 10**12, "GB": 10**9}
    units |= {"MB": 10**6, "KB": 10**3, "T": 1024**4, "G": 1024**3, "M": 1024**2, "K": 1024, "B": 1}
    for unit, factor in units.items():
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return max(1, int(float(text[: -len(unit)]) * factor))
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"cannot read cache size {value!r}: give bytes (1073741824) or a unit ('1GiB', '500MB')")


def entry_key(remote: str, size: int, start: int | None = None, length: int | None = None) -> str:
    """The key of a whole remote object (``start=None``) or of ``length`` bytes of it from ``start``."""
    text = f"{remote}\0{size}" if start is None else f"{remote}\0{size}\0{start}\0{length}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Counters:
    """What this process asked of one cache: entries found, entries fetched, bytes fetched."""

    hits: int = 0
    misses: int = 0
    bytes_fetched: int = 0
    bytes_served: int = 0

    def add(self, other: Counters) -> None:
        self.hits += other.hits
        self.misses += other.misses
        self.bytes_fetched += other.bytes_fetched
        self.bytes_served += other.bytes_served

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class DiskCache:
    """The cache under ``directory`` holding at most ``max_bytes`` of entries (see the module docs).

    >>> cache = DiskCache("/tmp/lh-cache", 1 << 30)                    # doctest: +SKIP
    >>> path = cache.get(key, 1234) or cache.fill(key, 1234, fetch)    # doctest: +SKIP
    """

    def __init__(self, directory: str | os.PathLike, max_bytes: int):
        self.root = Path(directory).expanduser().resolve()
        self.max_bytes = int(max_bytes)
        self.base = self.root / "v1"
        self.data = self.base / "data"
        self.tmp = self.base / "tmp"
        self.sessions = self.root / "sessions"
        for d in (self.data, self.tmp, self.sessions):
            d.mkdir(parents=True, exist_ok=True)
        self.counters = Counters()  # this process, cumulative
        self._unflushed = Counters()
        self._mutex = threading.Lock()

    def reset_after_fork(self) -> None:
        self._mutex = threading.Lock()

    # ------------------------------------------------------------------------------ entries

    def path(self, key: str) -> Path:
        return self.data / key[:2] / key

    def get(self, key: str, size: int, served: int | None = None) -> Path | None:
        """The entry's path if it is cached whole (``size`` bytes), else None; a hit refreshes its recency."""
        p = self.path(key)
        try:
            st = p.stat()
        except FileNotFoundError:
            return None
        if st.st_size != size:  # cannot happen for a published entry; never serve it anyway
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
            return None
        now = time.time()
        if now - st.st_mtime > TOUCH_AFTER:
            with contextlib.suppress(FileNotFoundError):
                os.utime(p, (now, now))
        self._count(hits=1, bytes_served=size if served is None else served)
        return p

    def read(self, key: str, size: int) -> bytes | None:
        """The entry's bytes, or None when it is not cached (or was evicted a moment ago)."""
        p = self.get(key, size)
        if p is None:
            return None
        try:
            with open(p, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        return data if len(data) == size else None

    def read_slice(self, key: str, size: int, offset: int, length: int) -> bytes | None:
        """``length`` bytes from ``offset`` of the entry (``size`` bytes), or None when it is not cached."""
        p = self.get(key, size, served=length)
        if p is None:
            return None
        try:
            with open(p, "rb") as f:
                f.seek(offset)
                data = f.read(length)
        except FileNotFoundError:
            return None
        return data if len(data) == length else None

    def fill(
        self,
        key: str,
        size: int,
        write: Callable[[BinaryIO], None],
        *,
        link_to: Path | None = None,
    ) -> Path:
        """Publish an entry whose bytes ``write(file)`` produces; the result must be exactly ``size`` bytes.

        ``link_to``: also hard-link the new entry there (a session's view) before it is published, so an
        eviction racing with us cannot take it away from the caller. Returns the entry's path.
        """
        tmp = self.tmp / f"{os.getpid()}.{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as f:
                write(f)
                written = f.tell()
            if written != size:
                raise OSError(f"cache fill wrote {written} bytes, expected {size}")
            if link_to is not None:
                link_to.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, link_to)
            final = self.path(key)
            final.parent.mkdir(exist_ok=True)
            try:
                os.link(tmp, final)  # appears complete or not at all; the first filler wins
                added = size
            except FileExistsError:
                added = 0
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._count(misses=1, bytes_fetched=size)
        if added:
            self._account(added, 1)
        return final

    def put(self, key: str, data: bytes) -> Path:
        return self.fill(key, len(data), lambda f: f.write(data))

    # ------------------------------------------------------------------------------ accounting

    def _count(self, **deltas: int) -> None:
        with self._mutex:
            for name, d in deltas.items():
                setattr(self.counters, name, getattr(self.counters, name) + d)
                setattr(self._unflushed, name, getattr(self._unflushed, name) + d)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The cache's inter-process lock (flock on ``v1/lock``); threads of this process queue on it too."""
        fd = os.open(self.base / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _read_json(self, name: str) -> dict:
        try:
            return json.loads((self.base / name).read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _write_json(self, name: str, value: dict) -> None:
        tmp = self.tmp / f"{name}.{os.getpid()}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(value))
        os.replace(tmp, self.base / name)

    def _account(self, added_bytes: int, added_entries: int) -> None:
        with self.locked():
            usage = self._read_json("usage.json")
            if "bytes" not in usage:
                usage = self._scan_usage()
            else:
                usage = {"bytes": usage["bytes"] + added_bytes, "entries": usage["entries"] + added_entries}
            if usage["bytes"] > self.max_bytes:
                usage = self._evict(int(self.max_bytes * LOW_WATER))
            self._write_json("usage.json", usage)

    def account(self, added_bytes: int, added_entries: int) -> None:
        """Count entries that other code published in ``data/`` toward the bound (the log cache,
        ``lakehouse.log.log_cache``), evicting if the bound is passed."""
        self._account(added_bytes, added_entries)

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        for sub in os.scandir(self.data):
            if not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                out.append((st.st_mtime, st.st_size, Path(e.path)))
        return out

    def _scan_usage(self) -> dict:
        entries = self._entries()
        return {"bytes": sum(s for _, s, _ in entries), "entries": len(entries)}

    def _evict(self, target: int) -> dict:
        """Remove least recently used entries until at most ``target`` bytes remain (under the lock)."""
        entries = sorted(self._entries(), key=lambda e: e[0])
        total = sum(s for _, s, _ in entries)
        kept = len(entries)
        for _, size, p in entries:
            if total <= target:
                break
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
            total -= size
            kept -= 1
        self._sweep()
        return {"bytes": total, "entries": kept}

    def _sweep(self) -> None:
        """Remove temp files and session views left by processes that died (SIGKILL, power loss)."""
        now = time.time()
        for e in os.scandir(self.tmp):
            pid = e.name.split(".", 1)[0]
            try:
                old = now - e.stat().st_mtime > STALE_TMP
            except FileNotFoundError:
                continue
            if old or (pid.isdigit() and not _alive(int(pid))):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(e.path)
        for e in os.scandir(self.sessions):
            pid = e.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                import shutil

                shutil.rmtree(e.path, ignore_errors=True)

    def flush_stats(self) -> None:
        """Add this process's counters since the last flush to the cumulative ``stats.json``."""
        with self._mutex:
            delta, self._unflushed = self._unflushed, Counters()
        if not (delta.hits or delta.misses):
            return
        with self.locked():
            stats = Counters(
                **{k: int(v) for k, v in self._read_json("stats.json").items() if k in delta.__dict__}
            )
            stats.add(delta)
            self._write_json("stats.json", stats.as_dict())

    # ------------------------------------------------------------------------------ inspection

    def info(self) -> dict:
        """Size, entries, bound and the cumulative hit rate of every process that used this cache."""
        self.flush_stats()
        with self.locked():
            usage = self._scan_usage()
            self._write_json("usage.json", usage)
            stats = self._read_json("stats.json")
        asked = int(stats.get("hits", 0)) + int(stats.get("misses", 0))
        return {
            "directory": str(self.root),
            "bytes": usage["bytes"],
            "entries": usage["entries"],
            "max_bytes": self.max_bytes,
            "hits": int(stats.get("hits", 0)),
            "misses": int(stats.get("misses", 0)),
            "bytes_fetched": int(stats.get("bytes_fetched", 0)),
            "hit_rate": (int(stats.get("hits", 0)) / asked) if asked else None,
        }

    def clear(self) -> dict:
        """Remove every entry (readers holding one open keep their bytes); returns what was removed."""
        with self.locked():
            usage = self._scan_usage()
            self._evict(0)
            import shutil

            shutil.rmtree(self.base / "ranges", ignore_errors=True)  # range indexes (engine.filecache)
            self._write_json("usage.json", {"bytes": 0, "entries": 0})
            self._write_json("stats.json", Counters().as_dict())
        return usage

    def new_session_dir(self) -> Path:
        """A directory of this process for one session's views (removed by the session, or by a sweep)."""
        d = self.sessions / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        d.mkdir(parents=True)
        return d


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
