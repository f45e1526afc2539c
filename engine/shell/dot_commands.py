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


Command = Callable[["Session", list[str], Settings, TextIO], "Session | bool | None"]
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


def run_dot(
    db: Session, line: str, settings: Settings, out: TextIO, err: TextIO | None = None
) -> tuple[Session | None, bool]:
    """Run one dot-command line: ``(a new session if it was .open, whether it succeeded)``. Unknown
    commands and bad arguments print a message (to ``err``, default ``out``); ``Quit`` propagates."""
    err = err or out
    try:
        words = shlex.split(line[1:])
    except ValueError as e:
        print(f"Error: {e}", file=err)
        return None, False
    if not words:
        return None, True
    name, args = words[0].lower(), words[1:]
    if name not in COMMANDS:
        print(f"Error: unknown command .{name}; type .help for the list", file=err)
        return None, False
    if name in FILE_COMMANDS and db.runtime.sandbox:
        print(f"Error: .{name} reads or writes files: not allowed in a sandboxed session", file=err)
        return None, False
    try:
        got = COMMANDS[name][2](db, args, settings, out)
    except LakehouseError as e:
        print(f"Error: {e}", file=err)
        return None, False
    if got is False:
        return None, False
    return (got if got is not None and got is not True else None), True


def _show(db: Session, sql: str, settings: Settings, out: TextIO) -> None:
    _print(settings.render(db.sql(sql)), settings, out)


def _print(text: str, settings: Settings, out: TextIO) -> None:
    sink = settings.sink(out)
    print(text, file=sink)
    sink.flush()
    settings.done()


def _on_off(name: str, args: list[str], out: TextIO) -> bool | None:
    if len(args) != 1 or args[0].lower() not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        print(f"Usage: .{name} on|off", file=out)
        return None
    return args[0].lower() in ("on", "1", "true", "yes")


@dot("tables", ".tables [namespace]", "list tables and views")
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
    text = render(
        table, settings.mode, settings.max_rows, headers=settings.headers, nullvalue=settings.nullvalue
    )
    _print(text, settings, out)


def _flag(name: str, help: str) -> None:  # noqa: A002
    """``.name on|off`` setting the Settings field of the same name."""

    def command(db, args, settings, out):
        flag = _on_off(name, args, out)
        if flag is None:
            return False
        setattr(settings, name, flag)

    dot(name, f".{name} on|off", help)(command)


_flag("timer", "print how long each statement took")
_flag("headers", "show column names (table, csv)")
_flag("echo", "print each command before running it")
_flag("bail", "stop a script at its first error (on by default for scripts)")


@dot("nullvalue", ".nullvalue STRING", "text shown for NULL (default NULL; empty in csv)")
def _nullvalue(db, args, settings, out):
    if len(args) != 1:
        print("Usage: .nullvalue STRING", file=out)
        return False
    settings.nullvalue = args[0]


def _open_file(path: str, out: TextIO) -> TextIO | None:
    try:
        return open(Path(path).expanduser(), "w")  # noqa: SIM115 - kept open until .output / .once is done
    except OSError as e:
        print(f"Error: cannot open {path}: {e.strerror or e}", file=out)
        return None


@dot("output", ".output [FILE]", "send results to FILE (no FILE: back to the terminal)")
def _output(db, args, settings, out):
    if settings.output is not None:
        settings.output.close()
        settings.output = None
    if not args or args[0] in ("stdout", "-"):
        return None
    settings.output = _open_file(args[0], out)
    return settings.output is not None


@dot("once", ".once FILE", "send the next result only to FILE")
def _once(db, args, settings, out):
    if len(args) != 1:
        print("Usage: .once FILE", file=out)
        return False
    if settings.once is not None:
        settings.once.close()
    settings.once = _open_file(args[0], out)
    return settings.once is not None


@dot("open", ".open WAREHOUSE", "close this warehouse and open another (a directory or s3://...)")
def _open(db, args, settings, out):
    if len(args) != 1:
        print("Usage: .open WAREHOUSE", file=out)
        return False
    import engine

    runtime = db.runtime
    new = engine.connect(args[0], storage_options=runtime.storage_options or None, user=runtime.user)
    print(f"opened {new.warehouse}", file=out)
    return new


@dot("mode", ".mode [table|csv|json|markdown|line]", "output format")
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
    return execute_script(db, text, settings, out, out)


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
