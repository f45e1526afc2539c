"""Parse: split a script into statements, number ``?`` parameters, parse with sqlglot into trees."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from lakehouse.errors import SqlError

from ..phases import phase
from . import at_versions
from .named_params import number_named, numbered_placeholders


class _QuietSqlglot(logging.Filter):
    """sqlglot warns on stderr when it falls back to a Command tree or cannot transpile a construct;
    our handlers deal with both (or DuckDB reports the error), so users never see these warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


logging.getLogger("sqlglot").addFilter(_QuietSqlglot())


@dataclass
class Statement:
    """One statement of a script: its text (``?`` renumbered as ``$n``), position and parameters."""

    text: str
    dialect: str
    params: list[Any] | None = None
    line: int = 1  # where the statement starts in the script, for error positions
    column: int = 1
    _tree: exp.Expression | None = field(default=None, repr=False)

    @property
    def tree(self) -> exp.Expression:
        """The sqlglot tree (parsed on first use); SqlError with the position on bad syntax."""
        if self._tree is None:
            self._tree = parse_one(self.text, self.dialect, line=self.line, column=self.column)
        return self._tree


def _dialect(name: str):
    try:
        return sqlglot.Dialect.get_or_raise(name)
    except ValueError as e:
        raise SqlError(f"unknown SQL dialect {name!r}: {e}") from None


def split(script: str, dialect: str = "duckdb", params: Any = None) -> list[Statement]:
    """Statements of ``script`` (split on ``;`` outside strings and comments), empty ones dropped.

    >>> [s.text for s in split("SELECT 1; /* ; */ SELECT 'a;b'")]
    ['SELECT 1', "SELECT 'a;b'"]
    >>> [s.text for s in split("SELECT ?", params=[2])]
    ['SELECT $1']
    """
    with phase("parse"):
        if isinstance(params, dict):  # $name / :name markers become $1, $2, ... (not cached: values)
            return _split_named(script, dialect, params)
        pieces = _one_statement(script)
        if pieces is None:
            pieces = _split_cached(script, dialect) if len(script) <= _CACHE_TEXT else _split(script, dialect)
    if params is not None and len(pieces) > 1:
        raise SqlError("parameters can only be used with a single statement; run the statements one by one")
    return [Statement(text, dialect, _params(params), line, column) for text, line, column in pieces]


_CACHE_TEXT = 64_000  # scripts up to this many characters have their split kept (tokenizing is costly)


def _one_statement(script: str) -> tuple[tuple[str, int, int], ...] | None:
    """The split of a script that is plainly one statement without ``?``, ``@`` or leading comments
    (what ``_split`` returns for it, without tokenizing); None when it takes tokenizing to know.

    >>> _one_statement("  SELECT 1")
    (('SELECT 1', 1, 3),)
    """
    if ";" in script or "?" in script or "@" in script:
        return None
    body = script.lstrip()
    if not body or body.startswith(("--", "/*")):
        return None
    return ((script.strip(), *_position(script, len(script) - len(body))),)


def _pieces(script: str, dialect: str) -> tuple[str, list[tuple[int, int, list]]]:
    """``script`` (``t@v3`` spelled out) and (first offset, end offset, expanded tokens) per statement."""
    try:
        tokens = _dialect(dialect).tokenize(script)
        if "@" in script:  # t@v3 time travel: spelled out as VERSION AS OF 3
            rewritten = at_versions.rewrite(script, _expand_commands(script, tokens, dialect))
            if rewritten != script:
                script, tokens = rewritten, _dialect(dialect).tokenize(rewritten)
    except TokenError as e:
        raise SqlError(f"cannot read SQL: {e}") from None
    pieces: list[tuple[int, int, list]] = []
    start, current = 0, []
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            pieces.append((start, tok.start, current))
            start, current = tok.end + 1, []
        else:
            current.append(tok)
    pieces.append((start, len(script), current))
    return script, [(t[0].start, end, _expand_commands(script, t, dialect)) for _b, end, t in pieces if t]


def _position(script: str, first: int) -> tuple[int, int]:
    line = script.count("\n", 0, first) + 1
    return line, first - (script.rfind("\n", 0, first) + 1) + 1


def _split(script: str, dialect: str) -> tuple[tuple[str, int, int], ...]:
    """(text, line, column) of each statement of ``script``, ``?`` numbered ``$1, $2, ...``."""
    script, pieces = _pieces(script, dialect)
    return tuple(
        (_number_placeholders(script, first, end, toks).strip(), *_position(script, first))
        for first, end, toks in pieces
    )


_split_cached = functools.lru_cache(maxsize=512)(_split)


def _split_named(script: str, dialect: str, params: dict) -> list[Statement]:
    script, pieces = _pieces(script, dialect)
    if len(pieces) > 1:
        raise SqlError("parameters can only be used with a single statement; run the statements one by one")
    out = []
    for first, end, toks in pieces:
        text, values = number_named(script, first, end, toks, params, dialect)
        out.append(Statement(text.strip(), dialect, values, *_position(script, first)))
    return out


def _params(params: Any) -> list[Any] | None:
    if params is None:
        return None
    return list(params)


def _expand_commands(script: str, toks: list, dialect: str) -> list:
    """Tokens with a command's raw remainder (``EXPLAIN <query>``) tokenized too, offsets kept."""
    out = []
    for i, tok in enumerate(toks):
        prev = toks[i - 1] if i else None
        if tok.token_type == TokenType.STRING and prev is not None and prev.token_type == TokenType.COMMAND:
            # sqlglot gives the remainder's token the position of its last character only
            begin = script.find(tok.text, prev.end + 1)
            if begin < 0:
                out.append(tok)
                continue
            try:
                inner = _dialect(dialect).tokenize(tok.text)
            except TokenError:
                out.append(tok)
                continue
            for t in inner:
                t.start += begin
                t.end += begin
            out.extend(_expand_commands(script, inner, dialect))
        else:
            out.append(tok)
    return out


def _number_placeholders(script: str, begin: int, end: int, toks: list) -> str:
    """The statement text with each ``?`` replaced by ``$1``, ``$2``, ... in order of appearance.

    Numbered parameters survive sqlglot round trips and rewrites that reorder clauses.
    """
    parts, pos, n = [], begin, 0
    for tok in toks:
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            n += 1
            parts.append(script[pos : tok.start])
            parts.append(f"${n}")
            pos = tok.end + 1
    parts.append(script[pos:end])
    return "".join(parts)


def parse_one(text: str, dialect: str = "duckdb", *, line: int = 1, column: int = 1) -> exp.Expression:
    """Parse one statement; SqlError carrying line, column and the offending fragment on failure."""
    try:
        with phase("parse"):
            trees = sqlglot.parse(text, read=_dialect(dialect))
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        raise _syntax_error(err, line, column) from None
    except TokenError as e:
        raise SqlError(f"cannot read SQL: {e}") from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise SqlError(f"expected one statement, got {len(trees)}: {text[:80]!r}")
    return numbered_placeholders(trees[0]) if dialect != "duckdb" else trees[0]


def _syntax_error(err: dict, line: int, column: int) -> SqlError:
    ln, col = err.get("line"), err.get("col")
    if ln is not None:
        if ln == 1 and col is not None:
            col = col + column - 1
        ln = ln + line - 1
    fragment = err.get("highlight") or None
    where = f" at line {ln}, column {col}" if ln is not None else ""
    near = f" near {fragment!r}" if fragment else ""
    desc = _describe(err.get("description") or "invalid syntax")
    context = (err.get("start_context") or "") + (fragment or "") + (err.get("end_context") or "")
    context = " ".join(context.split())
    msg = f"syntax error{where}{near}: {desc}"
    if context:
        msg += f"\n  {context}"
    return SqlError(msg, line=ln, column=col, fragment=fragment)


_REQUIRED = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>")


def _describe(desc: str) -> str:
    """sqlglot's parser messages in a user's words."""
    m = _REQUIRED.match(desc)
    if m:
        return f"incomplete {m.group(2).upper()} expression (its {m.group(1)} is missing)"
    if desc.startswith("Invalid expression / Unexpected token"):
        return "unexpected token"
    if "<Token token_type: TokenType.SENTINEL" in desc:
        return desc.split(" but got ")[0] + " but the statement ended"
    return re.sub(r"<Token token_type: TokenType\.\w+, text: ([^,]*),.*?>", r"'\1'", desc)
