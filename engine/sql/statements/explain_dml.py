"""EXPLAIN of a write (UPDATE / DELETE / MERGE / INSERT): the statement runs as a dry run
(``lakehouse.transaction.dry_run``) up to its commit, which is replaced by a report of what it read,
skipped and would have rewritten; the files it wrote are deleted again and no version is made.
"""

from __future__ import annotations

import pyarrow as pa

from lakehouse.dry_run import DryRun, dry_run
from lakehouse.errors import SqlError
from lakehouse.log.actions import Add, Metadata, Remove
from lakehouse.transaction import Transaction

from ...result import Result
from ..dispatch import Context, find_handler, statement
from ..parse import Statement

_ROW_METRICS = (
    "numDeletedRows", "numUpdatedRows", "numInsertedRows", "numOutputRows", "numCopiedRows",
    "numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted", "numTargetRowsCopied",
)  # fmt: skip


@statement(pattern=r"EXPLAIN(?:\s+ANALYZE)?\s+(?P<query>(?:UPDATE|DELETE|MERGE|INSERT)\b.+)")
def explain_write(ctx: Context) -> Result:
    text = ctx.match.group("query")
    inner = Statement(text, ctx.dialect, ctx.params, ctx.statement.line, ctx.statement.column)
    handler, match = find_handler(inner)
    kind = text.split(None, 1)[0].upper()
    try:
        with dry_run():
            handler(Context(ctx.runtime, inner, match))
    except DryRun as run:
        lines = report(f"{kind} {_target(inner)}", run.transaction)
    else:
        lines = [f"{kind}: would commit nothing (no row matches, no file changes)"]
    table = pa.table({"explain": pa.array(lines, pa.string())})
    return Result(table, statement=ctx.text, message="\n".join(lines))


def report(kind: str, tx: Transaction) -> list[str]:
    """What ``tx`` read, skipped and would have written, as EXPLAIN lines."""
    snap = tx.snapshot
    total = snap.num_files
    read = tx.files_read()
    actions = tx.actions()
    removes = [a for a in actions if isinstance(a, Remove)]
    adds = [a for a in actions if isinstance(a, Add)]
    lines = [
        f"{kind} @ version {snap.version} (dry run: nothing was committed)",
        f"  files: total {total}, read {read}, skipped {total - read}",
        f"  would remove {len(removes)} file(s) ({sum(a.size or 0 for a in removes):,} bytes), "
        f"add {len(adds)} file(s) ({sum(a.size for a in adds):,} bytes)",
    ]
    rows = [f"{k}={tx.metrics[k]}" for k in _ROW_METRICS if k in tx.metrics]
    if rows:
        lines.append("  rows: " + ", ".join(rows))
    if any(isinstance(a, Metadata) for a in actions):
        lines.append("  would change the table's metadata")
    preds = tx.read_predicates
    if preds:
        lines.append("  read predicate: " + " OR ".join(preds))
    return lines


def _target(st: Statement) -> str:
    from sqlglot import exp

    from ._common import name_of

    node = st.tree.this
    try:
        return name_of(node.this if isinstance(node, exp.Alias) else node)
    except (SqlError, AttributeError):
        return ""
