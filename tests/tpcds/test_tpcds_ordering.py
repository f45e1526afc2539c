"""has_total_order / order_spec: deciding from the text whether result order is deterministic."""

from __future__ import annotations

import pytest

from tpcds.ordering import has_total_order, order_spec
from tpcds.queries import split_statements


@pytest.mark.parametrize(
    ("sql", "total"),
    [
        ("SELECT a, b FROM t ORDER BY a, b", True),
        ("SELECT a, b FROM t ORDER BY b DESC NULLS FIRST, a LIMIT 10", True),
        ("SELECT a AS x, b FROM t ORDER BY 1, 2", True),
        ("SELECT a AS x, b FROM t ORDER BY x, t.b", True),
        ("SELECT a, b FROM t ORDER BY a", False),
        ("SELECT a, b FROM t", False),
        ("SELECT a, b FROM t ORDER BY c", False),
        ("SELECT a, sum(b) AS s FROM t GROUP BY a ORDER BY a", True),
        ("SELECT a, sum(b) AS s FROM t GROUP BY a ORDER BY s", False),
        ("SELECT a, c, sum(b) FROM t GROUP BY a, c ORDER BY sum(b) DESC, a", False),
        ("SELECT a, c, sum(b) FROM t GROUP BY a, c ORDER BY c, a LIMIT 5", True),
        ("SELECT a, sum(b) FROM t GROUP BY ROLLUP (a) ORDER BY a", False),
        ("SELECT a, b FROM t GROUP BY ROLLUP (a, b) ORDER BY a, b", True),
        (
            "SELECT sum(v) AS a, max(w) AS m FROM t GROUP BY a ORDER BY a",
            False,
        ),  # GROUP BY a is t.a, not the alias
        ("SELECT count(*) FROM t ORDER BY count(*)", True),
        ("SELECT * FROM t ORDER BY a", False),
        ("SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1", True),
        ("SELECT a, c FROM t UNION ALL SELECT b, d FROM u ORDER BY a", False),
        ("WITH w AS (SELECT 1 AS a) SELECT a FROM w ORDER BY a", True),
        ("SELECT a FROM t ORDER BY 2", False),
        ("this is not sql at all (", False),
        ("", False),
    ],
)
def test_has_total_order(sql, total):
    assert has_total_order(sql) is total


def test_star_resolved_with_result_columns():
    sql = "SELECT * FROM (SELECT a, b FROM t) x ORDER BY a, b LIMIT 100"
    assert not has_total_order(sql)
    assert has_total_order(sql, columns=["a", "b"])
    assert not has_total_order(sql, columns=["a", "b", "c"])


def test_order_spec_details():
    spec = order_spec("SELECT a, b, c FROM t ORDER BY c DESC, a LIMIT 7")
    assert spec.has_order and spec.keys == (2, 0) and spec.complete and not spec.total and spec.limit == 7
    spec = order_spec("SELECT a, b FROM t ORDER BY a + b, b")
    assert spec.keys == (1,) and not spec.complete
    spec = order_spec("SELECT sum(x) AS total, k FROM t GROUP BY k ORDER BY sum(x), k")
    assert spec.keys == (0, 1) and spec.total
    spec = order_spec("SELECT 1; SELECT a FROM t ORDER BY a")  # last statement counts
    assert spec.total
    assert not order_spec("SELECT a FROM t LIMIT 3").has_order


def test_split_statements():
    assert split_statements("SELECT 1") == ["SELECT 1"]
    assert split_statements(" SELECT 1 ;\n") == ["SELECT 1"]
    assert split_statements("SELECT ';' AS s; -- x; y\nSELECT 2;") == ["SELECT ';' AS s", "-- x; y\nSELECT 2"]
    assert split_statements(";;") == []
