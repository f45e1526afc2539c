"""Data files written by DuckDB's Parquet writer: DuckDB scans its own files faster than pyarrow's.

Same row groups (``ROW_GROUP_ROWS``) and codec (zstd) as the pyarrow writer in ``lakehouse.write``;
DuckDB scans the result about as fast as any file it writes itself (benchmarks/parquet_writer_bench.py),
pyarrow's ~1.17x slower. Only types DuckDB writes exactly as Delta readers expect go this way
(``writable``): microsecond timestamps with or without UTC zone, decimals, dates, integers, floats,
strings, binary, and structs / lists / maps of them. Anything else (nanosecond timestamps, unsigned or
dictionary columns, field ids below a list or map) keeps the pyarrow writer.

The rows stream through: a generator hands Arrow chunks to one ``COPY ... TO`` per file and ends the
file once DuckDB has written ``target`` bytes. Statistics are collected from exactly the chunks handed
over (the same ``StatsCollector`` as the pyarrow path); the footer's row count is checked against them.
DuckDB writes no float min/max for a row group holding NaN, so readers trusting footers keep NaN rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._duck import ProcessConnection
from .column_mapping import PARQUET_FIELD_ID
from .lazy import pa, pq
from .stats import StatsCollector
from .storage import Storage

if TYPE_CHECKING:
    import duckdb  # imported on the first write: ``import lakehouse`` stays light

# Smaller writes keep pyarrow: a COPY costs a connection and a temporary file (~2 ms), and DuckDB's
# advantage is in scanning many row groups.
MIN_ROWS = 16 * 1024
# A file ends once DuckDB has flushed a row group past the target; below a few row groups' size the
# pyarrow writer (which checks the size after every chunk) keeps files near small targets.
MIN_TARGET = 16 * 1024 * 1024
_ROWS = "__lh_rows"


def writable(schema: pa.Schema) -> bool:
    """True when DuckDB writes every column of ``schema`` as the pyarrow writer would, field ids too."""
    return _names_ok(list(schema)) and all(_type_ok(f.type, f.metadata) for f in schema)


def _names_ok(fields: list[pa.Field]) -> bool:
    # DuckDB names are case-insensitive: "a" and "A" side by side would come out renamed.
    return bool(fields) and len({f.name.lower() for f in fields}) == len(fields)


def _type_ok(t: pa.DataType, meta: dict | None, ids_allowed: bool = True) -> bool:
    if meta and PARQUET_FIELD_ID in meta and not ids_allowed:
        return False  # DuckDB's FIELD_IDS cannot name a list element or map key / value
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        return _names_ok(fields) and all(_type_ok(f.type, f.metadata, ids_allowed) for f in fields)
    if pa.types.is_list(t):
        return _type_ok(t.value_type, t.value_field.metadata, False)
    if pa.types.is_map(t):
        return _type_ok(t.key_type, t.key_field.metadata, False) and _type_ok(
            t.item_type, t.item_field.metadata, False
        )
    if pa.types.is_timestamp(t):
        return t.unit == "us" and t.tz in (None, "UTC", "+00:00")
    if pa.types.is_decimal(t):
        return pa.types.is_decimal128(t) and t.precision <= 38
    return any(
        check(t)
        for check in (
            pa.types.is_signed_integer,
            pa.types.is_float32,
            pa.types.is_float64,
            pa.types.is_boolean,
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
            pa.types.is_date32,
        )
    )


def _quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _ids(fields: list[pa.Field]) -> str:
    """DuckDB's FIELD_IDS value for the Parquet field ids in the fields' metadata ("" when none)."""
    parts = []
    for f in fields:
        fid = (f.metadata or {}).get(PARQUET_FIELD_ID)
        inner = (
            _ids([f.type.field(i) for i in range(f.type.num_fields)]) if pa.types.is_struct(f.type) else ""
        )
        if inner:
            own = f"'__duckdb_field_id': {int(fid)}, " if fid is not None else ""
            parts.append(f"{_quote(f.name)}: {{{own}{inner[1:-1]}}}")
        elif fid is not None:
            parts.append(f"{_quote(f.name)}: {int(fid)}")
    return "{" + ", ".join(parts) + "}" if parts else ""


class DuckFiles:
    """Writes one stream of tables (physical names, one partition) as files of about ``target`` bytes."""

    def __init__(
        self,
        storage: Storage,
        directory: str,
        schema: pa.Schema,
        target: int,
        prefix: str,
        group_rows: int,
        page_limit: int | None = None,
    ):
        self.storage, self.directory, self.schema, self.target = storage, directory, schema, target
        self.prefix, self.group_rows = prefix, group_rows
        ids = _ids(list(schema))
        self.options = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {group_rows}" + (
            f", FIELD_IDS {ids}" if ids else ""
        )
        if page_limit is not None:  # pages a reader of single rows can skip (deletion-vector DML)
            self.options += f", DATA_PAGE_SIZE_LIMIT {int(page_limit)}"

    def write(self, tables: Iterator[pa.Table]) -> Iterator[tuple[str, int, str]]:
        """(relative path, size, stats JSON) per file written, as each is done."""
        tmp = tempfile.mkdtemp(prefix="lh-duck-write-")
        con = _cursor()  # a connection of its own: writes in other threads run alongside
        pieces = self._pieces(tables)
        pending: list[pa.Table] = []
        try:
            while True:
                piece = pending.pop() if pending else next(pieces, None)
                if piece is None:
                    return
                pending.append(piece)  # each file starts with a piece in hand: no empty COPY
                done = self._one_file(con, os.path.join(tmp, "f.parquet"), pieces, pending)
                if done is None:
                    return
                yield done
        finally:
            con.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def _pieces(self, tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for table in tables:
            for offset in range(0, table.num_rows, self.group_rows):
                yield table.slice(offset, self.group_rows)

    def _one_file(
        self, con: duckdb.DuckDBPyConnection, path: str, pieces: Iterator[pa.Table], pending: list[pa.Table]
    ) -> tuple[str, int, str] | None:
        stats = StatsCollector()
        failure: list[BaseException] = []

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                while True:
                    piece = pending.pop() if pending else next(pieces, None)
                    if piece is None:
                        return
                    if stats.num_records and _size(path) >= self.target:
                        pending.append(piece)  # the next file starts with it
                        return
                    stats.update(piece)
                    for batch in piece.to_batches():
                        yield batch if batch.schema.equals(self.schema) else _conform(batch, self.schema)
            except BaseException as e:  # DuckDB would turn it into an Arrow error: re-raised below
                failure.append(e)
                raise

        reader = pa.RecordBatchReader.from_batches(self.schema, batches())
        con.register(_ROWS, reader)
        try:
            con.execute(f"COPY (SELECT * FROM {_ROWS}) TO '{path}' ({self.options})")
        except BaseException:
            if failure:
                raise failure[0] from None
            raise
        finally:
            con.unregister(_ROWS)
        try:
            if stats.num_records == 0:
                return None
            written = pq.read_metadata(path).num_rows
            if written != stats.num_records:  # never seen: the statistics would not describe the file
                raise RuntimeError(f"DuckDB wrote {written} rows of {stats.num_records} to a data file")
            with open(path, "rb") as f:
                data = f.read()
        finally:
            if os.path.exists(path):
                os.unlink(path)
        name = f"{self.prefix}-{uuid.uuid4()}-c000.zstd.parquet"
        rel = f"{self.directory}/{name}" if self.directory else name
        self.storage.write(rel, data)
        return rel, len(data), stats.to_json()


def _writing_db() -> duckdb.DuckDBPyConnection:
    from .lazy import duckdb

    return duckdb.connect(config={"threads": "1"})


_DB = ProcessConnection(_writing_db)


def _cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's writing database (opening one costs ~70 ms). One thread: a
    COPY pulls the chunks (and so runs the caller's generators) on the calling thread, in order."""
    return _DB.get().cursor()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(batch.columns, schema=schema)
