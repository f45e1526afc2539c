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


def from_duckdb(e: duckdb.Error, statement_text: str) -> SqlError:
    """DuckDB's own message, minus the excerpt of the rewritten SQL, pointed at the user's text."""
    message = _LINE.sub("", str(e)).strip()
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
