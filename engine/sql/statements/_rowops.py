"""Copy-on-write row changes computed in DuckDB: rewrite only the files holding changed rows.

A statement first computes its changes as rows of ``(__lh_file, __lh_pos, __lh_action, new values)``
(``U``pdate or ``D``elete of the row at that position of that file) by reading the target through a
pinned reference with row ids; ``apply_changes`` then rewrites each touched file without its deleted
rows and with its updated values, in the statement's transaction. On a table with deletion vectors
(``lakehouse.dv_write``) the touched files stay: their changed rows are marked deleted and the updated
rows are appended in new files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from lakehouse import dv_write
from lakehouse.errors import SqlError
from lakehouse.log.replay import decoded_paths

from ..bind import pinned_table
from ..execute import reader, registered
from ..relation import FILE_COLUMN, POS_COLUMN, Registrations, file_uris, scan_sql
from ..rewrite import Plan
from ..types import quote
from ._changefeed import change_rows_sql

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table, Transaction

    from ...runtime import Runtime

ACTION = "__lh_action"


def rowid_target(name: str, table: Table, snapshot: Snapshot, alias: str) -> exp.Table:
    """The target table as a reference that also yields ``__lh_file`` and ``__lh_pos``."""
    return pinned_table(name, table, snapshot, alias=alias, rowid=True)


def rowid_columns(alias: str) -> list[exp.Expression]:
    return [exp.column(FILE_COLUMN, alias), exp.column(POS_COLUMN, alias)]


def scanned_indices(plan: Plan, name: str) -> list[int]:
    """Files of the target the plan read (all rows ids refer to these)."""
    out: list[int] = []
    for s in plan.scans:
        if s.name == name:
            out.extend(s.file_indices)
    return sorted(set(out))


def check_unique(changes: pa.Table, what: str) -> pa.Table:
    """Error when a target row got two changes (two source rows matched it), Delta's rule.

    Duplicate deletes of one row are harmless and collapse to one.
    """
    if changes.num_rows == 0:
        return changes
    keys = changes.select([FILE_COLUMN, POS_COLUMN])
    counts = keys.group_by([FILE_COLUMN, POS_COLUMN]).aggregate([([], "count_all")])
    if counts.num_rows == changes.num_rows:
        return changes
    if ACTION in changes.column_names and pc.all(pc.equal(changes.column(ACTION), "D")).as_py():
        seen: set[tuple] = set()
        keep = []
        for key in zip(changes.column(FILE_COLUMN).to_pylist(), changes.column(POS_COLUMN).to_pylist()):
            keep.append(key not in seen)
            seen.add(key)
        return changes.filter(pa.array(keep))
    raise SqlError(
        f"{what}: a target row matched more than one source row, so it is ambiguous how to change it; "
        f"make the source rows unique per target row (e.g. aggregate or deduplicate the source)"
    )


def apply_changes(
    runtime: Runtime, tx: Transaction, snapshot: Snapshot, changes: pa.Table, scanned: list[int], text: str
) -> None:
    """Rewrite the files touched by ``changes`` (rows of __lh_file, __lh_pos, __lh_action, values)."""
    if changes.num_rows == 0:
        return
    uris = file_uris(snapshot, scanned)
    by_uri = dict(zip(uris, scanned))
    touched = sorted({by_uri[u] for u in pc.unique(changes.column(FILE_COLUMN)).to_pylist()})
    dv = dv_write.enabled(snapshot.properties)  # then keep the files: deletion vectors + new rows
    removed = [snapshot.file_at(i) for i in touched]
    writes = not dv or pc.any(pc.equal(changes.column(ACTION), "U")).as_py()  # DV deletes: no rows
    if dv:
        _mark_deleted(tx, snapshot, touched, file_uris(snapshot, touched), changes)
        if not writes and not tx.cdc.enabled:
            return
    else:
        tx.remove_files(removed, read=True)
    regs = Registrations()
    rel = scan_sql(runtime, snapshot, touched, regs, with_file=True, with_pos=True)
    ch = regs.add("changes", changes)
    cols = []
    for f in snapshot.schema:
        q = quote(f.name)
        if f.name in changes.column_names:
            cols.append(f"CASE WHEN c.{ACTION} = 'U' THEN c.{q} ELSE t.{q} END AS {q}")
        else:
            cols.append(f"t.{q} AS {q}")
    join, keep = ("JOIN", f"c.{ACTION} = 'U'") if dv else ("LEFT JOIN", f"c.{ACTION} IS DISTINCT FROM 'D'")
    sql = (
        f"SELECT {', '.join(cols)} FROM {rel} AS t {join} {ch} AS c "
        f"ON t.{FILE_COLUMN} = c.{FILE_COLUMN} AND t.{POS_COLUMN} = c.{POS_COLUMN} WHERE {keep}"
    )
    with registered(runtime, regs) as con:
        adds = tx.write_rows(reader(con, sql, None, text, regs=regs), rewrite=True) if writes else []
        if tx.cdc.enabled:  # change data feed: the changed rows before and after
            names = [quote(f.name) for f in snapshot.schema]
            rows = reader(con, change_rows_sql(names, cols, rel, ch, ACTION), None, text, regs=regs)
            tx.cdc.record(rows, removed=removed, added=adds)


def _mark_deleted(
    tx: Transaction, snapshot: Snapshot, touched: list[int], uris: list[str], changes: pa.Table
) -> None:
    """Mark every changed row of the ``touched`` files deleted in a deletion vector (updated rows are
    written again as new rows)."""
    tx.read_files(snapshot.files_at(touched))
    view = tx.view()
    where = {p: k for k, p in enumerate(decoded_paths(view.adds).to_pylist())}
    files = changes.column(FILE_COLUMN).combine_chunks()
    pos = changes.column(POS_COLUMN).combine_chunks()
    marks = []
    for i, uri in zip(touched, uris):
        mine = pos.filter(pc.equal(files, uri)).to_numpy(zero_copy_only=False)
        marks.append((where[snapshot.files_at([i])[0].path], mine))
    tx.delete_positions(marks)
