"""Writing data files: input conversion, Hive-style partitioning, size-based rolling, statistics."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from . import duck_write, partitions, progress
from .errors import SchemaMismatch
from .lazy import pa, pc, pq
from .log.actions import Add, now_ms
from .mapped_schema import PhysicalLayout
from .stats import NAN_AWARE_TAG, StatsCollector
from .storage import Storage

DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024
ROW_GROUP_ROWS = 128 * 1024
DICTIONARY_PAGE_LIMIT = 64 * 1024  # bytes
DATA_PAGE_SIZE = 64 * 1024
"""Bytes of a data page (pyarrow's default: 1 MiB). Reading a few rows by position decodes only the pages
that hold them (``row_fetch``): 167 spread rows of a 5 M-row file took half the CPU of 1 MiB pages
(0.15 s vs 0.30 s); file size, DuckDB scans and pyarrow reads were within noise
(benchmarks/page_size_bench.py)."""


def as_arrow(data: Any) -> pa.Table | pa.RecordBatchReader:
    """Accept pyarrow Table/RecordBatch/RecordBatchReader, polars or pandas DataFrames, dicts of lists."""
    if isinstance(data, pa.Table | pa.RecordBatchReader):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__
    if module.startswith("polars"):
        if hasattr(data, "collect") and not hasattr(data, "to_arrow"):
            data = data.collect()
        return data.to_arrow()
    if module.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, dict):
        return pa.table(data)
    if isinstance(data, list) and (not data or isinstance(data[0], dict)):
        return pa.Table.from_pylist(data)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data)
    raise TypeError(
        f"cannot write {type(data).__name__}: pass a pyarrow Table/RecordBatchReader, a polars or pandas "
        f"DataFrame, a dict of columns or a list of row dicts"
    )


def iter_tables(data: pa.Table | pa.RecordBatchReader, max_rows: int = 1_000_000) -> Iterator[pa.Table]:
    """Chunks of the input as tables, so a RecordBatchReader streams in bounded memory."""
    if isinstance(data, pa.Table):
        for offset in range(0, data.num_rows, max_rows):
            yield data.slice(offset, max_rows)
        if data.num_rows == 0:
            yield data
        return
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in data:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= max_rows:
            yield pa.Table.from_batches(pending, schema=data.schema)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=data.schema)


class _RollingFile:
    def __init__(
        self, storage: Storage, directory: str, schema: pa.Schema, target: int, prefix: str = "part"
    ):
        self.storage, self.directory, self.schema, self.target = storage, directory, schema, target
        self.prefix = prefix
        # Float columns seen holding NaN get no footer min/max: Parquet statistics leave NaN out, and
        # readers trusting them (DuckDB without can_have_nan, Polars, Spark) would skip NaN rows.
        self.no_stats: set[str] = set()
        self._open()

    def _open(self) -> None:
        self.name = f"{self.prefix}-{uuid.uuid4()}-c000.zstd.parquet"
        self.sink = pa.BufferOutputStream()
        stats: bool | list[str] = True
        if self.no_stats:
            stats = [p for p in _leaf_paths(self.schema) if p.split(".")[0] not in self.no_stats]
        self.writer = pq.ParquetWriter(
            self.sink,
            self.schema,
            compression="zstd",
            write_statistics=stats,
            # A column whose dictionary outgrows 64 KiB falls back to plain pages early: DuckDB scans
            # them faster (benchmarks/parquet_writer_bench.py: 1.25x -> 1.17x its own files' time).
            dictionary_pagesize_limit=DICTIONARY_PAGE_LIMIT,
            data_page_size=DATA_PAGE_SIZE,
        )
        self.stats = StatsCollector()
        self.rows = 0

    def write(self, table: pa.Table) -> Iterator[tuple[str, int, str]]:
        for offset in range(0, table.num_rows, ROW_GROUP_ROWS):
            chunk = table.slice(offset, ROW_GROUP_ROWS)
            nan = _nan_columns(chunk) - self.no_stats
            if nan:  # the open file already has statistics for these columns: start a new one
                self.no_stats |= nan
                done = self.close()
                if done is not None:
                    yield done
                self._open()
            self.writer.write_table(chunk, row_group_size=ROW_GROUP_ROWS)
            self.stats.update(chunk)
            self.rows += chunk.num_rows
            if self.sink.tell() >= self.target:
                yield self.close()
                self._open()

    def close(self) -> tuple[str, int, str] | None:
        self.writer.close()
        if self.rows == 0:
            return None
        buf = self.sink.getvalue()
        rel = f"{self.directory}/{self.name}" if self.directory else self.name
        self.storage.write(rel, buf.to_pybytes())
        return rel, buf.size, self.stats.to_json()


def _nan_columns(table: pa.Table) -> set[str]:
    return {
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py()
    }


def _leaf_paths(schema: pa.Schema) -> list[str]:
    """Parquet column paths ("a", "s.x", "l.list.element") of an Arrow schema."""
    sink = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), sink)
    parquet_schema = pq.read_metadata(pa.BufferReader(sink.getvalue())).schema
    return [parquet_schema.column(i).path for i in range(len(parquet_schema))]


def write_data_files(
    storage: Storage,
    tables: Iterable[pa.Table],
    *,
    partition_by: list[str],
    physical_names: dict[str, str] | None = None,
    layout: PhysicalLayout | None = None,
    target_file_size: int = DEFAULT_TARGET_FILE_SIZE,
    data_change: bool = True,
    directory: str = "",
    small_pages: bool = False,
) -> list[Add]:
    """Write Parquet files for already-validated data; return their add actions (not yet committed).

    Partition columns are not stored in the files; their values go to ``partitionValues``.
    ``layout``: a column-mapped table's physical names (files, statistics and partition values use them).
    ``directory``: below the table root (``_change_data`` for change data files, named ``cdc-...``).
    ``small_pages``: data pages of ``DATA_PAGE_SIZE`` from either writer (deletion-vector tables: their
    DML reads changed rows by position, and a reader skips the pages holding none of them); pyarrow's
    files always have them, DuckDB's writer otherwise writes larger pages, which it scans faster.
    """
    phys = layout.names if layout is not None else physical_names or {}
    writers: dict[tuple, _RollingFile] = {}
    adds: list[Add] = []
    written: list[str] = []

    def emit(key: tuple, result: tuple[str, int, str] | None) -> None:
        if result is None:
            return
        rel, size, stats = result
        written.append(rel)
        adds.append(
            Add(
                path=partitions.log_path(rel),
                size=size,
                partition_values=tuple((phys.get(c, c), v) for c, v in zip(partition_by, key, strict=True)),
                modification_time=now_ms(),
                data_change=data_change,
                stats=stats,
                tags=(NAN_AWARE_TAG,),
            )
        )

    def physical(data: pa.Table) -> pa.Table:
        if layout is not None:
            return layout.table(data)
        if phys:
            return data.rename_columns([phys.get(c, c) for c in data.column_names])
        return data

    shown = progress.bar(desc="writing", unit="rows")  # silent unless it runs over a second
    prefix = "cdc" if directory else "part"
    try:
        if not partition_by:
            head, tables = _peek((physical(t) for t in tables if t.num_rows), duck_write.MIN_ROWS)
            big = head and sum(t.num_rows for t in head) >= duck_write.MIN_ROWS
            big = big and target_file_size >= duck_write.MIN_TARGET
            if big and duck_write.writable(head[0].schema):  # DuckDB scans its own writer's files fastest
                files = duck_write.DuckFiles(
                    storage,
                    directory,
                    head[0].schema,
                    target_file_size,
                    prefix,
                    ROW_GROUP_ROWS,
                    page_limit=DATA_PAGE_SIZE if small_pages else None,
                )
                for result in files.write(_counted(tables, shown)):
                    emit((), result)
                return adds
        for table in tables:
            shown.update(table.num_rows)
            if table.num_rows == 0:
                continue
            for key, part in _split_partitions(table, partition_by):
                data = physical(part.drop_columns(partition_by)) if partition_by else part
                w = writers.get(key)
                if w is None:
                    subdir = partitions.partition_dir([phys.get(c, c) for c in partition_by], list(key))
                    subdir = "/".join(d for d in (directory, subdir) if d)
                    w = writers[key] = _RollingFile(storage, subdir, data.schema, target_file_size, prefix)
                for result in w.write(data):
                    emit(key, result)
        for key, w in writers.items():
            emit(key, w.close())
    except BaseException:
        storage.delete(written)  # best effort: uncommitted files are garbage either way
        raise
    finally:
        shown.close()
    return adds


def _peek(tables: Iterator[pa.Table], rows: int) -> tuple[list[pa.Table], Iterator[pa.Table]]:
    """The first chunks (at least ``rows`` rows, or all) and an iterator over all the chunks."""
    head: list[pa.Table] = []
    seen = 0
    for table in tables:
        head.append(table)
        seen += table.num_rows
        if seen >= rows:
            break
    return head, itertools.chain(head, tables)


def _counted(tables: Iterator[pa.Table], shown: Any) -> Iterator[pa.Table]:
    for table in tables:
        shown.update(table.num_rows)
        yield table


def _split_partitions(table: pa.Table, partition_by: list[str]) -> Iterator[tuple[tuple, pa.Table]]:
    if not partition_by:
        yield (), table
        return
    for c in partition_by:
        t = table.schema.field(c).type
        if pa.types.is_nested(t) or pa.types.is_binary(t):
            raise SchemaMismatch(f"partition column {c!r} has type {t}, which cannot be a partition column")
    indexed = table.select(partition_by).append_column("__i", pa.array(range(table.num_rows), pa.int64()))
    groups = indexed.group_by(partition_by, use_threads=False).aggregate([("__i", "list")])
    keys = groups.select(partition_by).to_pylist()
    lists = groups.column("__i_list").to_pylist()
    types = [table.schema.field(c).type for c in partition_by]
    for key, idx in zip(keys, lists, strict=True):
        serialized = tuple(partitions.serialize(key[c], t) for c, t in zip(partition_by, types, strict=True))
        yield serialized, table.take(pa.array(idx, pa.int64()))
