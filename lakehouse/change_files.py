"""Reading the rows of files named by log actions (change data files, added and removed data files).

Used by both sides of the change data feed: ``lakehouse.changes`` (reading changes) and
``lakehouse.cdf`` (a commit writing the rows of its other adds/removes as change data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import LakehouseError, VersionNotFound
from .lazy import pa
from .log.actions import Add, Remove
from .log.replay import LogState, add_rows_to_table
from .reader import open_data_file, read_file
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .reader import TableVersion
    from .storage import Storage

CHANGE_TYPE = "_change_type"


def read_log_files(snapshot: TableVersion | Snapshot, adds: list[Add]) -> pa.Table:
    """Every row of the files named by ``adds`` (deletion vectors applied), as ``snapshot``'s schema."""
    reader = file_reader(snapshot, snapshot.storage)
    return read_files(reader, adds, snapshot.version)


def file_reader(snapshot: TableVersion | Snapshot, storage: Storage):
    """A function from add actions to a snapshot holding just those files (``.schema``: the schema)."""

    def read(adds: list[Add]) -> Snapshot:
        state = LogState(
            version=snapshot.version,
            protocol=snapshot.protocol,
            metadata=snapshot.metadata,
            adds=add_rows_to_table([a.to_json()["add"] for a in adds]),
        )
        return Snapshot(storage, state)

    read.schema = snapshot.schema  # type: ignore[attr-defined]
    return read


def read_files(
    reader, adds: list[Add], version: int, *, cdc: bool = False, change_type: str | None = None
) -> pa.Table:
    """The rows of the files, with ``_change_type`` from the file (``cdc``) or ``change_type``."""
    schema: pa.Schema = reader.schema
    if not adds:
        return empty_changes(schema) if (cdc or change_type) else schema.empty_table()
    snap = reader(adds)
    names = list(schema.names)
    parts = []
    for i in range(len(adds)):
        try:
            data = read_file(snap, i, names)
            if cdc:
                with open_data_file(snap, i) as pf:
                    types = pf.read(columns=[CHANGE_TYPE]).column(0)
                data = data.append_column(CHANGE_TYPE, types.cast(pa.string()))
        except (LakehouseError, FileNotFoundError) as e:
            if snap.storage.exists(snap.file_path(i)):
                raise
            raise VersionNotFound(
                f"the change data of version {version} of {snap.uri} is gone: file {snap.file_path(i)!r} "
                f"was removed (by VACUUM, after the retention period); read changes from a later version"
            ) from e
        if change_type is not None:
            data = data.append_column(CHANGE_TYPE, pa.repeat(pa.scalar(change_type), data.num_rows))
        parts.append(data)
    return pa.concat_tables(parts)


def removed_file(r: Remove) -> Add:
    """The file a remove action names, as an add action (to read its rows)."""
    return Add(
        path=r.path,
        size=r.size or 0,
        partition_values=r.partition_values or (),
        deletion_vector=r.deletion_vector,
    )


def empty_changes(schema: pa.Schema) -> pa.Table:
    """No rows, with the table's columns and ``_change_type``."""
    return pa.schema([*schema, pa.field(CHANGE_TYPE, pa.string())]).empty_table()


__all__ = ["CHANGE_TYPE", "empty_changes", "file_reader", "read_files", "read_log_files", "removed_file"]
