"""Change data feed, the reading side: the row changes of a range of versions (``Table.changes``).

Per PROTOCOL.md "Reader Requirements for AddCDCFile": a version with ``cdc`` actions is read from its
change data files only; a version without reads its data-changing ``add`` files as ``insert`` rows
and its data-changing ``remove`` files as ``delete`` rows (appends, whole-file deletes); files moved
with ``dataChange=false`` (OPTIMIZE) change nothing. Every row gets ``_change_type``,
``_commit_version`` and ``_commit_timestamp``. Rows are read with the schema of the last version of
the range (a column added later reads as NULL in earlier changes).

>>> from lakehouse import Table
>>> table = Table.create("t", pa.schema([("id", pa.int64())]), properties={"delta.enableChangeDataFeed": "true"})
>>> _ = table.append(pa.table({"id": [1, 2]}))
>>> _ = table.update({"id": "id + 10"}, where="id = 2")
>>> table.changes(1, 2).column("_change_type").to_pylist()
['insert', 'insert', 'update_preimage', 'update_postimage']
>>> table.changes(1, 2).column_names[-3:]
['_change_type', '_commit_version', '_commit_timestamp']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cdf import is_enabled
from .change_files import empty_changes, file_reader, read_files, removed_file
from .errors import InvalidArgument, VersionNotFound
from .lazy import pa
from .log.actions import Add, Cdc, CommitInfo, Metadata, Remove
from .log.listing import commit_mtime, list_log
from .log.replay import read_commit

if TYPE_CHECKING:
    from .storage import Storage

COMMIT_VERSION = "_commit_version"
COMMIT_TIMESTAMP = "_commit_timestamp"


class ChangeDataNotRecorded(VersionNotFound):
    """The change data feed was off (or the table had none) for a version asked for."""


def read_changes(
    storage: Storage, snapshot_at: object, start_version: int, end_version: int | None = None
) -> pa.Table:
    """The changes of versions ``start_version`` .. ``end_version`` (inclusive; latest if None).

    ``snapshot_at``: ``Table.snapshot`` (version -> Snapshot).
    """
    start = _version_arg(start_version, "start_version")
    listing = list_log(storage)
    latest = listing.latest
    if latest is None:
        raise VersionNotFound(f"no Delta table at {storage.root}")
    end = latest if end_version is None else _version_arg(end_version, "end_version")
    if start > latest:
        raise VersionNotFound(
            f"start_version {start} of {storage.root} does not exist yet: the latest version is {latest}"
        )
    if end > latest:
        raise VersionNotFound(
            f"end_version {end} of {storage.root} does not exist: the latest version is {latest}"
        )
    if end < start:
        raise InvalidArgument(f"end_version {end} is before start_version {start}: pass end >= start")
    missing = [v for v in range(start, end + 1) if v not in listing.commits]
    if missing:
        raise VersionNotFound(
            f"no change data for version {missing[0]} of {storage.root}: its commit file is gone (log "
            f"cleanup after delta.logRetentionDuration); the oldest commit kept is {listing.earliest_commit}"
        )
    first = snapshot_at(start)
    last = snapshot_at(end) if end != start else first
    metadata = first.metadata
    parts: list[pa.Table] = []
    for v in range(start, end + 1):
        path, _ = listing.commits[v]
        actions = read_commit(storage, path, v)
        metadata = next((a for a in actions if isinstance(a, Metadata)), metadata)
        if not is_enabled(metadata.config):
            raise _not_recorded(storage, listing, v, start, end)
        reader = file_reader(last, storage)
        cdcs = [a for a in actions if isinstance(a, Cdc)]
        if cdcs:
            rows = read_files(reader, [Add(c.path, c.size, c.partition_values) for c in cdcs], v, cdc=True)
        else:
            deletes = [removed_file(a) for a in actions if isinstance(a, Remove) and a.data_change]
            inserts = [a for a in actions if isinstance(a, Add) and a.data_change]
            rows = pa.concat_tables(
                [
                    read_files(reader, deletes, v, change_type="delete"),
                    read_files(reader, inserts, v, change_type="insert"),
                ]
            )
        if not rows.num_rows:
            continue
        ts = _commit_timestamp(storage, listing, v, actions)
        rows = rows.append_column(COMMIT_VERSION, pa.repeat(pa.scalar(v, pa.int64()), rows.num_rows))
        rows = rows.append_column(
            COMMIT_TIMESTAMP, pa.repeat(pa.scalar(ts, pa.timestamp("ms", tz="UTC")), rows.num_rows)
        )
        parts.append(rows)
    if not parts:
        empty = empty_changes(last.schema)
        return empty.append_column(COMMIT_VERSION, pa.array([], pa.int64())).append_column(
            COMMIT_TIMESTAMP, pa.array([], pa.timestamp("ms", tz="UTC"))
        )
    return pa.concat_tables(parts)


def _commit_timestamp(storage: Storage, listing, version: int, actions: list) -> int:
    ci = next((a for a in actions if isinstance(a, CommitInfo)), None)
    if ci is not None:
        ict = ci.extra.get("inCommitTimestamp")
        if ict is not None:
            return int(ict)
        if ci.timestamp:
            return ci.timestamp
    return commit_mtime(storage, listing, version)


def _version_arg(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be an integer version, got {value!r}")
    if value < 0:
        raise InvalidArgument(f"{what} must be >= 0, got {value}")
    return value


def _not_recorded(storage: Storage, listing, version: int, start: int, end: int) -> ChangeDataNotRecorded:
    enabled_at = None
    for v in range(version + 1, (listing.latest or version) + 1):
        if v not in listing.commits:
            continue
        meta = next(
            (a for a in read_commit(storage, listing.commits[v][0], v) if isinstance(a, Metadata)), None
        )
        if meta is not None and is_enabled(meta.config):
            enabled_at = v
            break
    if enabled_at is not None and enabled_at <= end:
        hint = f"the change data feed was enabled at version {enabled_at}: start at {enabled_at} or later"
    elif enabled_at is not None:
        hint = f"the change data feed was enabled at version {enabled_at}"
    else:
        hint = (
            "enable it with ALTER TABLE ... SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true') "
            "(changes are recorded from then on)"
        )
    return ChangeDataNotRecorded(
        f"no change data for versions {start}..{end} of {storage.root}: version {version} was written "
        f"without the change data feed (delta.enableChangeDataFeed is not true there); {hint}"
    )


__all__ = ["COMMIT_TIMESTAMP", "COMMIT_VERSION", "ChangeDataNotRecorded", "read_changes"]
