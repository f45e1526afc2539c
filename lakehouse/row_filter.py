"""Row filters for ``where``: Arrow compute when the SQL translates exactly, else DuckDB.

The residual filter of every scan (``Scan``, SQL-free readers: jobs, ML loaders) is applied here, once.
Loader workers are forked processes. A DuckDB connection opened there is safe only if it is private and
closed explicitly, and a fork taken while a parent's DuckDB thread held an allocator lock can still
deadlock a child that starts DuckDB. So the common filters (comparisons of integer, string, boolean and
date columns with literals, IN, BETWEEN, IS NULL, AND/OR/NOT) run on Arrow compute in the worker, and only
what does not translate with the same semantics as DuckDB goes to DuckDB. Floating-point columns are left
to DuckDB: it orders NaN above every number where Arrow's comparisons are false.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .errors import SqlError
from .lazy import pa, pc
from .predicate import parse_where, referenced_columns
from .schema import find_field

if TYPE_CHECKING:
    import duckdb

_CMP = {
    exp.EQ: "equal",
    exp.NEQ: "not_equal",
    exp.LT: "less",
    exp.LTE: "less_equal",
    exp.GT: "greater",
    exp.GTE: "greater_equal",
}


class _NoTranslation(Exception):
    pass


class RowFilter:
    """A ``where`` clause evaluated on Arrow tables that hold (at least) its columns.

    >>> RowFilter("x > 1", pa.schema([("x", pa.int64())])).apply(pa.table({"x": [1, 2]})).num_rows
    1
    """

    def __init__(self, where: str, schema: pa.Schema):
        self.where = where
        expr = parse_where(where)
        self.columns = sorted({_field(schema, c).name for c in referenced_columns(expr)})
        try:
            self._arrow: pc.Expression | None = _translate(expr, schema)
        except (_NoTranslation, pa.ArrowInvalid, OverflowError):
            self._arrow = None

    @property
    def uses_duckdb(self) -> bool:
        return self._arrow is None

    def apply(self, table: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
        """The rows where the predicate is TRUE (NULL counts as not matching).

        ``con``: a connection from ``lakehouse._duck.connection()`` to reuse over many tables (else a
        private one is opened and closed for this call when the filter needs DuckDB).
        """
        if table.num_rows == 0:
            return table
        if self._arrow is not None:
            return table.filter(self._arrow)
        if con is not None:
            from . import _duck

            return table.filter(_duck.match_mask(con, table.select(self.columns), self.where))
        return table.filter(_duckdb_mask(table.select(self.columns), self.where))


def _duckdb_mask(table: pa.Table, where: str) -> pa.Array:
    import duckdb

    con = duckdb.connect()  # private and closed explicitly: never left for a forked child's GC
    try:
        con.execute("SET TimeZone='UTC'; SET threads=1; SET preserve_insertion_order=true")
        con.execute("SET enable_external_access=false")  # a predicate over the rows: no file needed
        con.register("__rows", table)
        try:
            out = con.sql(f"SELECT coalesce(({where}), false) AS m FROM __rows").to_arrow_table()
        except duckdb.Error as e:
            raise SqlError(f"cannot evaluate predicate {where!r}: {str(e).strip()}") from None
        return out.column("m").combine_chunks()
    finally:
        con.close()


def _field(schema: pa.Schema, name: str) -> pa.Field:
    f = find_field(schema, name)
    if f is not None:
        return f
    raise SqlError(f"unknown column {name!r} in predicate", fragment=name)


def _kind(t: pa.DataType) -> str | None:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_date32(t):
        return "date"
    return None


def _translate(e: exp.Expression, schema: pa.Schema) -> pc.Expression:
    if isinstance(e, exp.Paren):
        return _translate(e.this, schema)
    if isinstance(e, exp.And):
        return _translate(e.left, schema) & _translate(e.right, schema)
    if isinstance(e, exp.Or):
        return _translate(e.left, schema) | _translate(e.right, schema)
    if isinstance(e, exp.Not):
        return ~_translate(e.this, schema)
    if isinstance(e, exp.Column):  # a boolean column used as a condition
        col, kind = _operand(e, schema, None)
        if kind != "bool":
            raise _NoTranslation
        return col
    if isinstance(e, exp.Is) and isinstance(e.expression, exp.Null):
        node = e.this
        while isinstance(node, exp.Paren):
            node = node.this
        if not isinstance(node, exp.Column) or node.table:
            raise _NoTranslation
        return pc.field(_field(schema, node.name).name).is_null()  # NaN is not NULL, as in DuckDB
    if type(e) in _CMP:
        return _compare(_CMP[type(e)], e.this, e.expression, schema)
    if isinstance(e, exp.Between):
        return _compare("greater_equal", e.this, e.args["low"], schema) & _compare(
            "less_equal", e.this, e.args["high"], schema
        )
    if isinstance(e, exp.In) and e.expressions and not e.args.get("query"):
        col, kind = _operand(e.this, schema, None)
        if kind is None:
            raise _NoTranslation
        values = [_literal(v, kind) for v in e.expressions]
        if any(v is None for v in values):  # x IN (1, NULL) is NULL, not FALSE, when no match
            raise _NoTranslation
        # Arrow's isin answers FALSE for a NULL input; SQL answers NULL (so NOT (x IN (...)) drops it).
        return pc.if_else(col.is_valid(), col.isin(values), pa.scalar(None, pa.bool_()))
    raise _NoTranslation


def _compare(op: str, left: exp.Expression, right: exp.Expression, schema: pa.Schema) -> pc.Expression:
    lcol, lkind = _operand(left, schema, None)
    rcol, rkind = _operand(right, schema, lkind)
    if lkind is None and rkind is not None:  # literal on the left: type it from the column
        lcol, lkind = _operand(left, schema, rkind)
    if lkind is None or rkind is None or lkind != rkind:
        raise _NoTranslation
    return getattr(pc, op)(lcol, rcol)


def _operand(node: exp.Expression, schema: pa.Schema, kind: str | None) -> tuple[pc.Expression, str | None]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        if node.table:
            raise _NoTranslation
        f = _field(schema, node.name)
        k = _kind(f.type)
        if k is None:
            raise _NoTranslation
        return pc.field(f.name), k
    if kind is None:
        return pc.scalar(None), None  # typed once the other side is known
    value = _literal(node, kind)
    if value is None:
        raise _NoTranslation  # comparisons with NULL: leave the three-valued details to DuckDB
    return pc.scalar(value), kind


def _literal(node: exp.Expression, kind: str) -> Any:
    negative = False
    if isinstance(node, exp.Neg):
        negative, node = True, node.this
    if isinstance(node, exp.Null):
        return None
    if kind == "bool":
        if isinstance(node, exp.Boolean) and not negative:
            return bool(node.this)
        raise _NoTranslation
    if not isinstance(node, exp.Literal):
        raise _NoTranslation
    text = node.this
    if kind == "int":
        if node.is_string or not text.lstrip("-").isdigit():
            raise _NoTranslation
        return -int(text) if negative else int(text)
    if negative or not node.is_string:
        raise _NoTranslation
    if kind == "str":
        return text
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _NoTranslation from None
