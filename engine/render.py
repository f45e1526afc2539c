"""Render query output as an aligned text table (types in the header), CSV, JSON lines or Markdown.

Below both ``engine.result`` (``Result.show``) and the shell, so the value type does not depend on the CLI.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa

Mode = Literal["table", "csv", "json", "markdown", "line"]
MODES = ("table", "csv", "json", "markdown", "line")


def type_name(t: pa.DataType) -> str:
    from .sql.types import duckdb_type

    try:
        return duckdb_type(t).lower()
    except Exception:
        return str(t)


def footer(shown: int, total: int | None) -> str:
    """``3 rows``, or ``20 of 1,000,000 rows`` when only some are shown (``total`` None: unknown)."""
    if total is None or total == shown:
        return f"{shown:,} row{'s' if shown != 1 else ''}"
    return f"{shown:,} of {total:,} rows"


def cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    return str(v)


def render(
    table: pa.Table,
    mode: Mode = "table",
    max_rows: int | None = 40,
    max_width: int | None = None,
    total_rows: int | None = None,
    *,
    headers: bool = True,
    nullvalue: str | None = None,
) -> str:
    """Text for ``table``; ``max_rows`` limits table/markdown output (None: all rows); ``total_rows``: the
    row count of the whole result when ``table`` holds only its first rows (the footer says ``20 of N``).
    ``headers=False`` leaves out column names (table and csv); ``nullvalue`` is the text of a NULL
    (default: ``NULL``, empty in csv). ``line`` mode prints one ``column = value`` line per value, as
    the DuckDB CLI's ``.mode line``.

    >>> print(render(pa.table({"id": [1, 2]}), mode="csv"))
    id
    1
    2
    """
    if table.column_names == ["explain"]:
        return "\n".join(table.column("explain").to_pylist())
    schema = table.schema
    if nullvalue is not None:
        table = _with_nulls(table, nullvalue)
    if mode == "csv":
        return _csv(table, headers)
    if mode == "line":
        return _line(table, max_rows)
    if mode == "json":
        return "\n".join(
            json.dumps({k: _json_value(v) for k, v in r.items()}, default=_json_default)
            for r in table.to_pylist()
        )
    if mode == "markdown":
        return _markdown(table, max_rows)
    return _table(table, max_rows, max_width, total_rows, headers, schema)


def _with_nulls(table: pa.Table, text: str) -> pa.Table:
    """Every column as text, NULL shown as ``text`` (as the DuckDB CLI's ``.nullvalue``)."""
    cols = [
        pa.array([text if v is None else cell(v) for v in c.to_pylist()], pa.string()) for c in table.columns
    ]
    return pa.table(cols, names=table.column_names)


def _line(table: pa.Table, max_rows: int | None) -> str:
    rows, hidden = _rows(table, max_rows)
    width = max((len(n) for n in table.column_names), default=0)
    blocks = ["\n".join(f"{n.rjust(width)} = {v}" for n, v in zip(table.column_names, r)) for r in rows]
    text = "\n\n".join(blocks)
    return text + (f"\n\n({hidden} more rows)" if hidden else "")


def _json_value(v: Any) -> Any:
    # Decimals stay numbers when a JSON number holds them exactly (sum(BIGINT) is a DECIMAL(38,0)).
    if isinstance(v, Decimal):
        if v == v.to_integral_value():
            return int(v)
        f = float(v)
        return f if Decimal(repr(f)) == v else str(v)
    return v


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dt.date | dt.datetime | dt.time):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def _csv(table: pa.Table, headers: bool = True) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if headers:
        w.writerow(table.column_names)
    for row in table.to_pylist():
        w.writerow(["" if v is None else cell(v) for v in row.values()])
    return out.getvalue().rstrip("\n")


def _rows(table: pa.Table, max_rows: int | None) -> tuple[list[list[str]], int]:
    n = table.num_rows
    shown = table if max_rows is None or n <= max_rows else table.slice(0, max_rows)
    cols = [c.to_pylist() for c in shown.columns]
    rows = [[cell(v) for v in r] for r in zip(*cols)] if cols else []
    return rows, n - shown.num_rows


def _markdown(table: pa.Table, max_rows: int | None) -> str:
    rows, hidden = _rows(table, max_rows)
    esc = [[v.replace("|", "\\|") for v in r] for r in rows]
    lines = [
        "| " + " | ".join(table.column_names) + " |",
        "|" + "|".join("---" for _ in table.column_names) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in esc]
    if hidden:
        lines.append(f"\n({hidden} more rows)")
    return "\n".join(lines)


def _table(
    table: pa.Table,
    max_rows: int | None,
    max_width: int | None,
    total: int | None = None,
    headers: bool = True,
    schema: pa.Schema | None = None,
) -> str:
    schema = schema or table.schema
    if not table.column_names:
        return "(no columns)"
    rows, hidden = _rows(table, max_rows)
    names = table.column_names
    types = [type_name(f.type) for f in schema]
    width = max_width or shutil.get_terminal_size((120, 24)).columns
    heads = [[n, t] if headers else [] for n, t in zip(names, types)]
    widths = [max([len(h) for h in heads[i]] + [len(r[i]) for r in rows] + [1]) for i in range(len(names))]
    # Shrink the widest columns until the table fits the terminal (each keeps at least 8 characters).
    while sum(widths) + 3 * len(widths) + 1 > width and max(widths) > 8:
        i = widths.index(max(widths))
        widths[i] -= 1

    def fit(s: str, w: int) -> str:
        s = s.replace("\n", "\\n")
        return s if len(s) <= w else s[: max(0, w - 1)] + "…"

    numeric = [
        pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
        for f in schema
    ]

    def line(values: list[str], align: bool = False) -> str:
        parts = []
        for i, v in enumerate(values):
            v = fit(v, widths[i])
            parts.append(v.rjust(widths[i]) if align and numeric[i] else v.ljust(widths[i]))
        return "│ " + " │ ".join(parts) + " │"

    top = "┌" + "┬".join("─" * (w + 2) for w in widths) + "┐"
    mid = "├" + "┼".join("─" * (w + 2) for w in widths) + "┤"
    bot = "└" + "┴".join("─" * (w + 2) for w in widths) + "┘"
    out = [top, line(names), line(types), mid] if headers else [top]
    out += [line(r, align=True) for r in rows]
    out.append(bot)
    out.append(footer(len(rows), total if total is not None else table.num_rows))
    return "\n".join(out)
