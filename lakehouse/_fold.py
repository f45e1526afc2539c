"""Constant folding of literal-only SQL expressions by DuckDB itself.

Pruning compares statistics with the value a query will compare rows with. For anything beyond a plain
literal (``CAST(2.5 AS INTEGER)`` is 3, ``DATE '2024-01-01' + INTERVAL 1 DAY``, ``-(2 * 3)``) the only
exact source of that value is DuckDB: it is evaluated there, in two time zones so that a value depending on
the session's zone is refused, and volatile functions are never folded.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from sqlglot import exp

from ._duck import ProcessConnection
from .lazy import duckdb, pa

# Name fragments of functions whose value changes between evaluations (time, randomness, sequences).
_VOLATILE = ("rand", "uuid", "now", "current", "today", "nextval", "currval", "setval", "setseed", "local")
_VOLATILE += ("transaction", "get_", "getvariable", "query", "version", "time")
_ZONES = ("UTC", "Asia/Kathmandu")  # +05:45: a zone-dependent value differs between the two


def foldable(node: exp.Expression) -> bool:
    """True when ``node`` reads no column, no query and no volatile function."""
    if node.find(exp.Column, exp.Query, exp.Subquery, exp.Placeholder, exp.Parameter, exp.Star):
        return False
    if node.find(exp.AggFunc, exp.Window, exp.Lambda, exp.Identifier):
        return False
    for f in node.find_all(exp.Func):
        if isinstance(f, exp.Cast | exp.Neg | exp.Binary):
            continue
        name = (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()
        if any(v in name for v in _VOLATILE):
            return False
    return True


class Folder:
    """Evaluates literal-only expressions with DuckDB; results are memoised per process.

    Folding is pure (volatile and zone-dependent expressions are refused), so a value computed once is
    valid for every later query: TPC-DS-style queries that repeat ``CAST('2000-08-23' AS DATE)`` pay
    for DuckDB once, not once per query (a fresh connection costs ~20 ms).
    """

    def value(self, node: exp.Expression) -> pa.Scalar | None:
        """The value DuckDB computes for ``node``; None when it cannot be known exactly."""
        if not foldable(node):
            return None
        sql = f"SELECT ({node.sql(dialect='duckdb')}) AS v"
        with _LOCK:
            if sql in _MEMO:
                _MEMO.move_to_end(sql)
                return _MEMO[sql]
            value = _evaluate(sql)
            _MEMO[sql] = value
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
        return value

    def close(self) -> None:
        """Nothing to release: the connection is shared by the process (kept for callers)."""


_MEMO: OrderedDict[str, pa.Scalar | None] = OrderedDict()
_MEMO_SIZE = 4096
_LOCK = threading.Lock()


def _constants_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_external_access=false")  # constants only: no file is ever needed
    return con


_CON = ProcessConnection(_constants_db)


def _evaluate(sql: str) -> pa.Scalar | None:
    con = _CON.get()
    seen = []
    for zone in _ZONES:
        try:
            con.execute(f"SET TimeZone='{zone}'")
            seen.append(_normal(con.sql(sql).to_arrow_table().column(0)[0]))
        except (duckdb.Error, pa.ArrowException):
            return None  # the statement itself will report it
    a, b = seen
    if not (a.equals(b) or (_is_nan(a) and _is_nan(b))):
        return None
    return a


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()  # another thread of the parent may have held it


os.register_at_fork(after_in_child=_after_fork_in_child)


def _normal(s: pa.Scalar) -> pa.Scalar:
    if pa.types.is_timestamp(s.type) and s.type.tz is not None:
        return s.cast(pa.timestamp(s.type.unit, "UTC"))
    return s


def _is_nan(s: pa.Scalar) -> bool:
    return pa.types.is_floating(s.type) and s.is_valid and s.as_py() != s.as_py()
