"""DELETE and UPDATE on a table with deletion vectors: mark rows instead of rewriting files.

Two passes per file: the predicate is evaluated on the columns it names only (a one-column read of a
wide table), giving the physical positions of the matching rows; DELETE then marks them in the file's
deletion vector (``Transaction.delete_positions``). UPDATE also reads the full rows at those positions --
only the row groups that hold them -- computes their new values and appends them in new files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from . import _duck
from .dv_write import live_positions
from .predicate import parse_where
from .reader import open_data_file, read_file
from .schema import find_field

if TYPE_CHECKING:
    import duckdb

    from .data_file import DataFile
    from .snapshot import Snapshot


class Transaction(Protocol):
    """What marking rows needs of a transaction; ``lakehouse.Transaction`` implements it."""

    def mark_read(self, f: DataFile) -> None: ...
    def delete_positions(self, changes: list[tuple[int, np.ndarray]]) -> int: ...
    def write_rows(self, data: pa.Table, *, validate: bool = True, con: Any = None) -> Any: ...


__all__ = ["delete_marking", "update_marking"]


def delete_marking(tx: Transaction, view: Snapshot, indices: list[int], where: str) -> int:
    """Mark the rows matching ``where`` in the files at ``indices`` deleted; returns how many."""
    marks, deleted = [], 0
    with _duck.connection() as con:
        for i in indices:
            positions = _matching(con, view, i, where)
            tx.mark_read(view.file_at(i))
            if len(positions):
                marks.append((i, positions))
                deleted += len(positions)
    if marks:
        tx.delete_positions(marks)
    return deleted


def update_marking(tx: Transaction, view: Snapshot, indices: list[int], cond: str, select: list[str]) -> int:
    """Mark the rows matching ``cond`` deleted and append them as ``select`` computes them (the
    expressions of ``dml.update_rows``, ending with the ``__lh_hit`` flag); returns how many."""
    marks, moved = [], []
    with _duck.connection() as con:
        for i in indices:
            positions = _matching(con, view, i, cond)
            tx.mark_read(view.file_at(i))
            if not len(positions):
                continue
            rows = _rows_at(view, i, positions)
            marks.append((i, positions))
            moved.append(_duck.select_exprs(con, rows, select).drop_columns(["__lh_hit"]))
        if marks:
            tx.delete_positions(marks)
            tx.write_rows(pa.concat_tables(moved), validate=True, con=con)
    return sum(len(p) for _, p in marks)


def _matching(con: duckdb.DuckDBPyConnection, view: Snapshot, i: int, where: str) -> np.ndarray:
    """Physical positions of the live rows of file ``i`` matching ``where``."""
    data = read_file(view, i, _columns_of(view, where))
    mask = pc.fill_null(_duck.match_mask(con, data, where), False)
    hits = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    if not len(hits):
        return hits.astype(np.int64)
    return live_positions(view, i, data.num_rows)[hits]


def _columns_of(view: Snapshot, where: str) -> list[str]:
    """The table columns ``where`` names (the first column when it names none)."""
    schema = view.schema
    names = []
    for col in parse_where(where).find_all(exp.Column):
        f = find_field(schema, col.name)
        if f is None:  # e.g. a struct field path: read everything
            return list(schema.names)
        if f.name not in names:
            names.append(f.name)
    return names or [schema.names[0]]


def _rows_at(view: Snapshot, i: int, positions: np.ndarray) -> pa.Table:
    """The full rows (table schema) at sorted physical ``positions`` of file ``i``, reading only the
    row groups from the first to the last that holds one."""
    with open_data_file(view, i) as pf:
        md = pf.metadata
        counts = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
    starts = np.cumsum([0, *counts])
    first = int(np.searchsorted(starts, positions[0], side="right") - 1)
    last = int(np.searchsorted(starts, positions[-1], side="right") - 1)
    groups = list(range(first, last + 1))
    data = read_file(view, i, list(view.schema.names), groups)
    live = live_positions(view, i, _live_count(view, i, starts[-1]))
    live = live[(live >= starts[first]) & (live < starts[last + 1])]
    return data.take(pa.array(np.searchsorted(live, positions)))


def _live_count(view: Snapshot, i: int, physical: int) -> int:
    dv = view.file_deletion_vector(i)
    return int(physical) - (dv.cardinality if dv is not None else 0)
