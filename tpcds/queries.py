"""The 99 TPC-DS query texts.

The texts are not part of the repository: :func:`tpcds.generate.generate_parquet` asks DuckDB's TPC-DS
extension for them (``SELECT * FROM tpcds_queries()``) and stores them as ``queries.json``
(``{"1": "<sql>", ...}``) beside the generated tables.  :func:`load_queries` reads them back.

The texts are DuckDB's flavour of the queries (already qualified with the default substitution
parameters).  In the 1.5.5 extension every text is a single statement (queries 14, 23, 24 and 39, which
have two parts in the official kit, come as their first part only), but :func:`split_statements` makes
the runner robust against kits that put several statements into one text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

QUERIES_FILE = "queries.json"


def load_queries(out_dir: str | Path) -> dict[int, str]:
    """Read the query texts stored by :func:`tpcds.generate.generate_parquet` in ``out_dir``.

    Returns ``{query number: sql text}`` sorted by number.  Raises ``FileNotFoundError`` if the directory
    holds no ``queries.json`` (generate the data first).
    """
    path = Path(out_dir) / QUERIES_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: run tpcds.generate.generate_parquet(sf, {str(out_dir)!r}) first"
        )
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {int(nr): text for nr, text in sorted(raw.items(), key=lambda kv: int(kv[0]))}


def split_statements(sql: str) -> list[str]:
    """Split a query text into its statements (without trailing semicolons), dropping empty ones.

    Uses sqlglot's tokenizer so that semicolons inside string literals or comments do not split.  Falls back
    to returning the whole text as one statement if tokenizing fails.
    """
    text = sql.strip()
    if ";" not in text:
        return [text] if text else []
    try:
        from sqlglot.tokens import Tokenizer, TokenType

        tokens = Tokenizer().tokenize(text)
    except Exception:
        return [text.rstrip(";").strip()]
    parts: list[str] = []
    start = 0
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            parts.append(text[start : tok.start].strip())
            start = tok.end + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def qualify_tables(sql: str, namespace: str, tables: Iterable[str]) -> str:
    """``sql`` with every bare reference to one of ``tables`` prefixed by ``namespace.``.

    CTE names, already qualified names and other tables are left alone.  Used because the session
    resolves a one-part name in the namespace ``main``; the query texts use bare TPC-DS names.

    >>> qualify_tables("SELECT * FROM store s, x", "tpcds_sf1", ["store"])
    'SELECT * FROM tpcds_sf1.store AS s, x'
    """
    import sqlglot
    from sqlglot import exp

    names = {t.lower() for t in tables}
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.find_all(exp.Table):
        if node.args.get("db") is None and isinstance(node.this, exp.Identifier):
            lower = node.name.lower()
            if lower in names and lower not in ctes:
                node.set("db", exp.to_identifier(namespace))
    return tree.sql(dialect="duckdb")
