"""Load generated TPC-DS Parquet files into lakehouse tables through a catalog.

Each of the 24 tables becomes a Delta table ``<namespace>.<table>`` created with the Parquet schema
(normalised to types a Delta table stores: decimals stay decimals, dates stay ``date32``, strings become
``string``; every column nullable) and filled by one streaming append, so the writer collects per-file
statistics while it writes and memory stays bounded (one target file plus ~1M rows).

The big fact tables are written sorted by their date key (``ss_sold_date_sk``, ...; see
:data:`SORT_KEYS`) into several files of about ``target_file_size`` bytes: a query restricted to a date
range then reads fewer files and row groups: the engine prunes files with the key range of the ``date_dim``
rows a query selects (``engine.sql.semijoin``) and DuckDB skips row groups with the join filters it derives
from ``date_dim``.  The sort is stable (rows of one day keep the generator's order) and runs in DuckDB,
which spills to disk instead of holding the table in memory.

Idempotent.  Every table carries the properties ``tpcds.sf`` and ``tpcds.rows`` (expected row count); a
table whose data files hold exactly that many rows is complete and kept, anything else (a table created
but never filled, a crash mid-load) is dropped and loaded again.  When all tables are complete the
namespace gets the property ``tpcds.loaded = <sf>``, so the next call returns after one catalog lookup.

>>> from catalog import load_catalog                                     # doctest: +SKIP
>>> cat = load_catalog("sqlite:///wh/catalog.db", warehouse="wh")        # doctest: +SKIP
>>> load_tables(cat, "wh/_tpcds_plain/sf0.1", "tpcds_sf0_1", sf=0.1)     # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.errors import LakehouseError

__all__ = [
    "SORT_KEYS",
    "LoadedTable",
    "default_namespace",
    "is_loaded",
    "load_tables",
    "normalize_schema",
]

Progress = Callable[[str], None]

SORT_KEYS = {
    "store_sales": "ss_sold_date_sk",
    "store_returns": "sr_returned_date_sk",
    "catalog_sales": "cs_sold_date_sk",
    "catalog_returns": "cr_returned_date_sk",
    "web_sales": "ws_sold_date_sk",
    "web_returns": "wr_returned_date_sk",
    "inventory": "inv_date_sk",
}
"""Fact table -> the date key its rows are sorted by when loaded (``sort=True``)."""

DEFAULT_TARGET_FILE_SIZE = 16 * 2**20  # SF 1: store_sales in 6 files, a year selects 1-2
PROP_SF = "tpcds.sf"
PROP_ROWS = "tpcds.rows"
PROP_LOADED = "tpcds.loaded"
PROP_GENERATOR = "tpcds.generator"
_BATCH_ROWS = 131_072


@dataclass
class LoadedTable:
    """What :func:`load_tables` did for one table."""

    name: str  # namespace.table
    rows: int
    files: int
    seconds: float
    skipped: bool  # already complete


def default_namespace(sf: float) -> str:
    """``tpcds_sf<sf>`` with ``.`` as ``_``.

    >>> default_namespace(0.1), default_namespace(1), default_namespace(0.01)
    ('tpcds_sf0_1', 'tpcds_sf1', 'tpcds_sf0_01')
    """
    return "tpcds_sf" + format(float(sf), "g").replace(".", "_").replace("-", "_")


def _sf_text(sf: float) -> str:
    return format(float(sf), "g")


def _normalize_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return _normalize_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if pa.types.is_uint8(t):
        return pa.int16()
    if pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t) or pa.types.is_uint64(t):
        return pa.int64()
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_decimal(t) and t.precision > 38:
        raise LakehouseError(f"decimal precision {t.precision} does not fit a Delta decimal (max 38)")
    if pa.types.is_decimal(t):
        return pa.decimal128(t.precision, t.scale)
    return t


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    """The Delta-storable schema for a Parquet schema DuckDB wrote: same names, nullable, Delta types.

    >>> normalize_schema(pa.schema([pa.field("k", pa.int64(), False), ("s", pa.large_string())]))
    k: int64
    s: string
    """
    return pa.schema([pa.field(f.name, _normalize_type(f.type), nullable=True) for f in schema])


def _files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files in {directory}")
    return files


def _unsorted_reader(files: list[Path], schema: pa.Schema) -> pa.RecordBatchReader:
    def batches() -> Iterator[pa.RecordBatch]:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
                yield batch.cast(schema) if batch.schema != schema else batch

    return pa.RecordBatchReader.from_batches(schema, batches())


def _sorted_reader(con: Any, files: list[Path], schema: pa.Schema, key: str) -> pa.RecordBatchReader:
    """The rows sorted by ``key``, rows with equal keys in generation order (a stable sort).

    Stable matters: the generator writes e.g. ``inventory`` by date, then item; an unstable sort
    scatters the items of a day, which compresses worse and makes every hash join and aggregation on
    the item key probe memory at random (q22 ran 2-3x slower than on the generator's files).
    """
    source = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    columns = ", ".join(f'"{n}"' for n in schema.names)
    sql = (
        f"SELECT {columns} FROM read_parquet([{source}], filename = '__lh_f', file_row_number = true) "
        f'ORDER BY "{key}" NULLS LAST, __lh_f, file_row_number'
    )
    reader = con.sql(sql).to_arrow_reader(_BATCH_ROWS)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield batch.cast(schema) if batch.schema != schema else batch

    return pa.RecordBatchReader.from_batches(schema, batches())


def _complete_rows(table: Any) -> int | None:
    """Rows in the table's current files (from the log's statistics), None if unknown."""
    snap = table.snapshot()
    total = 0
    for f in snap.files:
        if f.num_records is None:
            return None
        total += f.num_records
    return total


def is_loaded(catalog: Any, namespace: str, sf: float) -> bool:
    """True if ``namespace`` is marked completely loaded with TPC-DS at scale factor ``sf``."""
    try:
        if not catalog.namespace_exists(namespace):
            return False
        return catalog.namespace_properties(namespace).get(PROP_LOADED) == _sf_text(sf)
    except LakehouseError:
        return False


def load_tables(
    catalog: Any,
    parquet_dir: str | Path,
    namespace: str,
    sf: float,
    progress: Progress = print,
    *,
    sort: bool = True,
    target_file_size: int = DEFAULT_TARGET_FILE_SIZE,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> list[LoadedTable]:
    """Load the TPC-DS tables of ``parquet_dir`` (written by ``generate_parquet``) into ``namespace``.

    ``sort``: write the fact tables sorted by their date key (:data:`SORT_KEYS`).  ``target_file_size``:
    bytes per data file (the ``delta.targetFileSize`` table property).  ``threads``/``memory_limit``: for
    the DuckDB connection that sorts.  Returns one :class:`LoadedTable` per table; tables already complete
    are skipped (``skipped=True``).  Raises ``LakehouseError`` if a table there holds another scale factor.
    """
    from tpcds.generate import read_marker

    parquet_dir = Path(parquet_dir)
    marker = read_marker(parquet_dir)
    if marker is None:
        raise FileNotFoundError(f"{parquet_dir} holds no complete TPC-DS data set: generate it first")
    sf_text = _sf_text(sf)
    if _sf_text(marker["sf"]) != sf_text:
        raise LakehouseError(f"{parquet_dir} holds TPC-DS sf={marker['sf']:g}, not sf={sf_text}")
    generator = str(marker.get("generator", "duckdb"))
    t_all = time.perf_counter()
    names = sorted(marker["tables"])
    if catalog.namespace_exists(namespace):
        have = catalog.namespace_properties(namespace)
        if have.get(PROP_SF, sf_text) != sf_text or have.get(PROP_GENERATOR, generator) != generator:
            raise LakehouseError(
                f"namespace {namespace} holds TPC-DS sf={have[PROP_SF]} ({have.get(PROP_GENERATOR, '?')}), "
                f"not sf={sf_text} ({generator}): choose another --namespace or drop it "
                f"(DROP SCHEMA {namespace} CASCADE)"
            )
    if is_loaded(catalog, namespace, sf) and all(catalog.table_exists(f"{namespace}.{n}") for n in names):
        progress(f"namespace {namespace} already holds TPC-DS sf={sf_text}; nothing to load")
        return [LoadedTable(f"{namespace}.{n}", marker["tables"][n]["rows"], 0, 0.0, True) for n in names]
    if not catalog.namespace_exists(namespace):
        catalog.create_namespace(namespace, {PROP_SF: sf_text, PROP_GENERATOR: generator})
    catalog.set_namespace_properties(
        namespace, {PROP_SF: sf_text, PROP_GENERATOR: generator, PROP_LOADED: None}
    )
    con = None
    results = []
    try:
        for n in names:
            expected = int(marker["tables"][n]["rows"])
            key = SORT_KEYS.get(n) if sort else None
            if key is not None and con is None:
                con = _sort_connection(threads, memory_limit)
            results.append(
                _load_one(
                    catalog,
                    parquet_dir / n,
                    namespace,
                    n,
                    sf_text,
                    expected,
                    key,
                    con,
                    target_file_size,
                    progress,
                )
            )
    finally:
        if con is not None:
            con.close()
    catalog.set_namespace_properties(namespace, {PROP_LOADED: sf_text})
    rows = sum(r.rows for r in results)
    progress(
        f"loaded {len(results)} tables ({rows} rows) into {namespace} in {time.perf_counter() - t_all:.1f} s"
    )
    return results


def _sort_connection(threads: int | None, memory_limit: str | None) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def _load_one(
    catalog: Any,
    directory: Path,
    namespace: str,
    name: str,
    sf_text: str,
    expected: int,
    sort_key: str | None,
    con: Any,
    target_file_size: int,
    progress: Progress,
) -> LoadedTable:
    qualified = f"{namespace}.{name}"
    t0 = time.perf_counter()
    if catalog.table_exists(qualified):
        table = catalog.load_table(qualified)
        have = dict(table.snapshot().properties)
        if have.get(PROP_SF) not in (None, sf_text):
            raise LakehouseError(
                f"table {qualified} holds TPC-DS sf={have.get(PROP_SF)}, not sf={sf_text}: "
                f"choose another --namespace"
            )
        if have.get(PROP_ROWS) == str(expected) and _complete_rows(table) == expected:
            progress(f"  {qualified}: complete ({expected} rows), kept")
            return LoadedTable(qualified, expected, table.snapshot().num_files, 0.0, True)
        progress(f"  {qualified}: incomplete, dropping and loading again")
        catalog.drop_table(qualified, purge=True)
    files = _files(directory)
    schema = normalize_schema(pq.read_schema(files[0]))
    properties = {PROP_SF: sf_text, PROP_ROWS: str(expected), "delta.targetFileSize": str(target_file_size)}
    if sort_key is not None:
        properties["tpcds.sortedBy"] = sort_key
    table = catalog.create_table(qualified, schema, properties=properties)
    if sort_key is not None and con is not None:
        reader = _sorted_reader(con, files, schema, sort_key)
    else:
        reader = _unsorted_reader(files, schema)
    table.append(reader)
    snap = table.snapshot()
    rows = sum(f.num_records or 0 for f in snap.files)
    if rows != expected:
        raise LakehouseError(f"loading {qualified} wrote {rows} rows, expected {expected}")
    seconds = time.perf_counter() - t0
    order = f", sorted by {sort_key}" if sort_key else ""
    progress(f"  {qualified}: {rows} rows, {snap.num_files} file(s){order} in {seconds:.1f} s")
    return LoadedTable(qualified, rows, snap.num_files, seconds, False)
