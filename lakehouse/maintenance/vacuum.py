"""VACUUM: delete data files that no version inside the retention window needs.

Kept: files of the current version, files removed less than ``retention`` ago (older versions
still inside the window read them), and their deletion-vector files. Deleted: files removed longer
ago, change data files (``_change_data/``) written longer ago, and orphans (in the table directory, referenced by no retained version, e.g. leftovers of
failed writes) last modified longer ago, and temp files a killed commit left in ``_delta_log``.
Never touched otherwise: ``_delta_log`` and other hidden paths
(``_x``/``.x``), nested tables, and anything outside the table root (a shallow clone's source).

"Too recent" is judged by file modification time, which also protects the data files of writes
still in flight; ``force=True`` with a very short retention removes that protection.

A real run commits ``VACUUM START``/``VACUUM END`` (like Delta) and records the oldest version
that can still be read in ``_delta_log/_lakehouse_vacuum.json`` (``lakehouse.log.retention``, which
``Table.snapshot`` asks) so time travel to an older version raises VersionNotFound with the
reason instead of failing on a missing file.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .. import progress
from ..cdf import CHANGE_DIR
from ..deletion_vectors import dv_relative_path
from ..errors import LakehouseError
from ..intervals import parse_interval_ms
from ..log.actions import DeletionVector, Remove, now_ms
from ..log.files import LOG_DIR
from ..log.listing import list_log
from ..log.replay import read_commit
from ..log.retention import HORIZON_FILE, check_version_retained, read_horizon, record_horizon

if TYPE_CHECKING:
    from ..snapshot import Snapshot
    from ..storage import Storage
    from .maintained import MaintainedTable

DEFAULT_RETENTION_HOURS = 168.0
_HOUR_MS = 3_600_000
_LOG_TEMP = re.compile(r"^.+\.[0-9a-f]{32}\.tmp$")


class RetentionTooShort(LakehouseError, ValueError):
    """vacuum() was asked for a retention below the table's safety minimum without force=True."""


def vacuum(
    table: MaintainedTable, *, retention_hours: float | None = None, dry_run: bool = True, force: bool = False
) -> list[str]:
    """Delete (or with ``dry_run`` list) unneeded data files; returns their URIs, sorted.

    >>> _ = t.delete("day = DATE '2026-01-01'")
    >>> [uri.rsplit("/", 1)[1][:5] for uri in vacuum(t, retention_hours=0, force=True)]
    ['part-']
    """
    snapshot = table.snapshot()
    minimum = _table_retention_hours(snapshot)
    hours = minimum if retention_hours is None else float(retention_hours)
    if hours < 0:
        raise ValueError(f"retention_hours must be >= 0, got {retention_hours!r}")
    if hours < minimum and not force:
        raise RetentionTooShort(
            f"vacuum(retention_hours={retention_hours:g}) is below {table.uri}'s retention of {minimum:g} h "
            f"(delta.deletedFileRetentionDuration, 168 h if unset): it could delete files that "
            f"running queries and time travel within the last {minimum:g} h still read. Pass force=True "
            f"to vacuum anyway, or lower the table's delta.deletedFileRetentionDuration"
        )
    now = now_ms()
    cutoff = now - int(hours * _HOUR_MS)
    storage = table.storage
    doomed = _unneeded_files(storage, snapshot, cutoff) | _stale_log_temps(storage, cutoff)
    uris = sorted(storage.uri(p) for p in doomed)
    if dry_run or not doomed:
        return uris

    size = sum(doomed.values())
    tx = table.transaction()
    tx.record(
        "VACUUM START",
        {
            "retentionCheckEnabled": json.dumps(not force),
            "defaultRetentionMillis": str(int(minimum * _HOUR_MS)),
            "specifiedRetentionMillis": str(int(hours * _HOUR_MS)),
        },
    )
    tx.metrics.update({"numFilesToDelete": len(doomed), "sizeOfDataToDelete": size})
    start = tx.commit()
    # Record the horizon before deleting: a reader then gets a clear error, never a missing file.
    horizon = _oldest_intact_version(storage, set(doomed), snapshot.version)
    if horizon is not None:
        record_horizon(storage, horizon, start, now, cutoff, hours)
    ordered = sorted(doomed)
    with progress.bar(total=len(ordered), desc="VACUUM", unit="file") as shown:
        for i in range(0, len(ordered), 256):
            storage.delete(ordered[i : i + 256])
            shown.update(len(ordered[i : i + 256]))
    directories = _remove_empty_dirs(storage, doomed) if storage.scheme == "file" else 0
    tx = table.transaction()
    tx.record("VACUUM END", {"status": "COMPLETED"})
    tx.metrics.update({"numDeletedFiles": len(doomed), "numVacuumedDirectories": directories})
    tx.commit()
    return uris


def _table_retention_hours(snapshot: Snapshot) -> float:
    text = snapshot.properties.get("delta.deletedFileRetentionDuration")
    return parse_interval_ms(text) / _HOUR_MS if text else DEFAULT_RETENTION_HOURS


def _unneeded_files(storage: Storage, snapshot: Snapshot, cutoff: int) -> dict[str, int]:
    """Relative path -> size of every data file vacuum may delete at ``cutoff`` (epoch ms)."""
    keep: set[str] = set()
    for raw, dv in zip(
        snapshot.adds.column("path").to_pylist(),
        snapshot.adds.column("deletionVector").to_pylist(),
        strict=True,
    ):
        _keep(storage, keep, raw, DeletionVector.from_json(dv) if dv else None)
    state = snapshot.log_state
    tombstones = list(state.removes)
    if state.checkpoint_removes is not None:
        tombstones.extend(state.checkpoint_removes.to_pylist())
    for r in tombstones:
        if (r.get("deletionTimestamp") or 0) > cutoff:  # removed inside the window: still needed
            _keep(storage, keep, r["path"], DeletionVector.from_json(r.get("deletionVector")))

    listed = storage.walk("")
    # A table nested inside this one (its own _delta_log below the root) is not ours to clean.
    nested = {
        posixpath.dirname(posixpath.dirname(f.path))
        for f in listed
        if posixpath.basename(posixpath.dirname(f.path)) == LOG_DIR
    }
    nested.discard("")
    out: dict[str, int] = {}
    for f in listed:
        if f.path in keep or _hidden(_data_path(f.path)) or any(f.path.startswith(d + "/") for d in nested):
            continue
        if f.modified_ms and f.modified_ms >= cutoff:
            continue  # too recent: maybe a write still in flight
        out[f.path] = f.size
    return out


def _stale_log_temps(storage: Storage, cutoff: int) -> dict[str, int]:
    """Temp files a killed writer left in ``_delta_log`` (``.N.json.<uuid>.tmp`` of a put-if-absent,
    ``_last_checkpoint.<uuid>.tmp`` of a replace), last modified before ``cutoff``."""
    return {
        f.path: f.size
        for f in storage.list(LOG_DIR)
        if _LOG_TEMP.match(posixpath.basename(f.path)) and 0 < f.modified_ms < cutoff
    }


def _keep(storage: Storage, keep: set[str], raw_path: str, dv: DeletionVector | None) -> None:
    rel = _relative(storage, unquote(raw_path))
    if rel is not None:
        keep.add(rel)
    if dv is not None and dv.storage_type in ("u", "p"):
        path = dv_relative_path(dv) if dv.storage_type == "u" else dv.path_or_inline_dv
        rel = _relative(storage, path)
        if rel is not None:
            keep.add(rel)


def _relative(storage: Storage, path: str) -> str | None:
    """A path relative to the table root, or None for a file outside it."""
    if "://" not in path and not path.startswith("/"):
        return path
    root = storage.root.rstrip("/") + "/"
    for prefix in (root, "file://" + root, "file:" + root):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return None


def _data_path(path: str) -> str:
    """Change data files (``_change_data/...``) are vacuumed like data files: no version references
    them as part of its rows, so past the retention period they go (``Table.changes`` then says so)."""
    prefix = CHANGE_DIR + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _hidden(path: str) -> bool:
    # Delta's rule: names starting with "_" or "." are not data, except partition directories (k=v).
    return any(part[:1] in ("_", ".") and "=" not in part for part in path.split("/"))


def _oldest_intact_version(storage: Storage, deleted: set[str], latest: int) -> int | None:
    """The smallest version all of whose files survive deleting ``deleted``: one past the newest
    commit that removed one of them (None if none ever did, e.g. only uncommitted leftovers)."""
    listing = list_log(storage)
    versions = sorted((v for v in listing.commits if v <= latest), reverse=True)

    def removes_deleted(v: int) -> bool:
        path, _ = listing.commits[v]
        return any(
            isinstance(a, Remove) and _relative(storage, unquote(a.path)) in deleted
            for a in read_commit(storage, path, v)
        )

    # Newest first, a batch at a time in parallel: object stores answer slowly, one at a time.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for i in range(0, len(versions), 32):
            batch = versions[i : i + 32]
            for v, hit in zip(batch, pool.map(removes_deleted, batch), strict=True):
                if hit:
                    return v
    return None


def _remove_empty_dirs(storage: Storage, deleted: dict[str, int]) -> int:
    """Remove partition directories the deletions left empty (local disk only); returns how many."""
    dirs = {posixpath.dirname(p) for p in deleted}
    candidates: set[str] = set()
    for d in dirs:
        while d:
            candidates.add(d)
            d = posixpath.dirname(d)
    removed = 0
    for d in sorted(candidates, key=lambda x: x.count("/"), reverse=True):
        try:
            os.rmdir(storage.full_path(d))
            removed += 1
        except OSError:
            pass  # not empty (or already gone)
    return removed


__all__ = ["HORIZON_FILE", "RetentionTooShort", "check_version_retained", "read_horizon", "vacuum"]
