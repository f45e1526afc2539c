"""Notebook display: a bounded, escaped HTML table with the row count (``_repr_html_`` of Result and
DataFrame).

>>> import pyarrow as pa
>>> html = html_table(pa.table({"x": [1, 2, 3]}), max_rows=2)
>>> "<td>1</td>" in html and "3 rows" in html and "1 more row" in html
True
"""

from __future__ import annotations

import html as _html

import pyarrow as pa

from .render import cell, footer, type_name

MAX_ROWS = 20
MAX_CELL_CHARS = 200


def html_table(table: pa.Table, total: int | None = None, max_rows: int = MAX_ROWS) -> str:
    """At most ``max_rows`` rows of ``table`` as HTML; ``total`` is the full row count when ``table``
    holds only the first rows of a larger result. Every cell is escaped and cut to 200 characters."""
    total = table.num_rows if total is None else total
    shown = table.slice(0, max_rows)
    names = table.column_names
    head = "".join(
        f"<th>{_html.escape(n)}<br><small>{_html.escape(type_name(f.type))}</small></th>"
        for n, f in zip(names, table.schema)
    )
    cols = [c.to_pylist() for c in shown.columns]
    body = []
    for row in zip(*cols) if cols else []:
        cells = "".join(f"<td>{_html.escape(_cut(cell(v)))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    more = total - shown.num_rows
    parts = [
        '<table class="lakehouse-result" border="1">',
        f"<thead><tr>{head}</tr></thead>",
        f"<tbody>{''.join(body)}</tbody>",
        "</table>",
        f"<p>{footer(shown.num_rows, total)}"
        + (f" ({more:,} more row{'s' if more != 1 else ''} not shown)" if more > 0 else "")
        + "</p>",
    ]
    return "\n".join(parts)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


__all__ = ["html_table"]
