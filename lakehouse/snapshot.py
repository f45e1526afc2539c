"""Frozen snapshots of a table at a version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc

from . import partitions
from .log.actions import DeletionVector, Metadata, Protocol
from .log.replay import LogState
from .protocol import check_readable
from .schema import physical_name, schema_from_json, strip_metadata
from .stats import NAN_AWARE_TAG, FileStats
from .storage import Storage

if TYPE_CHECKING:
    from .scan import Scan


@dataclass(frozen=True)
class DataFile:
    """One active data file with its statistics (logical column names)."""

    path: str  # relative to the table root (decoded), or an absolute URI
    uri: str
    size: int
    partition_values: dict[str, str | None]
    modification_time: int
    stats: dict | None
    deletion_vector: DeletionVector | None
    log_path: str  # exactly as written in the log

    @property
    def num_records(self) -> int | None:
        n = (self.stats or {}).get("numRecords")
        return int(n) if n is not None else None

    @property
    def min_values(self) -> dict:
        return (self.stats or {}).get("minValues") or {}

    @property
    def max_values(self) -> dict:
        return (self.stats or {}).get("maxValues") or {}

    @property
    def null_count(self) -> dict:
        return (self.stats or {}).get("nullCount") or {}


class _Files(Sequence):
    """A lazy sequence of DataFile over the columnar add actions."""

    def __init__(self, snapshot: Snapshot, indices: Sequence[int] | None = None):
        self._s = snapshot
        self._idx = indices

    def __len__(self) -> int:
        return self._s.num_files if self._idx is None else len(self._idx)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            rng = range(len(self))[i]
            return [self[j] for j in rng]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._s.file_at(i if self._idx is None else self._idx[i])


class Snapshot:
    """The state of a table at one version. Immutable; cheap to share between threads."""

    def __init__(self, storage: Storage, state: LogState):
        check_readable(state.protocol, storage.root)
        self._storage = storage
        self._state = state
        self.version: int = state.version
        self.protocol: Protocol = state.protocol
        self.metadata: Metadata = state.metadata
        self.timestamp: dt.datetime = dt.datetime.fromtimestamp(state.timestamp_ms / 1000, tz=dt.UTC)
        self.partition_columns: list[str] = list(state.metadata.partition_columns)
        self.properties: dict[str, str] = state.metadata.config
        self.adds: pa.Table = state.adds

    def __repr__(self) -> str:
        return f"Snapshot({self._storage.root!r}, version={self.version}, files={self.num_files})"

    @property
    def uri(self) -> str:
        return self._storage.root

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def txns(self) -> dict[str, int]:
        return {k: v.version for k, v in self._state.txns.items()}

    @cached_property
    def full_schema(self) -> pa.Schema:
        """Schema with field metadata (column mapping physical names, constraints, comments)."""
        return schema_from_json(self.metadata.schema_string)

    @cached_property
    def schema(self) -> pa.Schema:
        return strip_metadata(self.full_schema)

    @cached_property
    def physical_names(self) -> dict[str, str]:
        """Logical top-level column name -> name in the Parquet files / stats / partitionValues."""
        return {f.name: physical_name(f) for f in self.full_schema}

    @property
    def column_mapping(self) -> bool:
        return self.properties.get("delta.columnMapping.mode", "none") != "none"

    @property
    def num_files(self) -> int:
        return self.adds.num_rows

    @cached_property
    def file_stats(self) -> FileStats:
        return FileStats(self.adds.column("stats").to_pylist())

    @cached_property
    def _paths(self) -> list[str]:
        return self.adds.column("path").to_pylist()

    @property
    def files(self) -> Sequence[DataFile]:
        return _Files(self)

    def files_at(self, indices: Sequence[int]) -> Sequence[DataFile]:
        return _Files(self, indices)

    def file_at(self, i: int) -> DataFile:
        row = self.adds.slice(i, 1).to_pylist()[0]
        raw = row["path"]
        rel = unquote(raw)
        logical = {v: k for k, v in self.physical_names.items()}
        pv = {logical.get(k, k): v for k, v in (row["partitionValues"] or [])}
        dv = row["deletionVector"]
        stats = self.file_stats.parsed[i]
        if stats and self.column_mapping:
            stats = _rename_stats(stats, logical)
        return DataFile(
            path=rel,
            uri=self._storage.uri(rel),
            size=int(row["size"] or 0),
            partition_values=pv,
            modification_time=int(row["modificationTime"] or 0),
            stats=stats,
            deletion_vector=DeletionVector.from_json(dv) if dv else None,
            log_path=raw,
        )

    @cached_property
    def partition_arrays(self) -> dict[str, pa.Array]:
        """Typed partition values per file, keyed by logical column name."""
        out = {}
        pv = self.adds.column("partitionValues")
        for name in self.partition_columns:
            field = self.schema.field(name)
            phys = self.physical_names.get(name, name)
            if self.num_files:
                texts = pc.map_lookup(pv, phys, "first").to_pylist()
            else:
                texts = []
            out[name] = partitions.typed_array(texts, field.type)
        return out

    def column_stats(
        self, name: str
    ) -> tuple[tuple[pa.Array, pa.Array, pa.Array, pa.Array], pa.DataType] | None:
        """(min, max, nullCount, numRecords) per file for a top-level column (case-insensitive)."""
        field = _find_field(self.schema, name)
        if field is None:
            return None
        records = self.file_stats.num_records()
        if field.name in self.partition_columns:
            values = self.partition_arrays[field.name]
            is_null = values.is_null()
            rec = pc.if_else(pc.is_null(records), pa.scalar(1, pa.int64()), records)
            nulls = pc.if_else(is_null, rec, pa.scalar(0, pa.int64()))
            if pa.types.is_floating(field.type) and len(values):
                # DuckDB orders NaN above every number; Arrow comparisons with NaN are false: unknown
                values = pc.if_else(pc.is_nan(values), pa.scalar(None, field.type), values)
            return (values, values, nulls, rec), field.type
        if pa.types.is_nested(field.type) or pa.types.is_binary(field.type):
            return None
        phys = self.physical_names.get(field.name, field.name)
        lo, hi, nulls = self.file_stats.column((phys,), field.type)
        if pa.types.is_floating(field.type) and len(hi):
            # A maximum that may leave NaN out reads as NaN: DuckDB orders NaN above every number.
            key, value = NAN_AWARE_TAG
            aware = pc.fill_null(
                pc.equal(pc.map_lookup(self.adds.column("tags"), key, "first"), value), False
            )
            hi = pc.if_else(aware, hi, pa.scalar(float("nan"), field.type))
        return (lo, hi, nulls, records), field.type

    def scan(self, columns: Sequence[str] | None = None, where: Any = None) -> Scan:
        """Files and rows of this snapshot, pruned by ``where`` (SQL boolean text).

        >>> scan = table.snapshot().scan(columns=["id"], where="id > 10")   # doctest: +SKIP
        >>> scan.files_skipped, scan.to_arrow().num_rows                      # doctest: +SKIP
        """
        from .scan import Scan

        return Scan(self, columns=columns, where=where)


def _find_field(schema: pa.Schema, name: str) -> pa.Field | None:
    idx = schema.get_field_index(name)
    if idx >= 0:
        return schema.field(idx)
    lower = name.lower()
    for f in schema:
        if f.name.lower() == lower:
            return f
    return None


def _rename_stats(stats: dict, logical: dict[str, str]) -> dict:
    out = dict(stats)
    for key in ("minValues", "maxValues", "nullCount"):
        if isinstance(stats.get(key), dict):
            out[key] = {logical.get(k, k): v for k, v in stats[key].items()}
    return out
