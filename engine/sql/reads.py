"""What a statement read of the table it writes, for its commit's conflict check (serializable).

A write whose query reads its own target (``INSERT INTO t SELECT ... FROM t``, MERGE, UPDATE or DELETE
with a join or subquery, ``CREATE OR REPLACE TABLE t AS ... FROM t``, a DataFrame over ``t`` written
back to ``t``) depends on the rows it read. Each scan of the target puts the files it read and the
predicate it pruned them with (every row when it had none) into the transaction's read set, so a
concurrent commit that removed those files or added rows that may match makes this commit conflict,
rather than land a result no serial order gives. Time travel (``VERSION AS OF``, a DataFrame made with
``version=``) reads immutable history and adds nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.storage import normalize_uri

from .bind import PIN

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table, Transaction

    from .bind import TableRef
    from .rewrite import Plan


def record_reads(tx: Transaction, plan: Plan) -> None:
    """Add every scan of ``tx``'s table in ``plan`` to ``tx``'s read set."""
    for ref, scan in zip(plan.refs, plan.scans, strict=True):
        if not _reads_current(ref, tx.table) or ref.snapshot.version < tx.read_version:
            continue
        if ref.snapshot is tx.snapshot:
            tx.mark_scanned(scan.file_indices, scan.predicate)
        else:  # the same table resolved separately (another name, a DataFrame's pin): all of it
            tx.mark_scanned([], None)


def read_snapshot(plan: Plan, table: Table) -> Snapshot | None:
    """The newest snapshot of ``table`` that ``plan`` reads as the table's current state, if any: a
    write of ``table`` that depends on those rows must commit against it, not against a newer one."""
    snaps = [ref.snapshot for ref in plan.refs if _reads_current(ref, table)]
    return max(snaps, key=lambda s: s.version) if snaps else None


def _reads_current(ref: TableRef, table: Table) -> bool:
    pin = ref.node.meta.get(PIN)
    if pin is not None and pin.as_of:
        return False
    return normalize_uri(ref.table.uri) == normalize_uri(table.uri)
