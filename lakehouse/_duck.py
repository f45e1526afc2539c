"""Row-level evaluation of SQL expressions on Arrow data with a private, short-lived DuckDB connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from .errors import SqlError
from .lazy import duckdb, pa

_ROWID = "__lh_rowid"


@contextlib.contextmanager
def connection(readable: Sequence[str] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private connection that can read no file but the local ``readable`` paths (data files)."""
    # Closed explicitly: a DuckDB connection garbage-collected in a forked child segfaults.
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        if readable:
            paths = ", ".join("'" + p.replace("'", "''") + "'" for p in readable)
            con.execute(f"SET allowed_paths=[{paths}]")
        con.execute("SET enable_external_access=false")  # it only ever evaluates expressions on Arrow data
        yield con
    finally:
        con.close()


def _run(con: duckdb.DuckDBPyConnection, select: str, data: pa.Table) -> pa.Table:
    numbered = data.append_column(_ROWID, pa.array(range(data.num_rows), pa.int64()))
    con.register("__data", numbered)
    try:
        return con.sql(f"{select} FROM __data ORDER BY {_ROWID}").to_arrow_table()
    except duckdb.Error as e:
        raise SqlError(str(e).strip()) from None
    finally:
        con.unregister("__data")


def match_mask(con: duckdb.DuckDBPyConnection, data: pa.Table, where: str) -> pa.Array:
    """Boolean array: True where ``where`` evaluates to TRUE for the row (NULL counts as not matching)."""
    out = _run(con, f"SELECT coalesce(({where}), false) AS m", data)
    return out.column("m").combine_chunks()


def select_exprs(con: duckdb.DuckDBPyConnection, data: pa.Table, exprs: list[str]) -> pa.Table:
    """``SELECT exprs`` over the rows of ``data``, in input order."""
    return _run(con, f"SELECT {', '.join(exprs)}", data)


def sql_type(t: pa.DataType) -> str | None:
    """The DuckDB type name for an Arrow type (None for nested types)."""
    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.string(): "VARCHAR",
        pa.binary(): "BLOB",
        pa.date32(): "DATE",
    }
    if t in simple:
        return simple[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz is not None else "TIMESTAMP"
    return None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
