"""Dot-commands of the interactive shell (``.tables``, ``.schema``, ``.mode``, ...), DuckDB CLI style."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from lakehouse.errors import LakehouseError

from ..render import MODES, render
from .runner import Settings, execute_script

if TYPE_CHECKING:
    from ..session import Session


class Quit(Exception):
    """``.quit`` / ``.exit``."""


Command = Callable[["Session", list[str], Settings, TextIO], None]
COMMANDS: dict[str, tuple[str, str, Command]] = {}  # name -> (usage, help, fn)
FILE_COMMANDS = {
    "read",
    "output",
    "once",
    "open",
    "import",
    "save",
    "backup",
    "restore",
}  # not when sandboxed


def dot(name: str, usage: str, help: str):  # noqa: A002
    def wrap(fn: Command) -> Command:
        COMMANDS[name] = (usage, help, fn)
        return fn

    return wrap


def run_dot(db: Session, line: str, settings: Settings, out: TextIO) -> None:
    """Run one dot-command line; unknown commands and bad arguments print a message."""
    try:
        words = shlex.split(line[1:])
    except ValueError as e:
        print(f"Error: {e}", file=out)
        return
    if not words:
        return
    name, args = words[0].lower(), words[1:]
    if name not in COMMANDS:
        print(f"Error: unknown command .{name}; type .help for the list", file=out)
        return
    if name in FILE_COMMANDS and db.runtime.sandbox:
        print(f"Error: .{name} reads or writes files: not allowed in a sandboxed session", file=out)
        return
    try:
        COMMANDS[name][2](db, args, settings, out)
    except LakehouseError as e:
        print(f"Error: {e}", file=out)


def _show(db: Session, sql: str, settings: Settings, out: TextIO) -> None:
    print(render(db.sql(sql).to_arrow(), settings.mode, settings.max_rows), file=out)


@dot("tables", ".tables [namespace]", "list tables")
def _tables(db, args, settings, out):
    _show(db, "SHOW TABLES" + (f" IN {args[0]}" if args else ""), settings, out)


@dot("schema", ".schema [table]", "columns of a table (of every table without an argument)")
def _schema(db, args, settings, out):
    names = args or db.catalog.list_tables()
    if not names:
        print("(no tables)", file=out)
    for n in names:
        if not args:
            print(n, file=out)
        _show(db, f"DESCRIBE {n}", settings, out)


@dot("history", ".history table [limit]", "the table's versions (DESCRIBE HISTORY)")
def _history(db, args, settings, out):
    if not args:
        print("Usage: .history table [limit]", file=out)
        return
    sql = f"DESCRIBE HISTORY {args[0]}" + (f" LIMIT {int(args[1])}" if len(args) > 1 else "")
    shown = ["version", "timestamp", "operation", "parameters", "user_name", "statement_kind"]
    table = db.sql(sql).to_arrow()
    table = table.select([c for c in shown if c in table.column_names])
    print(render(table, settings.mode, settings.max_rows), file=out)


@dot("timer", ".timer on|off", "print how long each statement took")
def _timer(db, args, settings, out):
    if not args or args[0].lower() not in ("on", "off"):
        print("Usage: .timer on|off", file=out)
        return
    settings.timer = args[0].lower() == "on"


@dot("mode", ".mode [table|csv|json|markdown]", "output format")
def _mode(db, args, settings, out):
    if not args:
        print(f"current output mode: {settings.mode}", file=out)
    elif args[0].lower() in MODES:
        settings.mode = args[0].lower()
    else:
        print(f"Error: unknown mode {args[0]!r}; choose one of: {', '.join(MODES)}", file=out)


@dot("maxrows", ".maxrows N", "show at most N rows of a result in table mode")
def _maxrows(db, args, settings, out):
    try:
        settings.max_rows = max(1, int(args[0]))
    except (IndexError, ValueError):
        print(f"Usage: .maxrows N (now {settings.max_rows})", file=out)


@dot("read", ".read FILE", "run the SQL statements in FILE")
def _read(db, args, settings, out):
    if not args:
        print("Usage: .read FILE", file=out)
        return
    try:
        text = Path(args[0]).expanduser().read_text()
    except OSError as e:
        print(f"Error: cannot read {args[0]}: {e.strerror or e}", file=out)
        return
    execute_script(db, text, settings, out, out)


@dot("help", ".help", "this list")
def _help(db, args, settings, out):
    width = max(len(u) for u, _, _ in COMMANDS.values())
    for usage, text, _ in COMMANDS.values():
        print(f"{usage.ljust(width)}  {text}", file=out)
    print("SQL statements end with ';' and may span lines. Ctrl-C cancels a running query.", file=out)


@dot("quit", ".quit", "leave the shell")
def _quit(db, args, settings, out):
    raise Quit()


COMMANDS["exit"] = (".exit", "leave the shell", _quit)
