"""``lakehouse sql``: the SQL shell, interactive or running -c / -f / stdin (exits non-zero on error)."""

from __future__ import annotations

import argparse
import os
import sys

from ..render import MODES
from .cli import command
from .runner import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse",
        "-w",
        default=os.environ.get("LAKEHOUSE_WAREHOUSE", "./warehouse"),
        help="warehouse directory or s3://bucket/prefix (default: $LAKEHOUSE_WAREHOUSE or ./warehouse)",
    )
    p.add_argument(
        "--catalog", default=None, help="catalog URI (default: <warehouse>/catalog.db for a local warehouse)"
    )
    p.add_argument("-c", "--command", dest="sql", action="append", help="run this SQL and exit (repeatable)")
    p.add_argument("-f", "--file", action="append", help="run the SQL in this file and exit (repeatable)")
    p.add_argument("--mode", choices=MODES, default="table", help="output format (default: table)")
    p.add_argument(
        "--max-rows", type=int, default=40, help="rows shown per result in table mode (default: 40)"
    )
    p.add_argument("--namespace", default="main", help="where one-part table names live (as after USE)")
    p.add_argument("--dialect", default="duckdb", help="SQL dialect of the input (any sqlglot dialect)")
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="untrusted SQL: reach only the warehouse's tables (no files, settings or extensions)",
    )
    p.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="object store option for s3:// warehouses, e.g. endpoint_url=http://127.0.0.1:9000",
    )


def _storage_options(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--storage-option needs KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    import engine

    settings = Settings(mode=args.mode, max_rows=args.max_rows, dialect=args.dialect)
    options = _storage_options(args.storage_option) or None
    with engine.connect(
        args.warehouse,
        catalog=args.catalog,
        storage_options=options,
        sandbox=args.sandbox,
        namespace=args.namespace,
    ) as db:
        scripts = list(args.sql or [])
        for path in args.file or []:
            try:
                with open(path) as fh:
                    scripts.append(fh.read())
            except OSError as e:
                print(f"Error: cannot read {path}: {e.strerror or e}", file=sys.stderr)
                return 1
        if not scripts and not sys.stdin.isatty():
            scripts.append(sys.stdin.read())
        if scripts:
            from .script import Shell

            shell, failed = Shell(db, settings), False
            try:
                for text in scripts:
                    if not shell.run(text):
                        failed = True
                        if settings.bail:
                            return 1
            finally:
                shell.close()
            return 1 if failed else 0
        from .repl import run as repl

        return repl(db, settings)


run.add_arguments = add_arguments
command("sql", help="run SQL on the warehouse's tables (interactive shell, -c SQL or -f FILE)")(run)
