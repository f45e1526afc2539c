"""Snapshots kept across statements, keyed by table identity and version (``Runtime.resolve_snapshot``).

A snapshot of a version never changes, so the runtime keeps the last few. The key is the table's
location and version plus a digest of that version's commit file: a table dropped and created again
at the same location has the same (location, version) pairs, and the commit file's content (its
commitInfo carries a unique txnId) tells the incarnations apart.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING

from lakehouse.log.files import commit_path
from lakehouse.maintenance.vacuum import check_version_retained

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table

SNAPSHOT_CACHE = 64  # snapshots kept


class RecentSnapshots:
    """The last ``limit`` snapshots read, least recently used first out."""

    def __init__(self, limit: int = SNAPSHOT_CACHE):
        self._limit = limit
        self._snapshots: OrderedDict[tuple[str, int], tuple[bytes, Snapshot]] = OrderedDict()

    def snapshot(self, table: Table, version: int, *, asked: bool) -> Snapshot:
        """``table.snapshot(version=version)``, from the cache when its commit file is unchanged.

        ``asked``: the caller named the version (time travel), so a VACUUM since it was cached may
        have deleted its files: that is checked again.
        """
        key = (table.uri, version)
        fingerprint = _commit_fingerprint(table, version)
        cached = self._snapshots.get(key)
        if cached is not None and fingerprint is not None and cached[0] == fingerprint:
            if asked:
                check_version_retained(table.storage, version, latest=version + 1)
            self._snapshots.move_to_end(key)
            return cached[1]
        snap = table.snapshot(version=version)
        if fingerprint is not None:
            self._snapshots[key] = (fingerprint, snap)
            while len(self._snapshots) > self._limit:
                self._snapshots.popitem(last=False)
        return snap


def _commit_fingerprint(table: Table, version: int) -> bytes | None:
    """A digest of the commit file of ``version``; None if it cannot be read (then nothing is cached)."""
    try:
        return hashlib.blake2b(table.storage.read(commit_path(version)), digest_size=16).digest()
    except (OSError, ValueError):
        return None
