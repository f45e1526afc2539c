"""``table_changes('t', start[, end])``: a table's change data feed as a relation (``Table.changes``).

Rewritten before planning: each call is evaluated (its arguments are constants), its rows registered
as an Arrow table, and the call replaced by a reference to it. Spark and Databricks spell it the same,
and also take timestamps: the start is the first version committed at or after it, the end the last
version committed at or before it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakehouse.errors import LakehouseError, SqlError, TableNotFound, VersionNotFound
from lakehouse.timetravel import timestamp_ms

from .bind import table_name, unknown_table
from .execute import evaluate
from .registrations import Registrations

if TYPE_CHECKING:
    from lakehouse import Table

    from ..runtime import Runtime
    from .bind import SnapshotCache

FUNCTION = "table_changes"
_USAGE = "table_changes('table', start_version[, end_version])"


def rewrite_table_changes(
    runtime: Runtime, tree: exp.Expression, cache: SnapshotCache, params: list | None, regs: Registrations
) -> bool:
    """Replace every ``table_changes(...)`` in ``tree``; True if there was one."""
    found = False
    for node in list(tree.find_all(exp.Table)):
        call = node.this
        if not isinstance(call, exp.Anonymous) or call.name.lower() != FUNCTION:
            continue
        found = True
        args = list(call.expressions)
        if len(args) not in (2, 3):
            raise SqlError(f"{_USAGE} takes 2 or 3 arguments, got {len(args)}", fragment=call.sql())
        name = evaluate(runtime, args[0], params)
        if not isinstance(name, str) or not name.strip():
            raise SqlError(f"{_USAGE}: the table name must be a string, got {name!r}", fragment=call.sql())
        bounds = [evaluate(runtime, a, params) for a in args[1:]]
        for v in bounds:
            if isinstance(v, bool) or not isinstance(v, int | str | dt.datetime | dt.date):
                raise SqlError(
                    f"{_USAGE}: versions must be integers (or timestamps), got {v!r}", fragment=call.sql()
                )
        try:
            qualified = table_name(exp.to_table(name, dialect="duckdb"))
        except Exception as e:  # noqa: BLE001 - sqlglot raises several kinds for a bad name
            raise SqlError(f"{_USAGE}: {name!r} is not a table name ({e})", fragment=call.sql()) from None
        try:
            table, _ = cache.get(qualified)
        except TableNotFound:
            raise unknown_table(runtime, None, qualified) from None
        try:
            versions = [_version(table, b, i == 0) for i, b in enumerate(bounds)]
            rows = table.changes(*versions)
        except LakehouseError as e:
            raise SqlError(f"table_changes({name!r}, ...): {e}", fragment=call.sql()) from e
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(FUNCTION))
        ref = exp.Table(this=exp.to_identifier(regs.add("changes", rows), quoted=True), alias=alias)
        node.replace(ref)
    return found


def _version(table: Table, bound: Any, start: bool) -> int:
    """A version bound as given, or the version a timestamp bound names."""
    if isinstance(bound, int):
        return bound
    try:
        snap = table.snapshot(timestamp=bound)
    except VersionNotFound:
        if start:  # before the first commit: from the beginning
            return 0
        raise
    committed = int(snap.timestamp.timestamp() * 1000)
    return snap.version + 1 if start and committed < timestamp_ms(bound) else snap.version
