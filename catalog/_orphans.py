"""Remains of dropped tables in a SQLite catalog's warehouse.

Every managed table lives in its own ``<namespace>/<table>-<id>`` directory, so whatever a killed or
racing operation leaves behind (a purge cut short, a late commit that could not undo itself, the data
files of an aborted write) sits in a directory no catalog entry points to. Such leftovers never block a
name; this finds them for removal. Only directories in the incarnation form are considered, and only
dead ones (no Delta log, or a log with neither version 0 nor a checkpoint): a whole table dropped
without ``purge`` is kept, as its owner asked.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Iterable

from lakehouse import Table
from lakehouse.storage import Storage, open_storage

INCARNATION = re.compile(r"[a-z_][a-z0-9_]*-[0-9a-f]{16}")


def find_orphans(
    warehouse: str,
    storage_options: dict,
    namespaces: Iterable[str],
    registered: set[str],
    retention_hours: float,
) -> list[str]:
    """Locations of dead incarnation directories untouched for ``retention_hours``, sorted."""
    root = open_storage(warehouse, storage_options)
    cutoff_ms = (time.time() - retention_hours * 3600) * 1000
    found = []
    for ns in namespaces:
        for name in _subdirs(root.child(ns)):
            location = f"{warehouse}/{ns}/{name}"
            if not INCARNATION.fullmatch(name) or location in registered:
                continue
            if any(r.startswith(location + "/") for r in registered):
                continue
            storage = root.child(f"{ns}/{name}")
            if not Table.is_dropped_at(location, storage_options):
                continue
            if max((f.modified_ms for f in storage.walk()), default=0) > cutoff_ms:
                continue  # recent: possibly a write or purge still running
            found.append(location)
    return sorted(found)


def remove(locations: Iterable[str], storage_options: dict) -> None:
    for location in locations:
        Table.purge_at(location, storage_options)


def _subdirs(storage: Storage) -> list[str]:
    try:
        entries = storage.fs.ls(storage.fs_root, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(posixpath.basename(e["name"].rstrip("/")) for e in entries if e.get("type") == "directory")
