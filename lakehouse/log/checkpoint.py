"""Writing Parquet checkpoints (classic, single file) and ``_last_checkpoint``."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..intervals import parse_interval_ms
from .actions import now_ms
from .files import LAST_CHECKPOINT, checkpoint_path
from .replay import ADD_SCHEMA, REMOVE_SCHEMA

if TYPE_CHECKING:
    from ..snapshot import Snapshot

_MAP = pa.map_(pa.string(), pa.string())
TXN_TYPE = pa.struct([("appId", pa.string()), ("version", pa.int64()), ("lastUpdated", pa.int64())])
METADATA_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("description", pa.string()),
        ("format", pa.struct([("provider", pa.string()), ("options", _MAP)])),
        ("schemaString", pa.string()),
        ("partitionColumns", pa.list_(pa.string())),
        ("configuration", _MAP),
        ("createdTime", pa.int64()),
    ]
)
PROTOCOL_TYPE = pa.struct(
    [
        ("minReaderVersion", pa.int32()),
        ("minWriterVersion", pa.int32()),
        ("readerFeatures", pa.list_(pa.string())),
        ("writerFeatures", pa.list_(pa.string())),
    ]
)
CHECKPOINT_SCHEMA = pa.schema(
    [
        ("txn", TXN_TYPE),
        ("add", pa.struct(list(ADD_SCHEMA))),
        ("remove", pa.struct(list(REMOVE_SCHEMA))),
        ("metaData", METADATA_TYPE),
        ("protocol", PROTOCOL_TYPE),
    ]
)
DEFAULT_TOMBSTONE_RETENTION_MS = 7 * 24 * 3600 * 1000


def _block(column: str, values: pa.Array) -> pa.Table:
    n = len(values)
    cols = [values if f.name == column else pa.nulls(n, f.type) for f in CHECKPOINT_SCHEMA]
    return pa.Table.from_arrays(cols, schema=CHECKPOINT_SCHEMA)


def _struct(table: pa.Table) -> pa.Array:
    table = table.combine_chunks()
    return pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns], fields=list(table.schema))


def build_checkpoint(snapshot: Snapshot, *, now: int | None = None) -> pa.Table:
    state = snapshot.log_state
    p, m = snapshot.protocol, snapshot.metadata
    blocks = [
        _block(
            "protocol",
            pa.array(
                [
                    {
                        "minReaderVersion": p.min_reader_version,
                        "minWriterVersion": p.min_writer_version,
                        "readerFeatures": list(p.reader_features) if p.reader_features is not None else None,
                        "writerFeatures": list(p.writer_features) if p.writer_features is not None else None,
                    }
                ],
                PROTOCOL_TYPE,
            ),
        ),
        _block(
            "metaData",
            pa.array(
                [
                    {
                        "id": m.id,
                        "name": m.name,
                        "description": m.description,
                        "format": {"provider": m.format_provider, "options": []},
                        "schemaString": m.schema_string,
                        "partitionColumns": list(m.partition_columns),
                        "configuration": list(m.configuration),
                        "createdTime": m.created_time,
                    }
                ],
                METADATA_TYPE,
            ),
        ),
    ]
    if state.txns:
        rows = [
            {"appId": t.app_id, "version": t.version, "lastUpdated": t.last_updated}
            for t in state.txns.values()
        ]
        blocks.append(_block("txn", pa.array(rows, TXN_TYPE)))
    if snapshot.adds.num_rows:
        blocks.append(_block("add", _struct(snapshot.adds.cast(ADD_SCHEMA))))
    tombstones = _tombstones(snapshot, now if now is not None else now_ms())
    if tombstones.num_rows:
        blocks.append(_block("remove", _struct(tombstones)))
    return pa.concat_tables(blocks)


def _tombstones(snapshot: Snapshot, now: int) -> pa.Table:
    """Removes still inside the retention window, not re-added since (vacuum needs them)."""
    retention = _retention_ms(snapshot.properties)
    parts = []
    state = snapshot.log_state
    if state.checkpoint_removes is not None and state.checkpoint_removes.num_rows:
        parts.append(state.checkpoint_removes)
    if state.removes:
        rows = []
        for r in state.removes:
            r = dict(r)
            pv = r.get("partitionValues")
            r["partitionValues"] = list(pv.items()) if pv is not None else None
            rows.append(r)
        parts.append(pa.Table.from_pylist(rows, schema=REMOVE_SCHEMA))
    if not parts:
        return REMOVE_SCHEMA.empty_table()
    t = pa.concat_tables(parts)
    ts = pc.fill_null(t["deletionTimestamp"], 0)
    keep = pc.greater(ts, now - retention)
    active = snapshot.adds["path"]
    if len(active):
        keep = pc.and_(keep, pc.invert(pc.is_in(t["path"], value_set=active.combine_chunks())))
    t = t.filter(keep)
    paths = t["path"].to_pylist()
    seen: set[str] = set()
    newest = []
    for i in range(len(paths) - 1, -1, -1):  # the newest tombstone per path is enough
        if paths[i] not in seen:
            seen.add(paths[i])
            newest.append(i)
    return t.take(pa.array(sorted(newest), pa.int64()))


def _retention_ms(props: dict[str, str]) -> int:
    text = props.get("delta.deletedFileRetentionDuration")
    return parse_interval_ms(text) if text else DEFAULT_TOMBSTONE_RETENTION_MS


def write_checkpoint(snapshot: Snapshot) -> int:
    """Write ``N.checkpoint.parquet`` and point ``_last_checkpoint`` at it. Returns N."""
    table = build_checkpoint(snapshot)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    storage = snapshot.storage
    storage.write(checkpoint_path(snapshot.version), buf.getvalue())
    last = {
        "version": snapshot.version,
        "size": table.num_rows,
        "sizeInBytes": buf.tell(),
        "numOfAddFiles": snapshot.num_files,
    }
    storage.write(LAST_CHECKPOINT, json.dumps(last).encode())
    return snapshot.version
