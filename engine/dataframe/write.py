"""``DataFrame.write_table``: stream a frame's rows into a catalog table in one commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lakehouse import Transaction
from lakehouse.errors import TableAlreadyExists
from lakehouse.schema import normalize_schema

from ..sql import plan_query, read_snapshot, record_reads
from ._run import stream_planned, tree_of

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ._plan import Plan

MODES = ("error", "append", "overwrite")


def write_table(
    runtime: Runtime,
    plan: Plan,
    name: str,
    mode: str = "error",
    *,
    partition_by: Sequence[str] = (),
    schema_mode: str = "strict",
) -> int:
    """Create, append to or overwrite table ``name`` with the rows of a frame's ``plan``; the new version.

    The frame keeps reading its pinned snapshots, so overwriting a table the frame reads is safe; when
    it reads the table it writes (not by time travel), the write commits against the snapshot the frame
    pinned and fails with CommitConflict if a conflicting change landed since (make the frame again).
    The commit records the session's user (``lakehouse.audit``).
    """
    from lakehouse.audit import audit

    with audit(user=runtime.user, statement="DATAFRAME WRITE"):
        return _write_table(runtime, plan, name, mode, partition_by=partition_by, schema_mode=schema_mode)


def _write_table(
    runtime: Runtime, plan: Plan, name: str, mode: str, *, partition_by: Sequence[str], schema_mode: str
) -> int:
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: use 'error', 'append' or 'overwrite'")
    name = name if "." in name else f"main.{name}"
    catalog = runtime.catalog
    exists = catalog.table_exists(name)
    if exists and mode == "error":
        raise TableAlreadyExists(
            f"table {name!r} already exists: pass mode='append' or mode='overwrite', or drop it first"
        )
    tree = tree_of(plan)
    planned = plan_query(runtime, tree)
    rows = stream_planned(runtime, planned, tree.sql(dialect="duckdb"))
    try:
        if not exists:
            write = lambda tx: tx.append(rows, schema_mode=schema_mode)  # noqa: E731
            schema = normalize_schema(rows.schema)
            return catalog.create_table_and_commit(name, schema, write, tuple(partition_by)).version
        table = catalog.load_table(name)
        # A frame reading the table it writes read the table as pinned when the frame was made:
        # commit against that snapshot, with what it read, so a change since then conflicts.
        with Transaction(table, read_snapshot(planned, table) or table.snapshot()) as tx:
            record_reads(tx, planned)
            if mode == "overwrite":
                tx.overwrite(rows, schema_mode=schema_mode)
            else:
                tx.append(rows, schema_mode=schema_mode)
        return tx.version
    except BaseException:
        rows.close()
        raise
