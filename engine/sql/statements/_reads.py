"""What a statement read of the table it writes, for its commit's conflict check (serializable).

A statement whose query reads its own target (``INSERT INTO t SELECT ... FROM t``, MERGE, UPDATE or
DELETE with a join or subquery) depends on the rows it read. Each scan of the target puts the files it
read and the predicate it pruned them with (every row when it had none) into the transaction's read
set, so a concurrent commit that removed those files or added rows that may match makes this commit
conflict, rather than land a result no serial order gives. Scans of an older version of the table
(time travel) read immutable data and add nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.storage import normalize_uri

if TYPE_CHECKING:
    from lakehouse import Transaction

    from ..rewrite import Plan


def record_reads(tx: Transaction, plan: Plan) -> None:
    """Add every scan of ``tx``'s table in ``plan`` to ``tx``'s read set."""
    target = normalize_uri(tx.table.uri)
    for ref, scan in zip(plan.refs, plan.scans, strict=True):
        if normalize_uri(ref.table.uri) != target or ref.snapshot.version < tx.read_version:
            continue
        if ref.snapshot is tx.snapshot:
            tx.mark_scanned(scan.file_indices, scan.predicate)
        else:  # the same table under another name, resolved separately: assume it read everything
            tx.mark_scanned([], None)
