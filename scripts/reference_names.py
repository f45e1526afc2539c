"""The public names docs/reference.md must document, and a check that it does.

    python scripts/reference_names.py            # list the names, one a line
    python scripts/reference_names.py --check    # exit 1 naming those docs/reference.md misses,
                                                 # or never uses in one of its ``python`` examples

The names: ``__all__`` of lakehouse, engine and catalog; the methods of the public contract
(ARCHITECTURE.md, first and second milestone); the ``lakehouse`` CLI commands. An entry documents a
name when the reference spells it in backquotes: ``Table`` or ``lakehouse.Table``, ``Table.append`` or
``Table.append(...)``, ``lakehouse sql``.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"
PACKAGES = ("lakehouse", "engine", "catalog")

# class (as exported) -> methods and properties the contract names
CONTRACT = {
    "lakehouse.Table": (
        "create open convert exists append overwrite delete update transaction history restore snapshot "
        "add_constraint drop_constraint rename_column drop_column set_properties changes clone maintenance "
        "version schema uri"
    ),
    "lakehouse.Snapshot": "version timestamp schema partition_columns properties files scan",
    "lakehouse.Scan": "files files_skipped files_total to_arrow to_batches to_polars to_pandas count",
    "lakehouse.Transaction": "append overwrite delete update commit abort",
    "engine.Session": (
        "sql sql_script table transaction mapreduce map_batches register unregister interrupt close catalog"
    ),
    "engine.Result": (
        "to_arrow to_polars to_pandas to_pylist fetchall fetchone fetchmany show df pl arrow columns num_rows"
    ),
    "engine.DataFrame": (
        "select with_columns filter where group_by agg join order_by sort limit head distinct unique drop "
        "rename union union_all pivot unpivot explode drop_nulls fill_null sample describe with_row_index sql "
        "count collect to_arrow to_polars to_pandas to_pylist to_batches iter_batches to_torch show explain "
        "write_table columns schema"
    ),
    "catalog.Catalog": (
        "create_namespace list_namespaces drop_namespace namespace_exists create_table load_table list_tables "
        "drop_table rename_table register_table table_exists create_view load_view list_views drop_view"
    ),
}


def cli_commands() -> list[str]:
    from engine.shell.cli import COMMANDS, build_parser

    build_parser()
    return [f"lakehouse {name}" for name in sorted(COMMANDS)]


def public_names() -> list[str]:
    """Every name the reference must document, qualified (``lakehouse.Table.append``)."""
    names = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names += [f"{package}.{name}" for name in module.__all__ if name != "__version__"]
    for cls, members in CONTRACT.items():
        package, name = cls.split(".")
        exported = getattr(importlib.import_module(package), name)
        for member in members.split():
            if not hasattr(exported, member):  # the contract list went stale: say so, loudly
                raise AttributeError(f"{cls} has no {member}: update CONTRACT in {Path(__file__).name}")
            names.append(f"{cls}.{member}")
    return names + cli_commands()


def documented(name: str, text: str) -> bool:
    if name.startswith("lakehouse "):  # a CLI command
        return f"`{name}" in text
    parts = name.split(".")
    short = ".".join(parts[1:])
    spellings = (re.escape(name), re.escape(short))
    return any(re.search(rf"`{s}[`(\[ ]", text) for s in spellings)


def missing(text: str | None = None) -> list[str]:
    text = REFERENCE.read_text() if text is None else text
    return [name for name in public_names() if not documented(name, text)]


def unexampled(text: str | None = None) -> list[str]:
    """Names no ``python`` block of the reference uses (its last part as a word: ``Table.append`` ->
    ``append``, ``lakehouse sql`` -> ``sql``)."""
    text = REFERENCE.read_text() if text is None else text
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    return [n for n in public_names() if not re.search(rf"\b{re.escape(re.split(r'[. ]', n)[-1])}\b", code)]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        gaps, unused = missing(), unexampled()
        for name in gaps:
            print(f"not in {REFERENCE.relative_to(ROOT)}: {name}")
        for name in unused:
            print(f"in no example of {REFERENCE.relative_to(ROOT)}: {name}")
        return 1 if gaps or unused else 0
    print("\n".join(public_names()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
