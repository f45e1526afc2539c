"""Statement dispatch: a table of handlers, matched by leading keywords or by sqlglot tree type.

Add a statement by registering a handler in a module listed in ``HANDLER_MODULES``::

    from engine.sql.dispatch import Context, statement

    @statement(pattern=r"OPTIMIZE\\s+(?P<name>\\S+)")      # matched on the text, before parsing
    def optimize(ctx: Context) -> Result: ...

    @statement(exp.Delete)                                 # matched on the parsed tree's type
    def delete(ctx: Context) -> Result: ...

Patterns are tried first (in registration order, case-insensitive, anchored at the statement start),
then tree types (most specific class first). Anything else DuckDB runs as is (``SET``, ``PRAGMA``, ...),
except in a sandboxed session, where ``sandbox`` refuses it and every construct reaching outside the
warehouse before any handler runs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakehouse.errors import SqlError

from . import namespace, sandbox
from .bind import SnapshotCache
from .direct import run_direct
from .errors import absolute, unknown_to_lakehouse
from .parse import Statement, split
from .plan_cache import fast_path

if TYPE_CHECKING:
    from ..result import Result
    from ..runtime import HasRuntime, Runtime

HANDLER_MODULES = (
    "engine.sql.statements.explain_dml",  # EXPLAIN UPDATE/DELETE/MERGE: before query's EXPLAIN <query>
    "engine.sql.statements.query",
    "engine.sql.statements.info",
    "engine.sql.statements.meta",  # DESCRIBE DETAIL / EXTENDED, SHOW TBLPROPERTIES / CREATE TABLE ...
    "engine.sql.statements.comments",  # COMMENT ON TABLE / COLUMN
    "engine.sql.statements.ddl",
    "engine.sql.statements.insert",
    "engine.sql.statements.dml",
    "engine.sql.statements.merge",
    "engine.sql.statements.relations",
    "engine.sql.statements.views",
    "engine.sql.statements.maintenance",  # OPTIMIZE / VACUUM / ... (optional module)
)

Handler = Callable[["Context"], "Result"]
_PATTERNS: list[tuple[re.Pattern, Handler]] = []
_TYPES: list[tuple[type[exp.Expression], Handler]] = []
_loaded = False


@dataclass
class Context:
    """What a handler gets: the runtime, the statement, and a per-statement snapshot cache."""

    runtime: Runtime
    statement: Statement
    match: re.Match | None = None
    cache: SnapshotCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = SnapshotCache(self.runtime)

    def fresh_cache(self) -> None:
        """A (re-)run of the statement (after a conflict) resolves its tables again, at a new catalog
        state."""
        self.runtime.refresh_reads()
        self.cache = type(self.cache)(self.runtime)

    @property
    def text(self) -> str:
        return self.statement.text

    @property
    def tree(self) -> exp.Expression:
        return self.statement.tree

    @property
    def params(self) -> list[Any] | None:
        return self.statement.params

    @property
    def dialect(self) -> str:
        return self.statement.dialect


def statement(*types: type[exp.Expression], pattern: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for tree types and/or a leading-text regular expression."""

    def wrap(fn: Handler) -> Handler:
        if pattern is not None:
            _PATTERNS.append((re.compile(r"\s*" + pattern + r"\s*;?\s*\Z", re.I | re.S), fn))
        for t in types:
            _TYPES.append((t, fn))
        return fn

    return wrap


def _load_handlers() -> None:
    global _loaded
    if _loaded:
        return
    for module in HANDLER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
    _loaded = True


def find_handler(st: Statement) -> tuple[Handler, re.Match | None]:
    _load_handlers()
    for pattern, fn in _PATTERNS:
        m = pattern.match(st.text)
        if m:
            return fn, m
    tree = st.tree
    for cls in type(tree).__mro__:
        for t, fn in _TYPES:
            if t is cls:
                return fn, None
    return passthrough, None


def run_statement(db: Runtime | HasRuntime, st: Statement) -> Result:
    """Run one parsed statement on ``db`` (a Session or its Runtime)."""
    from ..runtime import runtime_of

    runtime = runtime_of(db)
    with runtime.statement_reads():  # every table it reads: at one catalog state
        return _run_statement(runtime, st)


def _run_statement(runtime: Runtime, st: Statement) -> Result:
    try:
        if runtime.sandbox:
            sandbox.check_leading(st.text)
        from ..transaction import control

        done = control(runtime, st.text)  # BEGIN / COMMIT / ROLLBACK
        if done is not None:
            return done
        txn = runtime.transaction
        fast = fast_path(runtime, st) if txn is None else None  # planned before, nothing changed
        if fast is not None:
            return _audited(runtime, st, fast)
        if txn is None:  # a plain SELECT over catalog tables: DuckDB runs it as written (engine.sql.direct)
            done = _audited(runtime, st, lambda: run_direct(runtime, st))
            if done is not None:
                return done
        handler, match = find_handler(st)
        if runtime.sandbox:
            _check_sandboxed(st, handler, match)

        def run() -> Result:
            with namespace.using(runtime.namespace):
                return _audited(runtime, st, lambda: handler(Context(runtime, st, match)))

        if txn is None:
            return run()
        txn.check(st.text)
        try:
            return run()
        except BaseException as e:
            txn.failed(e)  # the transaction is aborted: ROLLBACK ends it
            raise
    except SqlError as e:
        raise absolute(unknown_to_lakehouse(runtime, e), st.line, st.column) from None


def _check_sandboxed(st: Statement, handler: Handler, match: re.Match | None) -> None:
    if handler is passthrough:
        words = " ".join(st.text.split()[:2]).upper()
        raise sandbox.refused(f"statement {words!r}", "DuckDB would run it as is")
    if match is not None:  # matched on its text: check the expressions it carries by their tokens
        sandbox.check_text(st.text, st.dialect)
    else:
        sandbox.check_tree(st.tree)


def _audited(runtime: Runtime, st: Statement, run: Callable[[], Result]) -> Result:
    """Run with the commit audit context: the session's user and the statement's kind."""
    from lakehouse.audit import audit

    with audit(user=runtime.user, statement=statement_kind(st.text)):
        return run()


def statement_kind(text: str) -> str:
    """The statement's leading keywords, for the audit trail (``INSERT``, ``CREATE TABLE``, ``MERGE``).

    >>> statement_kind("create or replace table t AS SELECT 1")
    'CREATE OR REPLACE TABLE'
    """
    words = re.findall(r"[A-Za-z_]+", text[:200])
    kind = []
    for w in words:
        up = w.upper()
        if up not in _KIND_WORDS:
            break
        if up not in _FILLERS:
            kind.append(up)
    return " ".join(kind) or (words[0].upper() if words else "")


_KIND_WORDS = {
    "INSERT", "INTO", "OVERWRITE", "UPDATE", "DELETE", "FROM", "MERGE", "CREATE", "OR", "REPLACE", "TABLE",
    "SCHEMA", "IF", "NOT", "EXISTS", "DROP", "ALTER", "OPTIMIZE", "VACUUM", "RESTORE", "TRUNCATE", "CONVERT",
    "TO", "DELTA", "SELECT", "WITH", "EXPLAIN", "ANALYZE", "DESCRIBE", "HISTORY", "SHOW", "TABLES", "REORG",
    "DETAIL", "EXTENDED", "TBLPROPERTIES", "PARTITIONS", "COLUMNS", "COMMENT", "ON", "COLUMN", "UNSET",
}  # fmt: skip
_FILLERS = {"INTO", "FROM", "IF", "NOT", "EXISTS", "TO"}


def run_script(runtime: Runtime, text: str, *, params: Any = None, dialect: str = "duckdb") -> Result:
    """Run every statement of ``text`` in order; the last one's Result (non-interactive: stop at errors)."""
    statements = split(text, dialect, params)
    if not statements:
        raise SqlError("no SQL statement to run (the text is empty or only comments)")
    result = None
    for st in statements:
        result = run_statement(runtime, st)
    return result


def run_one(runtime: Runtime, text: str, *, params: Any = None, dialect: str = "duckdb") -> Result:
    """Run exactly one statement: stacked statements are refused, so that a string built around user
    input cannot smuggle a second one (``run_script`` runs several)."""
    statements = split(text, dialect, params)
    if not statements:
        raise SqlError("no SQL statement to run (the text is empty or only comments)")
    if len(statements) > 1:
        second = " ".join(statements[1].text.split())[:60]
        raise SqlError(
            f"sql() runs one statement, got {len(statements)} (the second starts {second!r}): use "
            f"sql_script() to run several, and ? parameters to pass values",
            line=statements[1].line,
            column=statements[1].column,
        )
    return run_statement(runtime, statements[0])


def passthrough(ctx: Context) -> Result:
    """Statements we do not interpret (SET, PRAGMA, ...): DuckDB runs them."""
    from ..result import Result
    from .execute import param_dict, query

    tree = ctx.tree
    _refuse_catalog_writes(ctx.text)
    if isinstance(tree, exp.Command) or ctx.dialect == "duckdb":
        sql = ctx.text
    else:
        sql = tree.sql(dialect="duckdb")
    table = query(ctx.runtime, sql, param_dict(ctx.params, tree), text=ctx.text)
    return Result(table, statement=ctx.text)


# Statements that would create or change a table in DuckDB's own catalog if they reached it unbound.
_CATALOG_WRITE = re.compile(
    r"\s*(?:CREATE(?:\s+(?:OR\s+REPLACE|TEMP|TEMPORARY|PERSISTENT|RECURSIVE|MATERIALIZED|GLOBAL|LOCAL|"
    r"UNLOGGED|EXTERNAL|TRANSIENT))*\s+(?:TABLE|VIEW)|"
    r"INSERT|UPDATE|DELETE|MERGE|ALTER|DROP\s+(?:TABLE|VIEW)|TRUNCATE|COPY|USE)\b",
    re.I,
)


def _refuse_catalog_writes(text: str) -> None:
    m = _CATALOG_WRITE.match(text)
    if m is not None:
        words = " ".join(m.group(0).split()).upper()
        raise SqlError(
            f"cannot run this {words} statement: its syntax is not understood as a lakehouse statement, "
            f"and DuckDB would run it on its own in-memory catalog instead of the lakehouse tables; "
            f"check the syntax against docs/sql-names.md"
        )
