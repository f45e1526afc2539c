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

from . import _duck
from .dv_write import live_positions
from .reader import open_data_file, read_file
from .row_filter import RowFilter

if TYPE_CHECKING:
    from .data_file import DataFile
    from .snapshot import Snapshot


class Transaction(Protocol):
    """What marking rows needs of a transaction; ``lakehouse.Transaction`` implements it."""

    def mark_read(self, f: DataFile) -> None: ...
    def delete_positions(self, changes: list[tuple[int, np.ndarray]]) -> int: ...
    def write_rows(self, data: pa.Table, *, validate: bool = True, con: Any = None) -> Any: ...


__all__ = ["delete_marking", "update_marking"]

_POS = "__lh_pos"


def delete_marking(tx: Transaction, view: Snapshot, indices: list[int], where: str) -> int:
    """Mark the rows matching ``where`` in the files at ``indices`` deleted; returns how many."""
    match = RowFilter(where, view.schema)
    marks, deleted = [], 0
    for i in indices:
        positions = _matching(match, view, i)
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
    match = RowFilter(cond, view.schema)
    marks, moved = [], []
    for i in indices:
        positions = _matching(match, view, i)
        tx.mark_read(view.file_at(i))
        if len(positions):
            marks.append((i, positions))
            moved.append(_rows_at(view, i, positions))
    if marks:
        with _duck.connection() as con:
            new = _duck.select_exprs(con, pa.concat_tables(moved), select).drop_columns(["__lh_hit"])
            tx.delete_positions(marks)
            tx.write_rows(new, validate=True, con=con)
    return sum(len(p) for _, p in marks)


def _matching(match: RowFilter, view: Snapshot, i: int) -> np.ndarray:
    """Physical positions of the live rows of file ``i`` that ``match`` keeps, reading only its columns."""
    data = read_file(view, i, match.columns or [view.schema.names[0]])
    positions = live_positions(view, i, data.num_rows)
    if not match.columns:  # a constant predicate ("true" for an UPDATE without WHERE)
        return positions if _constant(match.where) else positions[:0]
    data = data.append_column(_POS, pa.array(positions, pa.int64()))
    return match.apply(data).column(_POS).to_numpy()


def _constant(where: str) -> bool:
    with _duck.connection() as con:
        return bool(con.execute(f"SELECT coalesce(({where}), false)").fetchone()[0])


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
