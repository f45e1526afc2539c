"""Constant folding of literal-only SQL expressions by DuckDB itself.

Pruning compares statistics with the value a query will compare rows with. For anything beyond a plain
literal (``CAST(2.5 AS INTEGER)`` is 3, ``DATE '2024-01-01' + INTERVAL 1 DAY``, ``-(2 * 3)``) the only
exact source of that value is DuckDB: it is evaluated there, in two time zones so that a value depending on
the session's zone is refused, and volatile functions are never folded.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlglot import exp

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
    """Evaluates literal-only expressions on one private DuckDB connection, opened on first use."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None

    def value(self, node: exp.Expression) -> pa.Scalar | None:
        """The value DuckDB computes for ``node``; None when it cannot be known exactly."""
        if not foldable(node):
            return None
        if self._con is None:
            self._con = duckdb.connect()
        sql = f"SELECT ({node.sql(dialect='duckdb')}) AS v"
        seen = []
        for zone in _ZONES:
            try:
                self._con.execute(f"SET TimeZone='{zone}'")
                seen.append(_normal(self._con.sql(sql).to_arrow_table().column(0)[0]))
            except (duckdb.Error, pa.ArrowException):
                return None  # the statement itself will report it
        a, b = seen
        if not (a.equals(b) or (_is_nan(a) and _is_nan(b))):
            return None
        return a

    def close(self) -> None:
        # Closed explicitly: a DuckDB connection garbage-collected in a forked child segfaults.
        if self._con is not None:
            self._con.close()
            self._con = None


def _normal(s: pa.Scalar) -> pa.Scalar:
    if pa.types.is_timestamp(s.type) and s.type.tz is not None:
        return s.cast(pa.timestamp(s.type.unit, "UTC"))
    return s


def _is_nan(s: pa.Scalar) -> bool:
    return pa.types.is_floating(s.type) and s.is_valid and s.as_py() != s.as_py()
