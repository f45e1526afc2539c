"""Published log files in the local cache, so a new process does not fetch a table's log again.

A published ``_delta_log`` file (a commit, a checkpoint part) never changes, but a path can hold another
file later: a table dropped and created again at the same place has a ``00000000000000000003.json``
of its own. So an entry is keyed by what names one *content*: the object (endpoint + path), its size
and its ETag, all three from the listing that found it (``LogListing.tags``; S3 only). ``_last_checkpoint``
and other mutable files are never listed with a tag, so never cached.

A *head* is what a catalog-managed table needs to be read at its ratified version with no request at
all: the listing of the files that build version N (the newest checkpoint up to N and the commits
after it, with their tags), keyed by the table's location, N and the transaction id the catalog
ratified as N. The catalog's ratified version is the truth for such a table, and a transaction id is
unique, so a head cannot describe another incarnation of the table or another commit N; it is saved
only from a listing that holds ``N.json``, so it also proves N was published.

Entries are framed (length and SHA-256 of the body): a torn or damaged entry is never used, it is
removed and the file is fetched again. They live in the data cache's directory (``lakehouse.cache``),
share its size bound and eviction, and ``lakehouse cache clear`` removes them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..storage import Storage

if TYPE_CHECKING:
    from ..cache import DiskCache

# a listing as ``replay.LogListing`` holds it: commits, checkpoints, tags (see there)
Parts = tuple[dict[int, tuple[str, int]], dict[int, list[str]], dict[str, tuple[int, str]]]

_MAGIC = b"LHLOG1\n"
_HEADER = struct.Struct(">Q32s")  # body length, SHA-256 of the body


class LogCacheStats:
    """What this process asked of the log cache (tests and benchmarks read it)."""

    def __init__(self) -> None:
        self.hits = self.misses = self.head_hits = self.head_misses = 0
        self._lock = threading.Lock()

    def add(self, **deltas: int) -> None:
        with self._lock:
            for k, d in deltas.items():
                setattr(self, k, getattr(self, k) + d)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("hits", "misses", "head_hits", "head_misses")}


STATS = LogCacheStats()


def read(storage: Storage, path: str, tag: tuple[int, str] | None) -> bytes:
    """The bytes of log file ``path``: from the cache when ``tag`` (its listed size and ETag) names an
    entry there, else one GET (then cached under that tag)."""
    disk = _disk(storage) if tag is not None else None
    if disk is None or tag is None:
        return storage.read(path)
    key = _file_key(storage, path, tag)
    data = _get(disk, key)
    if data is not None:
        STATS.add(hits=1)
        return data
    data = storage.read(path)
    STATS.add(misses=1)
    if len(data) == tag[0]:  # a listing racing an overwrite (not of a commit) would disagree: skip
        _put(disk, key, data)
    return data


def load_head(storage: Storage, version: int, txn: str | None) -> Parts | None:
    """The listing that builds ``version`` of the catalog-managed table at ``storage`` whose catalog
    ratified transaction ``txn`` as that version, if this machine saw it; else None."""
    disk = _disk(storage) if txn else None
    if disk is None:
        return None
    raw = _get(disk, _head_key(storage, version, txn))  # type: ignore[arg-type]
    if raw is None:
        STATS.add(head_misses=1)
        return None
    d = json.loads(raw)
    STATS.add(head_hits=1)
    return (
        {int(v): (p, int(m)) for v, (p, m) in d["commits"].items()},
        {int(v): list(ps) for v, ps in d["checkpoints"].items()},
        {p: (int(s), str(t)) for p, (s, t) in d["tags"].items()},
    )


def has_head(storage: Storage, version: int, txn: str | None) -> bool:
    """True if ``load_head`` would answer (one local stat; proves ``version`` was published)."""
    disk = _disk(storage) if txn else None
    return disk is not None and disk.path(_head_key(storage, version, txn)).exists()  # type: ignore[arg-type]


def save_head(storage: Storage, version: int, txn: str | None, listing: Parts) -> None:
    """Remember what builds ``version`` (ratified as ``txn``) from ``listing``, which holds its commit."""
    all_commits, all_checkpoints, tags = listing
    disk = _disk(storage) if txn else None
    if disk is None or version not in all_commits:
        return
    cps = [v for v in all_checkpoints if v <= version]
    start = max(cps) if cps else 0
    commits = {v: pm for v, pm in all_commits.items() if start <= v <= version}
    checkpoints = {start: all_checkpoints[start]} if cps else {}
    files = [p for p, _ in commits.values()] + [p for ps in checkpoints.values() for p in ps]
    if any(p not in tags for p in files):  # every file must be cacheable, or it is no use
        return
    body = {
        "commits": {str(v): list(pm) for v, pm in commits.items()},
        "checkpoints": {str(v): ps for v, ps in checkpoints.items()},
        "tags": {p: list(tags[p]) for p in files},
    }
    key = _head_key(storage, version, txn)  # type: ignore[arg-type]
    if not disk.path(key).exists():
        _put(disk, key, json.dumps(body).encode())


# ------------------------------------------------------------------------------ entries


def _disk(storage: Storage) -> DiskCache | None:
    if storage.scheme != "s3":
        return None
    from ..cache import open_data_cache

    try:
        return (storage.data_cache or open_data_cache()).disk
    except OSError:  # no usable cache directory: read from the store
        return None


def _remote(storage: Storage, path: str) -> str:
    from ..cache import remote_name

    return remote_name(storage.fs, storage.full_path(path))


def _file_key(storage: Storage, path: str, tag: tuple[int, str]) -> str:
    text = f"lakehouse-log\0{_remote(storage, path)}\0{tag[0]}\0{tag[1]}"
    return hashlib.sha256(text.encode()).hexdigest()


def _head_key(storage: Storage, version: int, txn: str) -> str:
    text = f"lakehouse-log-head\0{_remote(storage, '')}\0{version}\0{txn}"
    return hashlib.sha256(text.encode()).hexdigest()


def _get(disk: DiskCache, key: str) -> bytes | None:
    """An entry's body if it is whole and undamaged; a damaged entry is removed."""
    p: Path = disk.path(key)
    try:
        with open(p, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    head = len(_MAGIC) + _HEADER.size
    if len(raw) >= head and raw.startswith(_MAGIC):
        length, digest = _HEADER.unpack_from(raw, len(_MAGIC))
        body = raw[head:]
        if len(body) == length and hashlib.sha256(body).digest() == digest:
            _touch(p)
            return body
    with contextlib.suppress(FileNotFoundError):
        p.unlink()
    return None


def _put(disk: DiskCache, key: str, body: bytes) -> None:
    """Publish an entry (temp file, then a hard link: whole or absent); errors only lose the entry."""
    framed = _MAGIC + _HEADER.pack(len(body), hashlib.sha256(body).digest()) + body
    tmp = disk.tmp / f"{os.getpid()}.{uuid.uuid4().hex}"
    try:
        tmp.write_bytes(framed)
        final = disk.path(key)
        final.parent.mkdir(exist_ok=True)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return
        disk.account(len(framed), 1)
    except OSError:
        return
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _touch(p: Path) -> None:
    """Refresh the entry's recency (the cache evicts least recently used entries first)."""
    from ..cache.store import TOUCH_AFTER

    with contextlib.suppress(OSError):
        now = time.time()
        if now - p.stat().st_mtime > TOUCH_AFTER:
            os.utime(p, (now, now))
