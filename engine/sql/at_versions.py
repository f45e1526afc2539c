"""``t@v3`` / ``t@3`` (version) and ``t@20240101000000000`` (timestamp, Databricks' yyyyMMddHHmmssSSS)
time travel, rewritten to ``t VERSION AS OF 3`` / ``t TIMESTAMP AS OF '2024-01-01 00:00:00.000'``
before parsing (sqlglot has no tree for them).

Only ``@`` written directly after a table name in a FROM / JOIN / TABLE / INTO / UPDATE / USING
position, without spaces, is rewritten; ``@`` anywhere else (an operator, a string) is left alone.

>>> import sqlglot
>>> text = "SELECT * FROM s.t@v3 AS a JOIN u@20240102030405006 ON 1"
>>> rewrite(text, sqlglot.Dialect.get_or_raise("duckdb").tokenize(text))
"SELECT * FROM s.t VERSION AS OF 3 AS a JOIN u TIMESTAMP AS OF '2024-01-02 03:04:05.006' ON 1"
"""

from __future__ import annotations

import datetime as dt
import re

from sqlglot.tokens import TokenType

from lakehouse.errors import SqlError

_NAME = {TokenType.VAR, TokenType.IDENTIFIER}
_BEFORE = {
    TokenType.FROM, TokenType.JOIN, TokenType.COMMA, TokenType.TABLE, TokenType.INTO, TokenType.UPDATE,
    TokenType.USING, TokenType.MERGE,
}  # fmt: skip
_VERSION = re.compile(r"[vV]?(\d+)\Z")


def rewrite(script: str, tokens: list) -> str:
    """``script`` with every ``name@v<n>`` / ``name@<n>`` / ``name@<17 digits>`` spelled out."""
    parts, pos = [], 0
    for i, tok in enumerate(tokens):
        if not (tok.token_type == TokenType.PARAMETER and tok.text == "@") or not 0 < i < len(tokens) - 1:
            continue
        prev, nxt = tokens[i - 1], tokens[i + 1]
        if prev.end + 1 != tok.start or not _after_table_name(tokens, i - 1):
            continue
        m = _VERSION.match(nxt.text) if nxt.token_type in (_NAME | {TokenType.NUMBER}) else None
        if m is None:
            raise SqlError(
                f"cannot read {script[prev.start : nxt.end + 1]!r}: after {prev.text}@ write a version "
                f"(@v3 or @3) or a timestamp as yyyyMMddHHmmssSSS (@20240101000000000)",
                fragment=script[tok.start : nxt.end + 1],
            )
        parts.append(script[pos : tok.start])
        parts.append(" " + _clause(m.group(1), nxt.text))
        pos = nxt.end + 1
    parts.append(script[pos:])
    return "".join(parts)


def _after_table_name(tokens: list, j: int) -> bool:
    """Token ``j`` ends a (dotted) name that stands where a table is read or written."""
    while True:
        if tokens[j].token_type not in _NAME:
            return False
        if j >= 2 and tokens[j - 1].token_type == TokenType.DOT:
            j -= 2
            continue
        break
    return j >= 1 and tokens[j - 1].token_type in _BEFORE


def _clause(digits: str, text: str) -> str:
    if len(digits) == 17 and text[:1].lower() != "v":
        try:
            ts = dt.datetime.strptime(digits, "%Y%m%d%H%M%S%f")
        except ValueError:
            raise SqlError(
                f"@{digits}: a timestamp is written yyyyMMddHHmmssSSS (17 digits, e.g. @20240101000000000)"
            ) from None
        return f"TIMESTAMP AS OF '{ts.isoformat(sep=' ', timespec='milliseconds')}'"
    return f"VERSION AS OF {int(digits)}"
