"""A SELECT written in SQL as a DataFrame source, its catalog tables pinned when the frame is made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from lakehouse.errors import SqlError

from ._nodes import literal
from ._plan import SqlSource, new_alias

if TYPE_CHECKING:
    from ..runtime import Runtime


def sql_source(runtime: Runtime, text: str, params: Any = None, dialect: str = "duckdb") -> SqlSource:
    from ..sql import run_query
    from ..sql.bind import PIN, Pin, SnapshotCache, bind
    from ..sql.parse import split

    statements = split(text, dialect, params)
    if len(statements) != 1:
        raise SqlError(f"a DataFrame is made from one SELECT statement, got {len(statements)}")
    st = statements[0]
    tree = st.tree
    if not isinstance(tree, exp.Query):
        raise SqlError(f"a DataFrame is made from a SELECT statement, got: {text[:80]!r}")
    tree = tree.copy()
    values = st.params or []
    for p in list(tree.find_all(exp.Placeholder)):
        n = int(str(p.this)) if p.this is not None else 0
        if not 1 <= n <= len(values):
            raise SqlError(f"parameter ${n} has no value: {len(values)} parameter(s) were given")
        p.replace(literal(values[n - 1]))
    with runtime.statement_reads():  # all its tables at one catalog state
        refs = bind(runtime, tree, SnapshotCache(runtime), None)
    for ref in refs:
        as_of = ref.node.args.get("version") is not None or ref.node.args.get("when") is not None
        ref.node.set("version", None)
        ref.node.set("when", None)
        ref.node.meta[PIN] = Pin(ref.name, ref.table, ref.snapshot, as_of=as_of)
    alias = new_alias("sql")
    probe = (
        sqlglot.select("*")
        .from_(exp.Subquery(this=tree.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias))))
        .limit(0)
    )
    names = tuple(run_query(runtime, probe).to_arrow().column_names)
    if len({n.lower() for n in names}) != len(names):
        raise SqlError(f"the query has duplicate column names ({', '.join(names)}): alias them apart")
    return SqlSource(tree, names, alias)
