"""Snapshots kept across statements, keyed by table identity and version (``Runtime.resolve_snapshot``).

A snapshot of a version never changes, so the runtime keeps the last few. The key is the table's
location and version plus a fingerprint of that version's commit file: a table dropped and created
again at the same location has the same (location, version) pairs, and the commit file's content (its
commitInfo carries a unique txnId) tells the incarnations apart. On S3 the fingerprint is the commit's
size and ETag from the listing that found it (``Table.log_tag``: no request); elsewhere a digest of
the file. A newer version of a table kept here is built from the newest kept one (still the same
incarnation) by reading only the commits after it, by name: no log listing, no replay from the last
checkpoint.

``StatementPins``: a statement outside a transaction reads every catalog table it names at one
catalog state (the ratified versions of all tables, read once, when its first table is resolved), so
that it never sees a multi-table transaction half applied (docs/transactions.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lakehouse import Snapshot
from lakehouse.log.files import commit_path
from lakehouse.log.latest import still_latest
from lakehouse.log.replay import read_state_after
from lakehouse.maintenance.vacuum import check_version_retained

if TYPE_CHECKING:
    from lakehouse import Table

SNAPSHOT_CACHE = 64  # snapshots kept
INCREMENTAL = 50  # a version at most this far past a kept one is built from it


class RecentSnapshots:
    """The last ``limit`` snapshots read, least recently used first out."""

    def __init__(self, limit: int = SNAPSHOT_CACHE):
        self._limit = limit
        self._snapshots: OrderedDict[tuple[str, int], tuple[bytes, Snapshot]] = OrderedDict()
        self._lock = threading.Lock()  # a statement's tables may be resolved by several threads

    def snapshot(self, table: Table, version: int, *, asked: bool) -> Snapshot:
        """``table.snapshot(version=version)``, from the cache when its commit file is unchanged.

        ``asked``: the caller named the version (time travel), so a VACUUM since it was cached may
        have deleted its files: that is checked again.
        """
        key = (table.uri, version)
        with self._lock:
            cached = self._snapshots.get(key)
        if cached is not None:
            fingerprint = _commit_fingerprint(table, version)
            if fingerprint is not None and cached[0] == fingerprint:
                if asked:
                    check_version_retained(table.storage, version, latest=version + 1)
                with self._lock:
                    if key in self._snapshots:
                        self._snapshots.move_to_end(key)
                return cached[1]
        snap = None if asked else self._from_kept(table, version)
        if snap is None:
            snap = table.snapshot(version=version)
        fingerprint = _commit_fingerprint(table, version)  # known from the listing just read (S3)
        if fingerprint is not None:
            with self._lock:
                self._snapshots[key] = (fingerprint, snap)
                while len(self._snapshots) > self._limit:
                    self._snapshots.popitem(last=False)
        return snap

    def _from_kept(self, table: Table, version: int) -> Snapshot | None:
        """``version`` (whose commit file exists) built from the newest kept older snapshot of the same
        table, or None when there is none close enough or it belongs to another incarnation."""
        with self._lock:
            older = [v for (uri, v) in self._snapshots if uri == table.uri and v < version]
            kept = self._snapshots.get((table.uri, max(older))) if older else None
        if kept is None or version - max(older) > INCREMENTAL:
            return None
        if _commit_fingerprint(table, max(older)) != kept[0]:
            return None
        try:
            return Snapshot(table.storage, read_state_after(table.storage, kept[1].log_state, version))
        except FileNotFoundError:  # cleaned up meanwhile: the full read lists the log
            return None


class StatementPins:
    """Per thread, the catalog's ratified versions of all tables, read once per statement."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def statement(self) -> Iterator[None]:
        """Reads inside share one catalog state (re-entrant: a nested statement shares the outer's)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.versions = None
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self._local.versions = None

    def refresh(self) -> None:
        """The statement re-runs: read the catalog state again when a table is resolved next."""
        self._local.versions = None

    def pinning(self, catalog: object) -> bool:
        """True inside a statement, for a catalog that ratifies commits."""
        return bool(getattr(self._local, "depth", 0)) and hasattr(
            getattr(catalog, "commits", None), "all_versions"
        )

    def version(self, catalog: object, uri: str) -> int | None:
        """The version of the table at ``uri`` in this statement's catalog state (read on first use);
        None outside a statement, for a catalog that ratifies no commits, or a table it never did."""
        if not getattr(self._local, "depth", 0):
            return None
        versions = self._local.versions
        if versions is None:
            read = getattr(getattr(catalog, "commits", None), "all_versions", None)
            versions = self._local.versions = read() if callable(read) else {}
        return versions.get(uri)


def _commit_fingerprint(table: Table, version: int) -> bytes | None:
    """What tells ``version``'s commit file apart from any other: its size and ETag when the table's
    last listing named them (S3, no request), else a digest of the file; None if it cannot be read
    (then nothing is cached)."""
    tag = table.log_tag(version)
    if tag is not None:
        return tag.encode()
    try:
        return hashlib.blake2b(table.storage.read(commit_path(version)), digest_size=16).digest()
    except (OSError, ValueError):
        return None


class LatestSnapshots:
    """The latest snapshot of each table name, checked for freshness without a log listing.

    A cached ``(Table, Snapshot)`` for a name stays valid while

    - the catalog's ``change_token()`` is unchanged (nothing created, dropped, renamed or committed
      through it anywhere), or, for a catalog without a token, the name still means the same location;
    - for a table whose commits the catalog ratifies (SQLite, Postgres), that is all: the ratified
      version is the truth and any ratification changes the token, so no request at all; otherwise
    - the next commit file ``_delta_log/<v+1>.json`` does not exist, and for a location the catalog
      may reuse (a catalog without a token, or a table outside the warehouse: dropped and created
      again there by another tool), ``<v>.json`` is still the same commit. On S3 both are one listing
      from ``<v>.json`` on (``lakehouse.log.latest.still_latest``); elsewhere an existence check and a
      read of the commit.

    ``Runtime.resolve_latest`` checks the tables of one statement in parallel (one round trip).
    """

    def __init__(self, limit: int = SNAPSHOT_CACHE * 4):
        self._limit = limit
        # name -> (token, table, snapshot, fingerprint, ratified: the catalog ratified that version)
        self._entries: OrderedDict[str, tuple[object, Table, Snapshot, bytes | None, bool]] = OrderedDict()
        self._lock = threading.Lock()  # statements of several threads share a runtime

    def token(self, catalog: object) -> object | None:
        """The catalog's change token, read before a lookup whose result is then ``store``-d."""
        get = getattr(catalog, "change_token", None)
        try:
            return get() if callable(get) else None
        except Exception:  # a token is an optimisation: without one, names are looked up again
            return None

    def lookup(self, catalog: object, name: str) -> tuple[Table, Snapshot] | None:
        """The cached latest ``(Table, Snapshot)`` of ``name`` if still fresh, else None."""
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            return None
        token, table, snap, fingerprint, ratified = entry
        try:
            now = self.token(catalog)
            if now is None or token is None:
                fixed = catalog.fixed_location(name)  # type: ignore[attr-defined]
                if fixed is None:
                    fixed = catalog.load_table(name).uri  # type: ignore[attr-defined]
                if fixed != table.uri:
                    return None
                same_place = False
            elif now != token:
                return None
            elif ratified:
                same_place = True  # the catalog's version is the truth, and nothing was ratified since
            else:
                same_place = catalog.is_inside_warehouse(table.uri)  # type: ignore[attr-defined]
            if not (ratified and now == token) and not self._unchanged(table, snap, fingerprint, same_place):
                return None
        except Exception:  # whatever went wrong, the full resolution reports it properly
            return None
        return self._hit(name, table, snap)

    def _hit(self, name: str, table: Table, snap: Snapshot) -> tuple[Table, Snapshot]:
        with self._lock:
            if name in self._entries:
                self._entries.move_to_end(name)
        return table, snap

    @staticmethod
    def _unchanged(table: Table, snap: Snapshot, fingerprint: bytes | None, same_place: bool) -> bool:
        """No commit after ``snap`` and (unless ``same_place``) its commit is still the one seen."""
        verdict = still_latest(
            table.storage, snap.version, fingerprint.decode(errors="replace") if fingerprint else None
        )
        if verdict is not None:
            return verdict
        if table.storage.exists(commit_path(snap.version + 1)):
            return False
        return same_place or _commit_fingerprint(table, snap.version) == fingerprint

    def store(self, token: object | None, name: str, table: Table, snap: Snapshot) -> None:
        fingerprint = _commit_fingerprint(table, snap.version)
        if fingerprint is None:
            return
        ratified = token is not None and table.is_ratified(snap.version)
        with self._lock:
            self._entries[name] = (token, table, snap, fingerprint, ratified)
            self._entries.move_to_end(name)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
