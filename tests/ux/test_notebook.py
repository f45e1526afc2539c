"""Notebook display: ``_repr_html_`` of Result and DataFrame (bounded, escaped, counted), DuckDB's
``.df()`` / ``.pl()`` / ``.arrow()`` names, and ``show()`` saying how many rows there are in all."""

from __future__ import annotations

import html.parser

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import engine


class _Cells(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag == "td":
            self._in = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self.rows[-1].append(self._in)
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self._in += data


@pytest.fixture
def db(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        yield db


def _parse(markup: str) -> _Cells:
    p = _Cells()
    p.feed(markup)
    return p


def test_result_html_is_bounded_escaped_and_counted(db):
    r = db.sql(
        "SELECT i, CASE WHEN i = 0 THEN '<script>alert(1)</script> & \"x\"' ELSE NULL END AS s "
        "FROM range(1000) t(i)"
    )
    markup = r._repr_html_()
    assert "<script>" not in markup
    cells = _parse(markup)
    body = [row for row in cells.rows if row]
    assert len(body) == 20  # bounded
    assert body[0] == ["0", '<script>alert(1)</script> & "x"']  # the text survives, escaped
    assert body[1] == ["1", "NULL"]
    assert "20 of 1,000 rows" in markup and "980 more rows not shown" in markup
    # a short result: every row, no footer about more rows
    small = db.sql("SELECT 1 AS x")._repr_html_()
    assert "1 row" in small and "more row" not in small


def test_long_cells_are_cut(db):
    markup = db.sql("SELECT repeat('a', 10000) AS s")._repr_html_()
    assert len(markup) < 2000 and "…" in markup


def test_duckdb_names_df_pl_arrow(db):
    r = db.sql("SELECT 1 AS x, 'a' AS y")
    assert isinstance(r.df(), pd.DataFrame) and r.df().to_dict("list") == {"x": [1], "y": ["a"]}
    assert isinstance(r.pl(), pl.DataFrame) and r.pl().to_dicts() == [{"x": 1, "y": "a"}]
    assert isinstance(r.arrow(), pa.Table) and r.arrow().equals(r.to_arrow())


def test_dataframe_html_and_show_count_all_rows(db, capsys):
    db.sql("CREATE TABLE big AS SELECT i AS id FROM range(1000000) t(i)")
    df = db.table("big")
    df.show()
    out = capsys.readouterr().out
    assert "20 of 1,000,000 rows" in out
    markup = df.filter("id < 25")._repr_html_()
    assert "20 of 25 rows" in markup and "5 more rows not shown" in markup
    assert len([r for r in _parse(markup).rows if r]) == 20
    df.filter("id < 3").show()
    assert "3 rows" in capsys.readouterr().out
