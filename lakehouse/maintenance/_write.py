"""Rewriting rows into new data files for layout operations (dataChange=false adds)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from ..dv_write import enabled as dv_enabled
from ..log.actions import Add
from ..mapped_schema import layout_of
from ..write import ROW_GROUP_ROWS, write_data_files

if TYPE_CHECKING:
    from ..data_file import DataFile
    from ..transaction import Transaction

MIN_GROUP_ROWS = 1024


def rows_per_group(files: Sequence[DataFile], target: int) -> int:
    """Rows per Parquet row group so that a file rolls over close to ``target`` bytes.

    The writer checks the file size after each row group: groups of about a quarter of the target
    keep files within ~25% of it. Bytes per row come from the inputs (an overestimate for tiny
    files, whose footers dominate, which only makes groups smaller).
    """
    size = sum(f.size for f in files)
    rows = sum(f.num_records or 0 for f in files)
    if not rows or not size:
        return ROW_GROUP_ROWS
    per_row = max(size / rows, 1.0)
    return int(min(ROW_GROUP_ROWS, max(MIN_GROUP_ROWS, target / 4 / per_row)))


def coalesce(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Re-chunk a stream of tables into tables of ``rows`` rows (the last may be shorter)."""
    pending: list[pa.Table] = []
    count = 0
    for table in tables:
        offset = 0
        while offset < table.num_rows:
            take = min(rows - count, table.num_rows - offset)
            pending.append(table.slice(offset, take))
            count += take
            offset += take
            if count >= rows:
                yield pa.concat_tables(pending).combine_chunks()
                pending, count = [], 0
    if pending:
        yield pa.concat_tables(pending).combine_chunks()


def write_layout_files(
    tx: Transaction,
    tables: Iterable[pa.Table],
    *,
    partition_by: list[str],
    target: int,
    group_rows: int,
) -> list[Add]:
    """Write the rows as rolling files of ``target`` bytes and stage their adds (dataChange=false).

    Memory: one row group being assembled plus the file being written (at most ~target bytes).
    """
    view = tx.view()
    adds = write_data_files(
        tx.table.storage,
        coalesce(tables, group_rows),
        partition_by=partition_by,
        layout=layout_of(view.full_schema, view.properties),
        target_file_size=target,
        data_change=False,
        small_pages=dv_enabled(view.properties),
    )
    tx.add_files(adds)
    return adds
