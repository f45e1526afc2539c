"""DataFrames get the SQL engine's pruning: EXPLAIN parity, Polars LazyFrame pushdown, pinned snapshots."""

from __future__ import annotations

import polars as pl
import pytest

import lakehouse.reader
from engine.dataframe import col, from_sql


def scan_section(text: str) -> str:
    return text.split("DuckDB plan")[0]


@pytest.mark.parametrize(
    "build, sql",
    [
        (
            lambda o, c: o.filter(col("id") >= 260).select("id", "amount"),
            "SELECT id, amount FROM sales.orders WHERE id >= 260",
        ),
        (
            lambda o, c: o.filter("day < DATE '2024-01-04'", col("qty").is_in([1, 2])),
            "SELECT * FROM sales.orders WHERE day < DATE '2024-01-04' AND qty IN (1, 2)",
        ),
        (
            lambda o, c: o.with_columns(double=col("amount") * 2).filter(col("id").between(60, 90)),
            "SELECT *, amount * 2 AS double FROM sales.orders WHERE id BETWEEN 60 AND 90",
        ),
        (
            lambda o, c: o.join(c, on="cid").filter(col("id") < 30, col("tier") == 1),
            "SELECT * FROM sales.orders JOIN sales.customers ON orders.cid = customers.cid "
            "WHERE orders.id < 30 AND customers.tier = 1",
        ),
        (
            lambda o, c: o.filter(col("id") > 280).group_by("region").agg(col("amount").sum()),
            "SELECT region, sum(amount) FROM sales.orders WHERE id > 280 GROUP BY region",
        ),
    ],
    ids=["filter", "sql-text-and-is-in", "after-with-columns", "after-join", "before-group-by"],
)
def test_explain_skips_the_same_files_as_sql(data, build, sql):
    db = data.db
    frame = build(db.table("sales.orders"), db.table("sales.customers"))
    mine = scan_section(frame.explain())
    theirs = scan_section(db.sql("EXPLAIN " + sql).message)
    assert mine == theirs
    assert "skipped 0," not in mine.split("\n")[1]  # the orders table really is pruned


def test_explain_of_unfiltered_frame_scans_everything(data):
    text = data.db.table("sales.orders").explain()
    assert "files total 6, scanned 6, skipped 0" in text


@pytest.fixture
def files_read(monkeypatch):
    """Counts data files read through lakehouse.reader.read_file (the Polars LazyFrame path)."""
    calls = []
    original = lakehouse.reader.read_file

    def counting(snapshot, index, *args, **kwargs):
        calls.append(index)
        return original(snapshot, index, *args, **kwargs)

    monkeypatch.setattr(lakehouse.reader, "read_file", counting)
    return calls


def test_polars_lazy_filter_reads_fewer_files(data, files_read, rows):
    lf = data.db.table("sales.orders").to_polars(lazy=True)
    everything = lf.collect()
    all_files = len(files_read)
    files_read.clear()
    got = lf.filter((pl.col("id") >= 100) & (pl.col("id") < 150)).select("id", "amount").collect()
    assert all_files == 6
    assert len(files_read) == 1 < all_files
    expected = data.orders.filter((pl.col("id") >= 100) & (pl.col("id") < 150)).select("id", "amount")
    assert rows(got) == rows(expected)
    assert rows(everything) == rows(data.orders)


def test_polars_lazy_untranslatable_predicate_is_still_correct(data, files_read, rows):
    lf = data.db.table("sales.orders").to_polars(lazy=True)
    pred = ((pl.col("id") * 2) > 500) & (pl.col("note").str.contains("Item-1"))
    got = lf.filter(pred).select("id").collect()
    assert rows(got) == rows(data.orders.filter(pred).select("id"))
    assert len(files_read) == 6


def test_polars_lazy_pushdown_combines_with_frame_filter(data, files_read, rows):
    frame = data.db.table("sales.orders").filter(col("day") >= "2024-01-10")
    got = frame.to_polars(lazy=True).filter(pl.col("qty") == 3, pl.col("id") < 250).collect()
    expected = data.orders.filter(
        pl.col("day") >= pl.date(2024, 1, 10), pl.col("qty") == 3, pl.col("id") < 250
    )
    assert rows(got) == rows(expected)
    assert 0 < len(files_read) < 6


def test_polars_lazy_over_a_join_and_head(data, rows):
    db = data.db
    lf = db.table("sales.orders").join(db.table("sales.customers"), on="cid").to_polars(lazy=True)
    got = lf.filter(pl.col("tier") == 2).select("id", "name").collect()
    expected = data.orders.join(data.customers, on="cid").filter(pl.col("tier") == 2).select("id", "name")
    assert rows(got) == rows(expected)
    assert lf.head(7).collect().height == 7


def test_frame_is_pinned_when_created(data, tmp_path, rows):
    import engine

    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE t (x BIGINT)")
    db.sql("INSERT INTO t VALUES (1), (2)")
    frame = db.table("t").filter(col("x") > 0)
    lazy = frame.to_polars(lazy=True)
    db.sql("INSERT INTO t VALUES (3)")
    assert frame.count() == 2
    assert lazy.collect().height == 2
    assert db.table("t").count() == 3
    assert db.table("t", version=1).count() == 2
    sql_frame = from_sql(db, "SELECT x FROM t WHERE x > ?", [1])
    db.sql("INSERT INTO t VALUES (4)")
    assert rows(sql_frame.collect()) == [(2,), (3,)]
    db.close()


def test_scan_spec_of_plain_scans_only(data):
    db = data.db
    o = db.table("sales.orders", version=2)
    name, snapshot, columns, where = o.filter(col("id") < 10).select("id", "qty").scan_spec()
    assert (name, snapshot.version, columns) == ("sales.orders", 2, ["id", "qty"])
    assert snapshot.scan(where=where).files_skipped == 1
    assert o.scan_spec()[3] is None
    assert o.select((col("id") + 1).alias("id")).scan_spec() is None
    assert o.rename(id="x").scan_spec() is None
    assert o.limit(3).scan_spec() is None
    assert o.join(db.table("sales.customers"), on="cid").scan_spec() is None
