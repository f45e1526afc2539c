"""The sandbox: what SQL a sandboxed session (``connect(..., sandbox=True)``) refuses, before execution.

A sandboxed session reaches its warehouse's tables and nothing else. This module is the first wall: it
walks each statement (sqlglot tree, or tokens for the statements matched on their text) and refuses,
naming the construct, whatever touches files, other databases, settings or extensions. The second wall
is DuckDB itself, locked down by ``Runtime`` (``enable_external_access=false``, ``allowed_directories``,
``lock_configuration``). docs/security.md describes both.

    check_leading(text)          # COPY / ATTACH / SET / PRAGMA / INSTALL / ... statements
    check_tree(tree)             # table functions, file names used as tables, file/setting functions
    check_text(text)             # the same for a fragment by its tokens (expressions inside patterns)
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from lakehouse.errors import SqlError

# Statements refused by their first words (DuckDB statements about files, databases, settings).
_LEADING = re.compile(
    r"\s*(?:(?P<kw>COPY|ATTACH|DETACH|INSTALL|LOAD|SET|RESET|PRAGMA|CALL|EXPORT|IMPORT|CHECKPOINT|"
    r"FORCE|UPDATE\s+EXTENSIONS)\b|CREATE\s+(?:OR\s+REPLACE\s+)?(?:PERSISTENT\s+|TEMP\s+|TEMPORARY\s+)?"
    r"(?P<obj>SECRET|MACRO|FUNCTION|SEQUENCE|TYPE|INDEX)\b|DROP\s+(?P<drop>SECRET|MACRO|FUNCTION)\b)",
    re.I,
)
# Functions that read files or reveal or change the engine's configuration.
_DENIED_PREFIXES = (
    "read_", "parquet_", "duckdb_", "pragma_", "sniff_", "iceberg_", "delta_", "sqlite_", "postgres_",
    "mysql_", "glob", "load_", "json_execute", "arrow_scan", "pandas_scan", "python_",
)  # fmt: skip
_DENIED = {"getenv", "current_setting", "query", "query_table", "which_secret", "csv_scan", "parquet_scan"}
# Table functions (FROM f(...)) that only compute rows.
_TABLE_FUNCTIONS = {"range", "generate_series", "unnest", "table_changes", "explode", "generate_subscripts"}
_TREE_DENIED = (exp.Copy, exp.Attach, exp.Detach, exp.Install, exp.Pragma, exp.Set, exp.Command)
_FILE_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".ndjson", ".tsv", ".gz", ".zst", ".arrow", ".txt")


def refused(construct: str, why: str = "it reaches outside the warehouse") -> SqlError:
    """SqlError for a construct a sandboxed session does not run."""
    return SqlError(
        f"{construct} is not allowed: this session is sandboxed ({why}); only the warehouse's tables "
        f"can be queried. Open the session without sandbox=True to run it (trusted SQL only)"
    )


def check_leading(text: str) -> None:
    """Refuse a statement whose first words make it a file, database, setting or extension statement."""
    m = _LEADING.match(text)
    if m is None:
        return
    words = " ".join(m.group(0).split()).upper()
    if m.group("obj") or m.group("drop"):
        raise refused(words, "DuckDB session objects are not lakehouse tables")
    raise refused(f"{words} statement", "it touches files, databases, settings or extensions")


def function_name(node: exp.Func) -> str:
    """The SQL name of a function node, lower case (``read_csv``, ``glob``)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def denied_function(name: str) -> bool:
    name = name.lower()
    return name in _DENIED or name.startswith(_DENIED_PREFIXES)


def check_tree(tree: exp.Expression) -> None:
    """Refuse a statement tree that reads files, other databases or settings (walks every node)."""
    for node in tree.walk():
        if isinstance(node, _TREE_DENIED):
            head = node.sql(dialect="duckdb").split("(")[0].split()
            raise refused(f"{' '.join(head[:2]).upper() or type(node).__name__} statement")
        if isinstance(node, exp.Func) and denied_function(function_name(node)):
            raise refused(f"function {function_name(node)}()", "it reads files or the engine's settings")
        if isinstance(node, exp.Table | exp.Lateral) and isinstance(node.this, exp.Func):
            name = function_name(node.this)
            if name not in _TABLE_FUNCTIONS:
                raise refused(f"table function {name}()")
        if isinstance(node, exp.Table) and _names_a_file(node):
            raise refused(f"reading the file {node.name!r} as a table")
        if isinstance(node, exp.Table) and _engine_schema(node):
            raise refused(
                f"DuckDB's own catalog {node.sql(dialect='duckdb')!r}", "it shows the engine's settings"
            )


def _engine_schema(node: exp.Table) -> bool:
    """``pg_catalog.pg_settings``, ``system.main.x``: DuckDB's internals, not the warehouse's tables."""
    parts = [p.name.lower() for p in (node.args.get("catalog"), node.args.get("db")) if p is not None]
    return any(p in ("pg_catalog", "system", "temp") for p in parts)


def _names_a_file(node: exp.Table) -> bool:
    ident = node.this
    if not isinstance(ident, exp.Identifier) or not ident.quoted or node.args.get("db") is not None:
        return False
    name = ident.name
    return "/" in name or "\\" in name or ":" in name or name.lower().endswith(_FILE_SUFFIXES)


def check_text(text: str, dialect: str = "duckdb") -> None:
    """Refuse a fragment (an expression inside a text-matched statement) calling a denied function,
    or reading a quoted file name after FROM/JOIN."""
    try:
        tokens = Tokenizer().tokenize(text)
    except Exception:  # not tokenizable: the statement itself will report it
        return
    for prev, tok, nxt in zip([None, *tokens], tokens, [*tokens[1:], None]):
        if nxt is not None and nxt.token_type == TokenType.L_PAREN and denied_function(tok.text):
            raise refused(f"function {tok.text.lower()}()", "it reads files or the engine's settings")
        if (
            prev is not None
            and prev.token_type in (TokenType.FROM, TokenType.JOIN)
            and tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER)
            and ("/" in tok.text or tok.text.lower().endswith(_FILE_SUFFIXES))
        ):
            raise refused(f"reading the file {tok.text!r} as a table")
