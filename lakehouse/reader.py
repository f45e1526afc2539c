"""The one reader of a pinned snapshot: splits of the surviving files, read with the row filter applied.

A split is a whole data file or a run of its row groups. ``Reader.plan`` cuts the files a scan kept
(statistics pruning happens in ``Scan``) into splits by rows (ML loaders) or by compressed bytes (batch
jobs), or one split per file (``Scan.to_batches``). ``Reader.read`` turns a split into table-schema Arrow
data: column mapping resolved, partition values filled in, columns added later as NULLs, the deletion
vector applied, then the residual row filter. Every reader of a table's rows (``Scan``, SQL relations for
files DuckDB cannot read natively, jobs, ML) goes through here; ``read_file`` is the single place that
opens a table's Parquet data files.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, BinaryIO, Protocol

from .column_mapping import file_columns, mapping_mode, to_logical
from .deletion_vectors import load_deleted_rows
from .errors import SchemaMismatch, did_you_mean
from .lazy import np, pa, pq
from .schema import find_field
from .storage import Storage, open_storage

if TYPE_CHECKING:
    from .log.actions import DeletionVector
    from .row_filter import RowFilter

_IO_THREADS = 8


@dataclass(frozen=True)
class FileFacts:
    """What the log says about some active files, one tuple entry per file (in the order asked for).

    ``paths``: decoded, relative to the table root or absolute URIs; ``uris``: absolute URIs;
    ``log_paths``: as written in the log; ``dv_cardinality``: rows deleted by the file's deletion
    vector, None without one; ``partition_values``: physical partition column name -> text.
    """

    indices: tuple[int, ...]
    paths: tuple[str, ...]
    uris: tuple[str, ...]
    log_paths: tuple[str, ...]
    size: tuple[int, ...]
    num_records: tuple[int | None, ...]
    dv_cardinality: tuple[int | None, ...]
    partition_values: tuple[dict[str, str | None], ...]


class TableVersion(Protocol):
    """What the reader needs of a table version; ``lakehouse.Snapshot`` implements it.

    A protocol rather than the class: the snapshot builds scans, so the reader must not depend on it.
    """

    @property
    def uri(self) -> str: ...
    @property
    def storage(self) -> Storage: ...
    @property
    def schema(self) -> pa.Schema: ...
    @property
    def full_schema(self) -> pa.Schema: ...
    @property
    def properties(self) -> dict[str, str]: ...
    @property
    def partition_columns(self) -> list[str]: ...
    @property
    def partition_arrays(self) -> dict[str, pa.Array]: ...
    def file_path(self, i: int) -> str: ...
    def file_uri(self, i: int) -> str: ...
    def file_deletion_vector(self, i: int) -> DeletionVector | None: ...
    def file_facts(self, indices: Sequence[int]) -> FileFacts: ...
    def reading_file(self, uri: str) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class Split:
    """Rows of one active data file: all of it (``row_groups`` None) or a run of its row groups.

    ``rows``: physical rows of the split when known; ``count``: rows it yields (deletion vector and row
    filter applied) when known; ``first_row``: position in the file of the run's first row.
    """

    file: int  # index of the file among the snapshot's active files
    path: str
    size: int  # bytes: the file's size, or the compressed size of the run
    rows: int | None
    count: int | None
    row_groups: tuple[int, ...] | None = None
    group_rows: tuple[int, ...] | None = None  # rows per row group of the run, when the footer was read
    first_row: int = 0
    has_dv: bool = False
    index: int = 0  # position in its plan

    @property
    def file_index(self) -> int:
        return self.file

    @property
    def num_rows(self) -> int | None:
        return self.rows

    def describe(self) -> str:
        if self.row_groups is None:
            return f"file {self.path}"
        first, last = self.row_groups[0], self.row_groups[-1]
        groups = f"row group {first}" if first == last else f"row groups {first}-{last}"
        return f"file {self.path} {groups}"


def resolve_columns(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    """The schema's spelling of each of ``columns`` (case-insensitive); SchemaMismatch for unknown ones."""
    out = []
    for c in columns:
        f = find_field(schema, c)
        if f is None:
            raise SchemaMismatch(
                f"unknown column {c!r}{did_you_mean(c, schema.names)}; columns are: {', '.join(schema.names)}"
            )
        out.append(f.name)
    return out


class Reader:
    """Reads ``columns`` of a snapshot's rows matching ``where`` (normalized SQL), split by split.

    A ``where`` on partition columns only is decided per file when planning (no row is read for it);
    any other is applied to each split's rows. Splits must come from this reader's ``plan``.

    >>> scan = table.snapshot().scan(columns=["id"], where="v > 1")
    >>> reader = scan.reader
    >>> sum(reader.read(s).num_rows for s in reader.plan(scan.file_indices, split_rows=65_536))
    14
    """

    def __init__(
        self, snapshot: TableVersion, columns: Sequence[str] | None = None, where: str | None = None
    ):
        schema = snapshot.schema
        self.snapshot = snapshot
        self.columns: list[str] = resolve_columns(schema, columns) if columns is not None else schema.names
        self.where = where
        self.row_filter: RowFilter | None = None
        self._partition_filter: RowFilter | None = None
        self.read_columns: list[str] = list(self.columns)
        if where is not None:
            from .row_filter import RowFilter  # sqlglot: only when filtering

            f = RowFilter(where, schema)
            if f.columns and set(f.columns) <= set(snapshot.partition_columns):
                self._partition_filter = f
            else:
                self.row_filter = f
                self.read_columns += [c for c in f.columns if c not in self.read_columns]

    def plan(
        self,
        files: Sequence[int],
        *,
        split_rows: int | None = None,
        split_bytes: int | None = None,
        count: bool = False,
    ) -> list[Split]:
        """Splits of ``files`` (indices of active files), in order.

        ``split_rows``: runs of row groups of at least that many rows (files of up to twice as many stay
        whole); ``split_bytes``: files larger than that split into runs of about that many compressed
        bytes; neither: one split per file, planned from the log alone. ``count``: know each split's
        row count even with a row filter (reads the filter's columns once).
        """
        files = self._partition_files(list(files))
        if not files:
            return []
        snap = self.snapshot
        facts = snap.file_facts(files)
        records, deleted, sizes = facts.num_records, facts.dv_cardinality, facts.size
        need = [
            (split_rows is not None and (n is None or n > 2 * split_rows))
            or (split_bytes is not None and size > split_bytes)
            for n, size in zip(records, sizes)
        ]
        todo = [f for f, yes in zip(files, need) if yes]
        footers: dict[int, list[tuple[int, int]]] = {}
        if todo:
            from concurrent.futures import ThreadPoolExecutor  # lazily: importing it costs ~7 ms

            with ThreadPoolExecutor(min(_IO_THREADS, len(todo))) as pool:
                footers = dict(zip(todo, pool.map(self._row_groups, todo)))
        out: list[Split] = []
        for k, f in enumerate(files):
            groups = footers.get(f)
            has_dv = deleted[k] is not None
            runs = _runs(groups, split_rows, split_bytes) if groups else []
            path = facts.paths[k]
            if len(runs) <= 1:
                rows = records[k]
                if rows is None and groups is not None:
                    rows = sum(r for r, _ in groups)
                n = None if rows is None else rows - (deleted[k] or 0)
                out.append(Split(f, path, sizes[k], rows, n, has_dv=has_dv, index=len(out)))
                continue
            positions = self._deleted(f) if has_dv else None
            start = 0
            for run in runs:
                group_rows = tuple(groups[g][0] for g in run)
                rows = sum(group_rows)
                n = rows
                if positions is not None:
                    n -= int(np.count_nonzero((positions >= start) & (positions < start + rows)))
                size = sum(groups[g][1] for g in run)
                out.append(Split(f, path, size, rows, n, tuple(run), group_rows, start, has_dv, len(out)))
                start += rows
        if self.row_filter is not None:
            counts: list[int | None] = [None] * len(out)
            if count:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(_IO_THREADS) as pool:
                    counts = list(pool.map(self._count, out))
            out = [replace(s, count=c) for s, c in zip(out, counts)]
        return out

    def read(self, split: Split, start: int = 0, stop: int | None = None, *, con: object = None) -> pa.Table:
        """Rows ``[start, stop)`` of the split (after deletion vector and row filter), the reader's columns.

        ``con``: a ``lakehouse._duck.connection()`` to reuse when the row filter needs DuckDB.
        """
        groups, offset = split.row_groups, 0
        if self.row_filter is None and not split.has_dv and split.group_rows and (start or stop is not None):
            # Plain positions: read only the row groups that hold rows [start, stop).
            bounds = np.concatenate([[0], np.cumsum(split.group_rows)])
            lo = max(int(np.searchsorted(bounds, start, side="right")) - 1, 0)
            hi = len(split.group_rows) if stop is None else int(np.searchsorted(bounds, stop, side="left"))
            offset = int(bounds[lo])
            groups = tuple(split.row_groups[lo : max(hi, lo + 1)])  # type: ignore[index]
        table = read_file(self.snapshot, split.file, self.read_columns, groups)
        if self.row_filter is not None:
            table = self.row_filter.apply(table, con)  # type: ignore[arg-type]
        start -= offset
        end = table.num_rows if stop is None else min(stop - offset, table.num_rows)
        if start or end < table.num_rows:
            table = table.slice(start, max(end - start, 0))
        return table.select(self.columns) if len(self.read_columns) != len(self.columns) else table

    def batches(self, splits: Sequence[Split], batch_size: int | None = None) -> Iterator[pa.RecordBatch]:
        """The rows of ``splits`` in order, as record batches of at most ``batch_size`` rows."""
        from . import _duck  # duckdb: only when rows are read

        # A DuckDB connection costs ~20 ms to open: only a filter Arrow cannot evaluate needs one.
        needs_con = self.row_filter is not None and self.row_filter.uses_duckdb
        if not needs_con and len(splits) > 1 and storage_for(self.snapshot).scheme == "s3":
            yield from self._prefetching(splits, batch_size)
            return
        with _duck.connection() if needs_con else contextlib.nullcontext() as con:
            for split in splits:
                yield from self.read(split, con=con).to_batches(max_chunksize=batch_size)

    def _prefetching(self, splits: Sequence[Split], batch_size: int | None) -> Iterator[pa.RecordBatch]:
        """``batches`` from object storage: the next PREFETCH splits are read while the current one is
        consumed (their GETs overlap the caller's work); at most PREFETCH + 1 splits are held."""
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        pending = iter(splits)
        pool = ThreadPoolExecutor(PREFETCH, thread_name_prefix="lakehouse-prefetch")
        try:
            ahead = deque(pool.submit(self.read, s) for s in itertools.islice(pending, PREFETCH + 1))
            while ahead:
                table = ahead.popleft().result()
                nxt = next(pending, None)
                if nxt is not None:
                    ahead.append(pool.submit(self.read, nxt))
                yield from table.to_batches(max_chunksize=batch_size)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _partition_files(self, files: list[int]) -> list[int]:
        keep = self._partition_filter
        if keep is None or not files:
            return files
        idx = pa.array(files, pa.int64())
        values = pa.table({c: self.snapshot.partition_arrays[c].take(idx) for c in keep.columns})
        return keep.apply(values.append_column("__file", idx)).column("__file").to_pylist()

    def _row_groups(self, index: int) -> list[tuple[int, int]]:
        """(rows, compressed bytes) per row group of a file, from its footer."""
        with open_data_file(self.snapshot, index) as pf:
            md = pf.metadata
        out = []
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            out.append((rg.num_rows, sum(rg.column(c).total_compressed_size for c in range(rg.num_columns))))
        return out

    def _deleted(self, index: int) -> np.ndarray:
        dv = self.snapshot.file_deletion_vector(index)
        return load_deleted_rows(storage_for(self.snapshot), dv).astype(np.int64)

    def _count(self, split: Split) -> int:
        assert self.row_filter is not None
        data = read_file(self.snapshot, split.file, self.row_filter.columns, split.row_groups)
        return self.row_filter.apply(data).num_rows


def _runs(groups: list[tuple[int, int]], split_rows: int | None, split_bytes: int | None) -> list[list[int]]:
    """Consecutive row groups: runs of at least ``split_rows`` rows, or of at most ~``split_bytes``."""
    runs: list[list[int]] = []
    run: list[int] = []
    rows = size = 0
    for g, (g_rows, g_size) in enumerate(groups):
        if split_bytes is not None and run and size + g_size > split_bytes:
            runs.append(run)
            run, rows, size = [], 0, 0
        run.append(g)
        rows, size = rows + g_rows, size + g_size
        if split_rows is not None and rows >= split_rows:
            runs.append(run)
            run, rows, size = [], 0, 0
    if run:
        runs.append(run)
    return runs


PREFETCH = 2  # splits read ahead from object storage by Reader.batches

_storages: dict[tuple[int, str, int], Storage] = {}


def storage_for(snapshot: TableVersion) -> Storage:
    """The snapshot's storage in the process that made it, a fresh one in a forked child.

    s3fs instances refuse to run after a fork (their event loop thread stays in the parent).
    """
    if snapshot.storage.scheme != "s3":
        return snapshot.storage
    pid = os.getpid()
    if getattr(snapshot.storage.fs, "_pid", pid) == pid:
        return snapshot.storage
    key = (pid, snapshot.uri, id(snapshot.storage))  # per storage: its options and cache, not the first's
    if key not in _storages:
        fresh = open_storage(snapshot.uri, snapshot.storage.options)
        fresh.data_cache = snapshot.storage.data_cache
        _storages[key] = fresh
    return _storages[key]


def local_file(snapshot: TableVersion, index: int) -> str | None:
    """The local filesystem path of an active data file; None when it is in an object store."""
    uri = snapshot.file_uri(index)
    local = uri[len("file://") :] if uri.startswith("file://") else uri
    return local if storage_for(snapshot).scheme == "file" and "://" not in local else None


@contextlib.contextmanager
def open_data_file(snapshot: TableVersion, index: int) -> Iterator[pq.ParquetFile]:
    """An active data file, open; a damaged or missing file (also while reading it) raises an error naming it."""
    path, uri = snapshot.file_path(index), snapshot.file_uri(index)
    storage = storage_for(snapshot)
    with snapshot.reading_file(uri):
        local = local_file(snapshot, index)
        if local is not None:
            yield pq.ParquetFile(local, memory_map=True)  # local: memory-map instead of fsspec reads
            return
        size = snapshot.file_facts([index]).size[0]
        with open_remote(storage, path, size) as handle:  # closed promptly: an epoch opens every file again
            yield pq.ParquetFile(handle, pre_buffer=True)


def open_remote(storage: Storage, path: str, size: int | None) -> BinaryIO:
    """A remote data file, open for reading: through the local cache of immutable data (``lakehouse.cache``)
    for object stores, so only the footer and the selected column chunks are fetched, once per machine."""
    if storage.scheme != "s3" or size is None:
        return storage.open(path)
    from .cache import open_data_cache

    cache = storage.data_cache or open_data_cache()
    return storage.guarded(
        "read of", path, lambda: cache.open(storage.fs, storage.full_path(path), int(size))
    )


def read_file(
    snapshot: TableVersion, index: int, columns: Sequence[str], row_groups: Sequence[int] | None = None
) -> pa.Table:
    """The rows of one active file as the table schema (logical names), deletion vector applied.

    ``row_groups``: read only these contiguous, ascending row groups (a split of a large file).
    """
    data_cols = [c for c in columns if c not in set(snapshot.partition_columns)]
    with open_data_file(snapshot, index) as pf:
        file_schema = pf.schema_arrow
        stored = stored_columns(snapshot, file_schema, data_cols)
        wanted = [stored[c] for c in data_cols if c in stored]
        md = pf.metadata
        if row_groups is None:
            raw = pf.read(columns=wanted) if wanted else None
            num_rows, first_row = (raw.num_rows if raw is not None else md.num_rows), 0
        else:
            groups = list(row_groups)
            raw = pf.read_row_groups(groups, columns=wanted) if wanted else None
            num_rows = sum(md.row_group(g).num_rows for g in groups)
            first_row = sum(md.row_group(g).num_rows for g in range(groups[0])) if groups else 0
    out = assemble(snapshot, index, columns, raw, num_rows, file_schema)
    dv = snapshot.file_deletion_vector(index)
    if dv is not None:
        deleted = load_deleted_rows(storage_for(snapshot), dv).astype(np.int64) - first_row
        keep = np.ones(num_rows, dtype=bool)
        keep[deleted[(deleted >= 0) & (deleted < num_rows)]] = False
        out = out.filter(pa.array(keep))
    return out


def stored_columns(
    snapshot: TableVersion, file_schema: pa.Schema, data_columns: Sequence[str]
) -> dict[str, str]:
    """Logical data column -> the top-level column of a file (``file_schema``) that stores it."""
    full, mode = snapshot.full_schema, mapping_mode(snapshot.properties)
    return file_columns([full.field(c) for c in data_columns], file_schema, mode)


def assemble(
    snapshot: TableVersion,
    index: int,
    columns: Sequence[str],
    raw: pa.Table | None,
    num_rows: int,
    file_schema: pa.Schema,
) -> pa.Table:
    """``columns`` of file ``index`` as the table schema, from ``raw`` (its stored columns as pyarrow
    reads them, ``num_rows`` rows; None when no stored column is wanted): partition values filled in,
    physical names and types mapped to logical ones, columns added after the file was written NULL."""
    schema = snapshot.schema
    full = snapshot.full_schema
    mode = mapping_mode(snapshot.properties)
    part_cols = set(snapshot.partition_columns)
    stored = stored_columns(snapshot, file_schema, [c for c in columns if c not in part_cols])
    arrays = []
    for c in columns:
        field = schema.field(c)
        if c in part_cols:
            value = snapshot.partition_arrays[c][index]
            arrays.append(pa.repeat(value, num_rows) if value.is_valid else pa.nulls(num_rows, field.type))
        elif raw is not None and c in stored:
            arrays.append(
                to_logical(raw.column(stored[c]), full.field(c), mode, file_schema.field(stored[c]))
            )
        else:  # column added after this file was written
            arrays.append(pa.nulls(num_rows, field.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema([schema.field(c) for c in columns]))
