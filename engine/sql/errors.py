"""SqlError construction: positions relative to a statement, DuckDB's messages kept but made readable."""

from __future__ import annotations

import re

import duckdb

from lakehouse.errors import SqlError

_QUOTED = re.compile(r'"([^"]+)"')
_LINE = re.compile(r"\n\s*LINE \d+:.*", re.S)


def positioned(message: str, line: int | None, column: int | None, fragment: str | None) -> SqlError:
    """A SqlError whose line/column count from the start of its statement (dispatch makes them absolute)."""
    e = SqlError(message, line=line, column=column, fragment=fragment)
    e.relative = True  # type: ignore[attr-defined]
    return e


def locate(text: str, fragment: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the first whole-word occurrence of ``fragment`` in ``text``."""
    m = re.search(r"(?<![\w\"])" + re.escape(fragment) + r"(?![\w])", text, re.I)
    if m is None:
        m = re.search(re.escape(fragment), text, re.I)
    if m is None:
        return None, None
    line = text.count("\n", 0, m.start()) + 1
    return line, m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1


_MISSING = re.compile(r"Catalog Error: Table with name (\S+?) does not exist!")


def from_duckdb(e: duckdb.Error, statement_text: str) -> SqlError:
    """DuckDB's own message, minus the excerpt of the rewritten SQL, pointed at the user's text.

    A table DuckDB's own catalog lacks is reported as an unknown lakehouse name (``unknown_name``; the
    dispatcher adds the tables there are), never with DuckDB's suggestions of its internals.
    """
    message = _LINE.sub("", str(e)).strip()
    missing = _MISSING.match(message)
    if missing is not None:
        out = SqlError(f"unknown table {missing.group(1)!r}")
        out.unknown_name = missing.group(1)  # type: ignore[attr-defined]
        return out
    fragment = None
    for name in _QUOTED.findall(message.split("\n", 1)[0]):
        line, col = locate(statement_text, name)
        if line is not None:
            fragment = name
            break
    if fragment is None:
        return SqlError(message)
    return positioned(message, line, col, fragment)


def absolute(e: SqlError, line: int, column: int) -> SqlError:
    """Make a statement-relative error absolute within the script and name the position."""
    if not getattr(e, "relative", False):
        return e
    ln, col = e.line, e.column
    if ln is not None:
        if ln == 1 and col is not None:
            col += column - 1
        ln += line - 1
    where = f" (line {ln}, column {col})" if ln is not None and col is not None else ""
    first, _, rest = str(e).partition("\n")
    out = SqlError(first + where + (("\n" + rest) if rest else ""), line=ln, column=col, fragment=e.fragment)
    return out


def unknown_to_lakehouse(runtime, e: SqlError) -> SqlError:
    """An ``unknown_name`` error (see ``from_duckdb``) with the lakehouse tables that do exist."""
    name = getattr(e, "unknown_name", None)
    if name is None:
        return e
    qualified = name if "." in name else f"{runtime.namespace}.{name}"
    if qualified in runtime.table_names():
        message = (
            f"{name!r} is a lakehouse table, but this statement hands the name to DuckDB, which does not "
            f"know it: name the table in a FROM clause (SELECT ... FROM {name})"
        )
    else:
        message = runtime.unknown_table_message(qualified)
    return SqlError(message, line=e.line, column=e.column)
