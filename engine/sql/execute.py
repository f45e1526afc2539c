"""Execute: run rewritten SQL on the runtime's DuckDB connection, with the statement's Arrow tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..phases import phase
from .errors import from_duckdb
from .read_errors import read_failure

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .registrations import Registrations


def param_dict(params: list | None, *nodes: exp.Expression | None) -> dict[str, Any] | None:
    """The ``$n`` parameters used in ``nodes`` as DuckDB's {"n": value} (it rejects unused ones)."""
    if not params:
        return None
    used = {}
    for node in nodes:
        if node is None:
            continue
        for p in node.find_all(exp.Placeholder):
            if p.this is None:
                continue
            n = int(str(p.this))
            if not 1 <= n <= len(params):
                from lakehouse.errors import SqlError

                raise SqlError(f"parameter ${n} has no value: {len(params)} parameter(s) were given")
            used[str(n)] = params[n - 1]
    return used or None


def evaluate(runtime: Runtime, node: exp.Expression, params: list | None = None) -> Any:
    """A constant expression's value, computed by DuckDB (time travel and RESTORE arguments)."""
    return runtime.evaluate(node.sql(dialect="duckdb"), param_dict(params, node))


@contextlib.contextmanager
def registered(runtime: Runtime, regs: Registrations | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Hold the runtime's connection with the statement's Arrow tables registered."""
    with runtime.hold() as con:
        names = []
        try:
            for name, table in regs.tables.items() if regs else ():
                con.register(name, table)
                names.append(name)
            yield con
        finally:
            for name in names:
                with contextlib.suppress(duckdb.Error):
                    con.unregister(name)


def query(
    runtime: Runtime,
    sql: str,
    params: dict | None = None,
    *,
    text: str = "",
    regs: Registrations | None = None,
) -> pa.Table:
    """Rows of ``sql`` as Arrow (an empty table for statements without rows)."""
    with phase("execute"), registered(runtime, regs) as con:
        return run(con, sql, params, text, regs=regs)


def run(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict | None,
    text: str,
    *,
    regs: Registrations | None = None,
) -> pa.Table:
    try:
        rel = con.sql(sql, params=params) if params else con.sql(sql)
        return rel.to_arrow_table() if rel is not None else pa.table({})
    except duckdb.InterruptException:
        raise KeyboardInterrupt("query cancelled") from None
    except duckdb.Error as e:
        raise _error(e, text or sql, regs) from None


def reader(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict | None,
    text: str,
    *,
    regs: Registrations | None = None,
) -> pa.RecordBatchReader:
    """Stream the rows of ``sql`` (consume it while the connection is held)."""
    try:
        rel = con.sql(sql, params=params) if params else con.sql(sql)
        return _guard(rel.to_arrow_reader(), text, regs)
    except duckdb.InterruptException:
        raise KeyboardInterrupt("query cancelled") from None
    except duckdb.Error as e:
        raise _error(e, text or sql, regs) from None


def _guard(r: pa.RecordBatchReader, text: str, regs: Registrations | None) -> pa.RecordBatchReader:
    def batches():
        try:
            yield from r
        except duckdb.InterruptException:
            raise KeyboardInterrupt("query cancelled") from None
        except duckdb.Error as e:
            raise _error(e, text, regs) from None

    return pa.RecordBatchReader.from_batches(r.schema, batches())


def _error(e: duckdb.Error, text: str, regs: Registrations | None) -> BaseException:
    """A damaged or missing data file named with its table, else DuckDB's message as a SqlError."""
    return read_failure(e, regs) or from_duckdb(e, text)


def check_params(params: list | None, tree: exp.Expression) -> None:
    """Every parameter given must be used, as DuckDB requires."""
    if not params:
        return
    used = {int(str(p.this)) for p in tree.find_all(exp.Placeholder) if p.this is not None}
    unused = [n for n in range(1, len(params) + 1) if n not in used]
    if unused:
        from lakehouse.errors import SqlError

        raise SqlError(
            f"{len(params)} parameter(s) given but the statement uses {len(used)}: "
            f"no ? or ${unused[0]} for parameter {unused[0]}"
        )
