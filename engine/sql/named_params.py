"""Named parameters: ``$name`` (DuckDB) and ``:name`` (Databricks) with a dict of values.

The statement text gets them as numbered ``$1``, ``$2``... (in order of first appearance; a name used
twice gets one number), so everything after parsing sees positional parameters only.

>>> import sqlglot
>>> toks = sqlglot.Dialect.get_or_raise("duckdb").tokenize("SELECT $a + $b, $a")
>>> number_named("SELECT $a + $b, $a", 0, 18, toks, {"a": 1, "b": 2}, "duckdb")
('SELECT $1 + $2, $1', [1, 2])
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.tokens import TokenType

from lakehouse.errors import SqlError

_NAME_TOKENS = {TokenType.VAR, TokenType.IDENTIFIER}
# A ``:`` right after one of these is Databricks' JSON path (``col:field``), not a parameter marker.
_VALUE_END = {
    TokenType.VAR, TokenType.IDENTIFIER, TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.STRING,
    TokenType.NUMBER, TokenType.STAR,
}  # fmt: skip


def number_named(
    script: str, begin: int, end: int, toks: list, params: dict[str, Any], dialect: str
) -> tuple[str, list[Any]]:
    """The statement text with named markers numbered, and the values as a list in that order."""
    lowered = {str(k).lstrip("$:").lower(): v for k, v in params.items()}
    numbers: dict[str, int] = {}
    parts, pos = [], begin
    for i, tok in enumerate(toks):
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            raise SqlError("mix of ? and named parameters: with a dict of parameters use $name only")
        name = _marker(toks, i, dialect)
        if name is None:
            continue
        key = name.lower()
        if key not in lowered:
            raise SqlError(
                f"parameter ${name} has no value: the parameters given are {sorted(lowered)}",
                fragment=f"${name}",
            )
        n = numbers.setdefault(key, len(numbers) + 1)
        parts.append(script[pos : tok.start])
        parts.append(f"${n}")
        pos = toks[i + 1].end + 1
    parts.append(script[pos:end])
    unused = sorted(set(lowered) - set(numbers))
    if unused:
        raise SqlError(f"parameter {unused[0]!r} is given but the statement has no ${unused[0]}")
    return "".join(parts), [lowered[k] for k in numbers]


def _marker(toks: list, i: int, dialect: str) -> str | None:
    """The name of a ``$name`` / ``:name`` marker starting at token ``i``, else None."""
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if nxt is None or nxt.start != tok.end + 1 or nxt.token_type not in _NAME_TOKENS:
        return None
    if tok.token_type == TokenType.PARAMETER and tok.text == "$":
        return nxt.text
    if tok.token_type == TokenType.COLON and dialect != "duckdb":
        prev = toks[i - 1] if i else None
        if prev is None or prev.token_type not in _VALUE_END:
            return nxt.text
    return None


def numbered_placeholders(tree: exp.Expression) -> exp.Expression:
    """``$1`` as the placeholder DuckDB's dialect parses it to: Spark-family dialects read it as a
    ``Parameter``, which the handlers (and DuckDB, after transpiling) would not bind."""

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal) and not node.this.is_string:
            return exp.Placeholder(this=node.this.name)
        return node

    return tree.transform(fix, copy=False)
