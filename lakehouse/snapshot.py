"""Frozen snapshots of a table at a version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import partitions
from .columnar import scalar
from .data_file import DataFile
from .lazy import pa, pc
from .log.actions import DeletionVector, Metadata, Protocol
from .log.replay import LogState
from .protocol import check_readable
from .schema import find_field, physical_name, schema_from_json, strip_metadata
from .stats import NAN_AWARE_TAG, FileStats
from .storage import Storage

if TYPE_CHECKING:
    from .reader import FileFacts
    from .scan import Scan


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
    """The state of a table at one version. Immutable (attributes are read-only); cheap to share."""

    def __init__(self, storage: Storage, state: LogState):
        check_readable(state.protocol, storage.root)
        init = object.__setattr__
        init(self, "_storage", storage)
        init(self, "_state", state)
        init(self, "_timestamp", dt.datetime.fromtimestamp(state.timestamp_ms / 1000, tz=dt.UTC))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Snapshot is immutable: cannot set {name!r}; take a new snapshot instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Snapshot is immutable: cannot delete {name!r}")

    @property
    def version(self) -> int:
        return self._state.version

    @property
    def protocol(self) -> Protocol:
        return self._state.protocol

    @property
    def metadata(self) -> Metadata:
        return self._state.metadata

    @property
    def timestamp(self) -> dt.datetime:
        return self._timestamp

    @property
    def partition_columns(self) -> list[str]:
        return list(self._state.metadata.partition_columns)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._state.metadata.config)

    @property
    def log_state(self) -> LogState:
        """The replayed log (tombstones, transactions): for checkpoints and vacuum inside lakehouse."""
        return self._state

    @property
    def adds(self) -> pa.Table:
        """The active add actions, one row per file (the log's columnar layout; lakehouse-internal)."""
        return self._state.adds

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
        return self._state.num_adds

    @cached_property
    def file_stats(self) -> FileStats:
        return FileStats(self.adds.column("stats").to_pylist())

    @cached_property
    def _paths(self) -> list[str]:
        return self._state.add_paths()

    def file_paths(self) -> list[str]:
        """The active files' paths (URI escapes decoded), relative to the table root unless a shallow
        clone's absolute URI; deletion vectors are not applied (a file with deleted rows is listed).

        Needs no Arrow: right after ``Table.open(uri).snapshot()`` of a table whose checkpoint the
        light reader takes, listing the files imports neither pyarrow nor numpy."""
        paths = self._paths
        if "%" not in "\n".join(paths):
            return list(paths)
        return [unquote(p) for p in paths]

    def file_uris(self) -> list[str]:
        """The active files' absolute URIs, in the order of ``files`` (delta-rs ``DeltaTable.file_uris()``).

        >>> s = table.snapshot()
        >>> s.file_uris() == [f.uri for f in s.files]
        True
        """
        paths = self.file_paths()
        text = "\n".join(paths)
        if all(paths) and not (text.startswith("/") or "\n/" in text or "://" in text):
            prefix = self._storage.uri("x")[:-1]  # every path is relative: the root and "/"
            return [prefix + p for p in paths]
        uri = self._storage.uri
        return [uri(p) for p in paths]

    @property
    def files(self) -> Sequence[DataFile]:
        return _Files(self)

    def files_at(self, indices: Sequence[int]) -> Sequence[DataFile]:
        return _Files(self, indices)

    def file_path(self, i: int) -> str:
        """The decoded path of active file ``i`` (relative to the table root, or an absolute URI)."""
        return unquote(self._paths[i])

    def file_uri(self, i: int) -> str:
        return self._storage.uri(self.file_path(i))

    def file_deletion_vector(self, i: int) -> DeletionVector | None:
        dv = self.adds.column("deletionVector")[i].as_py()
        return DeletionVector.from_json(dv) if dv else None

    def reading_file(self, uri: str) -> AbstractContextManager[None]:
        """A context in which a damaged or missing data file raises an error naming it and this table."""
        from .file_errors import naming_data_file

        return naming_data_file(self, uri)

    def file_facts(self, indices: Sequence[int]) -> FileFacts:
        """Paths, sizes, row counts, deletion vector sizes and partition values of the given files."""
        from .reader import FileFacts  # on use: opening a table and listing its files needs none of it

        every = self._every_file_facts
        idx = tuple(indices)

        def pick(values: tuple) -> tuple:
            return tuple(values[i] for i in idx)

        return FileFacts(
            indices=idx,
            paths=pick(every.paths),
            uris=pick(every.uris),
            log_paths=pick(every.log_paths),
            size=pick(every.size),
            num_records=pick(every.num_records),
            dv_cardinality=pick(every.dv_cardinality),
            partition_values=pick(every.partition_values),
        )

    @cached_property
    def _every_file_facts(self) -> FileFacts:
        """The facts of every active file, decoded once per snapshot (queries ask for them per table)."""
        from .reader import FileFacts

        adds = self.adds.select(["path", "size", "deletionVector", "partitionValues"])
        log_paths = adds.column("path").to_pylist()
        paths = [unquote(p) for p in log_paths]
        dvs = adds.column("deletionVector")
        cards = (
            [None] * len(paths)
            if dvs.null_count == len(paths)
            else [d["cardinality"] if d else None for d in dvs.to_pylist()]
        )
        return FileFacts(
            indices=tuple(range(len(paths))),
            paths=tuple(paths),
            uris=tuple(self._storage.uri(p) for p in paths),
            log_paths=tuple(log_paths),
            size=tuple(int(n or 0) for n in adds.column("size").to_pylist()),
            num_records=tuple(self.file_stats.num_records().to_pylist()),
            dv_cardinality=tuple(cards),
            partition_values=tuple(dict(pv or []) for pv in adds.column("partitionValues").to_pylist()),
        )

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
                texts = pc.map_lookup(pv, scalar(phys, pa.string()), "first").to_pylist()
            else:
                texts = []
            out[name] = partitions.typed_array(texts, field.type)
        return out

    def column_stats(
        self, name: str
    ) -> tuple[tuple[pa.Array, pa.Array, pa.Array, pa.Array], pa.DataType] | None:
        """(min, max, nullCount, numRecords) per file for a top-level column (case-insensitive)."""
        field = find_field(self.schema, name)
        if field is None:
            return None
        records = self.file_stats.num_records()
        if field.name in self.partition_columns:
            values = self.partition_arrays[field.name]
            is_null = values.is_null()
            rec = pc.if_else(pc.is_null(records), scalar(1, pa.int64()), records)
            nulls = pc.if_else(is_null, rec, scalar(0, pa.int64()))
            if pa.types.is_floating(field.type) and len(values):
                # DuckDB orders NaN above every number; Arrow comparisons with NaN are false: unknown
                values = pc.if_else(pc.is_nan(values), scalar(None, field.type), values)
            return (values, values, nulls, rec), field.type
        if pa.types.is_nested(field.type) or pa.types.is_binary(field.type):
            return None
        phys = self.physical_names.get(field.name, field.name)
        lo, hi, nulls = self.file_stats.column((phys,), field.type)
        if pa.types.is_floating(field.type) and len(hi):
            # A maximum that may leave NaN out reads as NaN: DuckDB orders NaN above every number.
            key, value = NAN_AWARE_TAG
            tag = pc.map_lookup(self.adds.column("tags"), scalar(key, pa.string()), "first")
            aware = pc.fill_null(pc.equal(tag, scalar(value, pa.string())), scalar(False, pa.bool_()))
            hi = pc.if_else(aware, hi, scalar(float("nan"), field.type))
        return (lo, hi, nulls, records), field.type

    def scan(self, columns: Sequence[str] | None = None, where: Any = None) -> Scan:
        """Files and rows of this snapshot, pruned by ``where`` (SQL boolean text).

        >>> scan = table.snapshot().scan(columns=["id"], where="id > 10")
        >>> scan.files_skipped, scan.to_arrow().num_rows
        (1, 19)
        """
        from .scan import Scan

        return Scan(self, columns=columns, where=where)


def _rename_stats(stats: dict, logical: dict[str, str]) -> dict:
    out = dict(stats)
    for key in ("minValues", "maxValues", "nullCount"):
        if isinstance(stats.get(key), dict):
            out[key] = {logical.get(k, k): v for k, v in stats[key].items()}
    return out
