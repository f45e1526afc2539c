"""The DataFrame operations a Polars user reaches for, each checked against Polars on the same rows
(``sales.orders`` of conftest: NULLs in amount, region, cid and note; 300 rows in six files)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

from engine.dataframe import col
from lakehouse.errors import InvalidArgument, SqlError


@pytest.fixture(scope="module")
def lists(data):
    """A table with a list column (NULL lists, empty lists, NULL elements) and its Polars twin."""
    rows = {
        "id": list(range(8)),
        "tags": [[1, None, 3], [], None, [4], [5, 6], [], None, [7, 7, None]],
        "s": ["a,b", "", None, "x", "a,,b", ",", "abc", "q"],
    }
    table = pa.table(
        {
            "id": pa.array(rows["id"], pa.int64()),
            "tags": pa.array(rows["tags"], pa.list_(pa.int64())),
            "s": pa.array(rows["s"], pa.string()),
        }
    )
    data.db.catalog.create_table("sales.lists", table.schema).append(table)
    return data.db.table("sales.lists"), pl.from_arrow(table)


def same(rows, ours, theirs, ordered=False):
    got = ours.collect() if hasattr(ours, "collect") and not isinstance(ours, pl.DataFrame) else ours
    assert list(got.column_names) == list(theirs.columns)
    assert rows(got, ordered) == rows(theirs, ordered)


def test_drop_nulls_and_fill_null(data, rows):
    orders = data.db.table("sales.orders")
    same(rows, orders.drop_nulls(), data.orders.drop_nulls())
    same(rows, orders.drop_nulls(["amount", "cid"]), data.orders.drop_nulls(["amount", "cid"]))
    same(rows, orders.drop_nulls("region"), data.orders.drop_nulls("region"))
    for value in (0, -1.5, "none"):
        same(rows, orders.fill_null(value), data.orders.fill_null(value))
    with pytest.raises(InvalidArgument):
        orders.fill_null(None)


def test_cum_sum_and_cum_count(data, rows):
    orders = data.db.table("sales.orders")
    ours = orders.select("id", "region", "cid").with_columns(
        s=col("cid").cum_sum().over(order_by="id"),
        c=col("cid").cum_count().over(order_by="id"),
        g=col("cid").cum_sum().over("region", order_by="id"),
    )
    theirs = (
        data.orders.select("id", "region", "cid")
        .sort("id")
        .with_columns(
            s=pl.col("cid").cum_sum(),
            c=pl.col("cid").cum_count().cast(pl.Int64),
            g=pl.col("cid").cum_sum().over("region"),
        )
    )
    same(rows, ours, theirs)


def test_unique_subset(data, rows):
    orders = data.db.table("sales.orders")
    got = orders.unique(subset=["region", "qty"]).collect()
    expected = data.orders.unique(subset=["region", "qty"])
    assert got.num_rows == expected.height
    keys = lambda t: sorted(map(str, zip(t["region"].to_pylist(), t["qty"].to_pylist())))  # noqa: E731
    assert keys(got) == keys(expected.to_arrow())
    full = {tuple(r.values()) for r in data.orders.to_arrow().to_pylist()}
    assert all(tuple(r.values()) in full for r in got.to_pylist())  # whole input rows, not mixtures
    same(rows, orders.unique(subset="region", keep="none"), data.orders.unique(subset="region", keep="none"))
    same(rows, orders.select("region").unique(), data.orders.select("region").unique())
    # keep first / last follow the frame's sort order
    s = orders.sort("id")
    same(
        rows, s.unique(subset="qty", keep="first"), data.orders.sort("id").unique(subset="qty", keep="first")
    )
    same(rows, s.unique(subset="qty", keep="last"), data.orders.sort("id").unique(subset="qty", keep="last"))


def test_sample(data):
    orders = data.db.table("sales.orders")
    a = orders.sample(10, seed=7).collect()
    assert a.num_rows == 10 and a.equals(orders.sample(10, seed=7).collect())
    assert orders.sample(fraction=0.1, seed=1).count() == data.orders.sample(fraction=0.1, seed=1).height
    full = {r["id"] for r in data.orders.to_dicts()}
    assert {r["id"] for r in a.to_pylist()} <= full
    assert orders.sample(1000).count() == 300  # fewer rows than n: all of them
    with pytest.raises(InvalidArgument):
        orders.sample(n=3, fraction=0.5)


def test_describe(data):
    orders = data.db.table("sales.orders").select("amount", "qty", "region")
    got = orders.describe().to_polars()
    expected = data.orders.select("amount", "qty", "region").describe(interpolation="linear")
    assert got.columns == expected.columns
    assert got["statistic"].to_list() == expected["statistic"].to_list()
    for c in ("amount", "qty"):
        for g, e in zip(got[c].to_list(), expected[c].to_list()):
            assert (g is None and e is None) or g == pytest.approx(e, rel=1e-9), c
    assert got["region"].to_list() == expected["region"].to_list()


def test_len_getitem_and_row_index(data, rows):
    orders = data.db.table("sales.orders")
    assert len(orders) == data.orders.height and bool(orders.limit(0))
    f = orders.filter(orders["amount"] > 50)
    same(rows, f, data.orders.filter(pl.col("amount") > 50))
    same(rows, orders[["id", "qty"]], data.orders[["id", "qty"]])
    with pytest.raises(SqlError):
        orders["nope"]
    ours = (
        orders.select("id", "amount")
        .sort("amount", nulls_last=True, descending=True)
        .with_row_index("n", offset=1)
    )
    theirs = (
        data.orders.select("id", "amount")
        .sort(["amount", "id"], nulls_last=True, descending=[True, False])
        .with_row_index("n", offset=1)
    )
    got = ours.collect()
    assert got.column_names == theirs.columns
    assert got["n"].to_pylist() == list(range(1, 301))  # numbered in the sort order
    assert got["amount"].to_pylist() == theirs["amount"].to_list()


def test_pivot_and_unpivot(data, rows):
    orders = data.db.table("sales.orders").filter(col("cid").is_not_null())
    theirs = data.orders.filter(pl.col("cid").is_not_null())
    for agg in ("sum", "min", "max", "len", "mean", "first"):
        src_o = orders.select("cid", "qty", "amount")
        src_p = theirs.select("cid", "qty", "amount")
        if agg == "first":  # one row per (index, on) so "first" is defined
            src_o = src_o.sort("cid", "qty", "amount", nulls_last=True).unique(
                subset=["cid", "qty"], keep="first"
            )
        ours = src_o.pivot("qty", index="cid", values="amount", aggregate_function=agg)
        if agg == "first":
            src_p = pl.from_arrow(src_o.collect())
        expected = src_p.pivot(
            on="qty", index="cid", values="amount", aggregate_function=agg, sort_columns=True
        )
        got = ours.collect()
        assert got.column_names == expected.columns, agg
        if agg == "len":
            expected = expected.with_columns(pl.exclude("cid").cast(pl.Int64))
        assert rows(got) == rows(expected), agg
    # unpivot
    src = data.db.table("sales.orders").select("id", "qty", "cid")
    same(
        rows,
        src.unpivot(index="id"),
        data.orders.select("id", "qty", "cid").with_columns(pl.col("qty").cast(pl.Int64)).unpivot(index="id"),
    )
    same(
        rows,
        src.unpivot(["qty"], index="id", variable_name="k", value_name="v"),
        data.orders.select("id", "qty").unpivot(["qty"], index="id", variable_name="k", value_name="v"),
    )


def test_explode_list_namespace_and_split(lists, rows):
    ours, theirs = lists
    same(rows, ours.select("id", "tags").explode("tags"), theirs.select("id", "tags").explode("tags"))
    for kw in ({"empty_as_null": True}, {"keep_nulls": False}, {"empty_as_null": True, "keep_nulls": False}):
        same(
            rows,
            ours.select("id", "tags").explode("tags", **kw),
            theirs.select("id", "tags").explode("tags", **kw),
        )
    ops = {
        "len": (col("tags").list.len(), pl.col("tags").list.len().cast(pl.Int64)),
        "sum": (col("tags").list.sum(), pl.col("tags").list.sum()),
        "min": (col("tags").list.min(), pl.col("tags").list.min()),
        "max": (col("tags").list.max(), pl.col("tags").list.max()),
        "first": (col("tags").list.get(0), pl.col("tags").list.get(0, null_on_oob=True)),
        "last": (col("tags").list.last(), pl.col("tags").list.last()),
        "has7": (col("tags").list.contains(7), pl.col("tags").list.contains(7)),
        "sorted": (col("tags").list.sort(), pl.col("tags").list.sort()),
        "parts": (col("s").str.split(","), pl.col("s").str.split(",")),
        "chars": (col("s").str.split(""), pl.col("s").str.split("")),
    }
    for name, (o, p) in ops.items():
        got = ours.select("id", o.alias(name)).collect()
        expected = theirs.select("id", p.alias(name))
        assert rows(got) == rows(expected), name


def test_df_sql(data, rows):
    orders = data.db.table("sales.orders").filter(col("qty") > 2)
    ours = orders.sql("SELECT region, sum(qty) AS total FROM self GROUP BY region")
    theirs = data.orders.filter(pl.col("qty") > 2).sql(
        "SELECT region, sum(qty) AS total FROM self GROUP BY region"
    )
    same(rows, ours, theirs.with_columns(pl.col("total").cast(pl.Int64)))
    # a join with a catalog table, the frame under another alias
    joined = orders.sql("SELECT o.id, c.name FROM self AS o JOIN sales.customers c ON o.cid = c.cid")
    assert joined.count() == data.orders.filter(pl.col("qty") > 2).join(data.customers, on="cid").height
    assert "SELECT" in orders.sql()  # no query: the frame's SQL text, as before
    with pytest.raises(SqlError, match="self"):
        orders.sql("SELECT 1")


def test_date_plus_duration_stays_a_date(data, rows):
    orders = data.db.table("sales.orders")
    ours = orders.select(
        "id",
        d1=col("day") + dt.timedelta(days=1),
        d2=col("day") - dt.timedelta(days=40),
        d3=col("day") + dt.timedelta(hours=30),
        t1=col("ts") + dt.timedelta(hours=1),
    )
    theirs = data.orders.select(
        "id",
        d1=pl.col("day") + dt.timedelta(days=1),
        d2=pl.col("day") - dt.timedelta(days=40),
        d3=pl.col("day") + dt.timedelta(hours=30),
        t1=pl.col("ts") + dt.timedelta(hours=1),
    )
    got = ours.collect()
    assert [pa.types.is_date(f.type) for f in got.schema] == [False, True, True, True, False]
    assert rows(got) == rows(theirs)


def test_odd_names_and_values(data, rows):
    """Quotes in values that become column names, spaces and quotes in column names, `self` in a string."""
    t = pa.table(
        {
            "my key": pa.array([1, 1, 2, None], pa.int64()),
            'we"ird': pa.array(["it's", 'say "hi"', "it's", None], pa.string()),
            "v": pa.array([1.0, float("nan"), 3.0, 4.0], pa.float64()),
        }
    )
    data.db.catalog.create_table("sales.odd", t.schema).append(t)
    ours, theirs = data.db.table("sales.odd"), pl.from_arrow(t)
    got = ours.pivot('we"ird', index="my key", values="v", aggregate_function="sum").collect()
    expected = theirs.pivot(
        on='we"ird', index="my key", values="v", aggregate_function="sum", sort_columns=True
    )
    assert sorted(got.column_names) == sorted(expected.columns)
    assert rows(got.select(expected.columns)) == rows(expected)
    same(rows, ours.unpivot(["v"], index="my key"), theirs.unpivot(["v"], index="my key"))
    same(rows, ours.drop_nulls(), theirs.drop_nulls())
    r = ours.sql("SELECT 'self' AS word, count(*) AS n FROM self").to_pylist()
    assert r == [{"word": "self", "n": 4}]
