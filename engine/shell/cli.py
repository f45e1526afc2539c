"""``lakehouse`` console script: subcommands register themselves in ``COMMANDS``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import lakehouse

# name -> (help, add_arguments(parser), run(args) -> exit code)
COMMANDS: dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = {}


def _load_commands() -> None:
    import importlib

    for module in ("engine.shell.sql_command", "engine.shell.cache_command", "tpcds.cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise


def command(name: str, help: str):  # noqa: A002
    """Decorator registering ``run`` with an ``add_arguments`` attribute as a subcommand."""

    def wrap(fn):
        COMMANDS[name] = (help, getattr(fn, "add_arguments", lambda p: None), fn)
        return fn

    return wrap


def build_parser() -> argparse.ArgumentParser:
    _load_commands()
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="lakehouse: Delta Lake tables on Parquet, queried with SQL (DuckDB), DataFrames and jobs.",
    )
    parser.add_argument("--version", action="version", version=f"lakehouse {lakehouse.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments, _) in sorted(COMMANDS.items()):
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    _, _, run = COMMANDS[args.command]
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except lakehouse.LakehouseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
