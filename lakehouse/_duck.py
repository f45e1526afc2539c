"""Row-level evaluation of SQL expressions on Arrow data with a private DuckDB connection.

Opening a DuckDB connection costs tens of milliseconds (more than evaluating an UPDATE's expressions
on one file), so ``connection()`` lends one from a small per-process pool: a DML statement inside a
transaction then costs what its rows cost. A lent connection is used by one caller (one thread) at a
time and returned clean (its one registration, ``__data``, is dropped by ``_run``); one that saw an
error is closed instead. A connection that may read files (``readable``) is never pooled: it is made
for its caller and closed. After a fork the child starts an empty pool and never touches (nor lets the
garbage collector close) the parent's connections: a DuckDB connection collected in a forked child
segfaults.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence

from .errors import SqlError
from .lazy import duckdb, pa

_ROWID = "__lh_rowid"


_POOL_SIZE = 4  # idle connections kept per process
_pool: tuple[int, list[duckdb.DuckDBPyConnection]] = (os.getpid(), [])
_abandoned: list[list[duckdb.DuckDBPyConnection]] = []  # a parent's pools, kept alive in a forked child
_pool_lock = threading.Lock()


def _idle() -> list[duckdb.DuckDBPyConnection]:
    """This process's idle connections (a fresh list in a forked child)."""
    global _pool
    if _pool[0] != os.getpid():
        _abandoned.append(_pool[1])
        _pool = (os.getpid(), [])
    return _pool[1]


def _new(readable: Sequence[str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        if readable:
            paths = ", ".join("'" + p.replace("'", "''") + "'" for p in readable)
            con.execute(f"SET allowed_paths=[{paths}]")
        con.execute("SET enable_external_access=false")  # no file but the ``readable`` ones
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def connection(readable: Sequence[str] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection for evaluating expressions on Arrow data (TimeZone UTC, no external access),
    from the pool (see the module docs); with ``readable``, a private one that can read those local
    paths (data files) and no other file."""
    con = None
    if not readable:
        with _pool_lock:
            idle = _idle()
            con = idle.pop() if idle else None
    if con is None:
        con = _new(readable)
    pid = os.getpid()
    clean = False
    try:
        yield con
        clean = True
    finally:
        keep = False
        if not readable:
            with _pool_lock:
                idle = _idle()
                keep = clean and pid == os.getpid() and len(idle) < _POOL_SIZE
                if keep:
                    idle.append(con)
        if not keep and pid == os.getpid():
            con.close()  # explicitly, never left to the garbage collector


class ProcessConnection:
    """One DuckDB connection per process, made by ``make`` on first use. A forked child makes its own
    and never touches (nor lets the garbage collector close) the parent's."""

    def __init__(self, make: Callable[[], duckdb.DuckDBPyConnection]):
        self._make = make
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)

    def get(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                self._con = self._make()
            return self._con

    def _forked(self) -> None:
        self._lock = threading.Lock()  # another thread of the parent may have held it
        if self._con is not None:
            _abandoned.append([self._con])
            self._con = None


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
