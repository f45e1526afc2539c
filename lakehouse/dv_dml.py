"""DELETE and UPDATE on a table with deletion vectors: mark rows instead of rewriting files.

Two passes per file: the predicate is evaluated on the columns it names only (a one-column read of a
wide table; one DuckDB pass for local files, ``row_fetch.rows_matching``, else pyarrow and
``RowFilter``), giving the physical positions of the matching rows; DELETE then marks them in the file's
deletion vector (``Transaction.delete_positions``). UPDATE also reads the other columns of the rows at
those positions (``row_fetch.rows_at``: only the data pages that hold them), computes their new values
and appends them in new files.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from . import _duck
from .dv_write import deleted_rows
from .errors import LakehouseError
from .lazy import np, pa
from .predicate import may_match, parse_where
from .reader import open_data_file, read_file, storage_for
from .row_fetch import POS, local_paths, rows_at, rows_matching
from .row_filter import RowFilter
from .schema import find_field

if TYPE_CHECKING:
    import duckdb

    from .cdf import ChangeRecorder
    from .data_file import DataFile
    from .snapshot import Snapshot


class Transaction(Protocol):
    """What marking rows needs of a transaction; ``lakehouse.Transaction`` implements it."""

    @property
    def cdc(self) -> ChangeRecorder: ...
    def mark_read(self, f: DataFile) -> None: ...
    def delete_positions(self, changes: list[tuple[int, np.ndarray]]) -> int: ...
    def write_rows(
        self, data: pa.Table, *, validate: bool = True, con: Any = None, rewrite: bool = False
    ) -> Any: ...


__all__ = ["delete_marking", "update_marking"]

_POS = POS


def delete_marking(tx: Transaction, view: Snapshot, indices: list[int], where: str) -> int:
    """Mark the rows matching ``where`` in the files at ``indices`` deleted; returns how many."""
    match = RowFilter(where, view.schema)
    marks, deleted = [], 0
    with _duck.connection(readable=local_paths(view, indices)) as con:
        for i, found in zip(indices, _matching_each(match, view, indices, con)):
            tx.mark_read(view.file_at(i))
            positions = found.column(_POS).to_numpy()
            if len(positions):
                marks.append((i, positions))
                deleted += len(positions)
        if marks:
            tx.delete_positions(marks)
            if tx.cdc.enabled:  # the file stays (with a vector): readers cannot derive its deletes
                rows = pa.concat_tables(rows_at(view, i, p, con) for i, p in marks)
                tx.cdc.record(rows, "delete", removed=[view.file_at(i) for i, _ in marks])
    return deleted


def update_marking(tx: Transaction, view: Snapshot, indices: list[int], cond: str, select: list[str]) -> int:
    """Mark the rows matching ``cond`` deleted and append them as ``select`` computes them (the
    expressions of ``dml.update_rows``, ending with the ``__lh_hit`` flag); returns how many."""
    match = RowFilter(cond, view.schema)
    marks, known = [], []
    with _duck.connection(readable=local_paths(view, indices)) as con:
        for i, found in zip(indices, _matching_each(match, view, indices, con)):
            tx.mark_read(view.file_at(i))
            if found.num_rows:
                marks.append((i, found.column(_POS).to_numpy()))
                known.append(found.drop_columns([_POS]))  # the predicate's columns: not read again
        if not marks:
            return 0
        moved = [rows_at(view, i, p, con, known=k) for (i, p), k in zip(marks, known)]
        new = _duck.select_exprs(con, pa.concat_tables(moved), select).drop_columns(["__lh_hit"])
        tx.delete_positions(marks)
        adds = tx.write_rows(new, validate=True, con=con, rewrite=True)
        if tx.cdc.enabled:
            removed = [view.file_at(i) for i, _ in marks]
            tx.cdc.record(pa.concat_tables(moved), "update_preimage", removed=removed, added=adds)
            tx.cdc.record(new, "update_postimage")
    return sum(len(p) for _, p in marks)


def _matching_each(
    match: RowFilter, view: Snapshot, indices: list[int], con: duckdb.DuckDBPyConnection
) -> list[pa.Table]:
    """``_matching`` of each file: DuckDB reads and filters the local files it can (``rows_matching``:
    one pass, its own threads), the others are read and filtered in parallel (Parquet decoding and the
    filter release the GIL; a filter that needs DuckDB opens a private connection per call)."""
    found: dict[int, pa.Table] = {}
    if match.columns:
        for i in indices:
            got = rows_matching(view, i, match.where, match.columns, con)
            if got is not None:
                found[i] = got
    rest = [i for i in indices if i not in found]
    workers = min(len(rest), os.cpu_count() or 1)
    if workers <= 1:
        found.update((i, _matching(match, view, i)) for i in rest)
    else:
        with ThreadPoolExecutor(workers) as pool:
            found.update(zip(rest, pool.map(lambda i: _matching(match, view, i), rest)))
    return [found[i] for i in indices]


def _matching(match: RowFilter, view: Snapshot, i: int) -> pa.Table:
    """The live rows of file ``i`` that ``match`` keeps: the columns it names (or the first column when
    it names none) and their physical positions (``__lh_pos``), in order. Reads only those columns and
    only the row groups whose footer statistics may hold a match."""
    columns = match.columns or [view.schema.names[0]]
    schema = pa.schema([*(view.schema.field(c) for c in columns), pa.field(_POS, pa.int64())])
    if not match.columns and not _constant(match.where):
        return schema.empty_table()
    found = []
    for start, stop, groups in _candidate_runs(view, i, match):
        data = read_file(view, i, columns, groups)
        data = data.append_column(_POS, pa.array(_live_in(view, i, start, stop), pa.int64()))
        found.append(match.apply(data) if match.columns else data)  # no columns: a constant TRUE
    return pa.concat_tables(found).cast(schema) if found else schema.empty_table()


def _candidate_runs(view: Snapshot, i: int, match: RowFilter) -> list[tuple[int, int, list[int] | None]]:
    """``(first physical row, end row, row groups)`` runs of file ``i`` that may hold a match; one run
    of the whole file (row groups None) when the footer cannot narrow it."""
    with open_data_file(view, i) as pf:
        md = pf.metadata
    counts = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
    starts = np.cumsum([0, *counts]).tolist()
    keep = _groups_may_match(view, md, match) if md.num_row_groups > 1 and match.columns else None
    if keep is None:
        return [(0, starts[-1], None)]
    runs: list[tuple[int, int, list[int] | None]] = []
    for g in range(md.num_row_groups):
        if not keep[g]:
            continue
        if runs and runs[-1][1] == starts[g]:
            first, _, groups = runs[-1]
            runs[-1] = (first, starts[g + 1], [*(groups or []), g])
        else:
            runs.append((starts[g], starts[g + 1], [g]))
    return runs


def _groups_may_match(view: Snapshot, md: Any, match: RowFilter) -> list[bool] | None:
    """Per row group: False where its footer min/max prove no row matches (integer and date columns
    only: their Parquet statistics are exact); None when nothing can be said."""
    n = md.num_row_groups
    index = {md.schema.column(j).path: j for j in range(md.num_columns)}
    parts = set(view.partition_columns)

    def lookup(name: str):
        f = find_field(view.schema, name)
        if f is None or f.name in parts or not (pa.types.is_integer(f.type) or pa.types.is_date(f.type)):
            return None
        j = index.get(view.physical_names.get(f.name, f.name))
        if j is None:
            return None
        lo, hi, nulls, rows = [], [], [], []
        for g in range(n):
            st = md.row_group(g).column(j).statistics
            ok = st is not None and st.has_min_max
            lo.append(st.min if ok else None)
            hi.append(st.max if ok else None)
            nulls.append(st.null_count if st is not None and st.has_null_count else None)
            rows.append(md.row_group(g).num_rows)
        try:
            arrays = (pa.array(lo, f.type), pa.array(hi, f.type), pa.array(nulls, pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            return None
        return (*arrays, pa.array(rows, pa.int64())), f.type

    try:
        mask = may_match(parse_where(match.where), n, lookup)
    except LakehouseError:
        return None
    return [v is not False for v in mask.to_pylist()]


def _live_in(view: Snapshot, i: int, start: int, stop: int) -> np.ndarray:
    """Physical positions in ``[start, stop)`` of file ``i`` that its deletion vector keeps."""
    positions = np.arange(start, stop, dtype=np.int64)
    dv = view.file_deletion_vector(i)
    if dv is None:
        return positions
    gone = deleted_rows(storage_for(view), dv).astype(np.int64)
    gone = gone[(gone >= start) & (gone < stop)]
    keep = np.ones(stop - start, dtype=bool)
    keep[gone - start] = False
    return positions[keep]


@functools.lru_cache(maxsize=64)
def _constant(where: str) -> bool:
    with _duck.connection() as con:
        return bool(con.execute(f"SELECT coalesce(({where}), false)").fetchall()[0][0])
