"""DataFrame behaviour: laziness, immutability, errors at build time, terminal calls, writes."""

from __future__ import annotations

import pyarrow as pa
import pytest

import engine
from engine.dataframe import DataFrame, col, from_sql, lit
from lakehouse.errors import LakehouseError, SqlError, TableAlreadyExists, TableNotFound, UnsupportedFeature


@pytest.fixture
def db(tmp_path):
    s = engine.connect(str(tmp_path / "wh"))
    s.sql("CREATE SCHEMA shop")
    s.sql("CREATE TABLE shop.items (id BIGINT, price DOUBLE, kind VARCHAR)")
    s.sql("INSERT INTO shop.items VALUES (1, 2.5, 'a'), (2, 10.0, 'b'), (3, 7.5, 'a')")
    s.sql("INSERT INTO shop.items VALUES (4, 1.0, 'c'), (5, NULL, 'b')")
    yield s
    s.close()


def test_methods_return_new_frames_and_nothing_runs(db):
    items = db.table("shop.items")
    filtered = items.filter(col("price") > 2)
    assert isinstance(filtered, DataFrame) and filtered is not items
    assert items.columns == ["id", "price", "kind"]
    assert items.count() == 5 and filtered.count() == 3
    db.sql("DELETE FROM shop.items WHERE id < 3")  # frames keep reading their pinned snapshot
    assert filtered.select("id").to_pylist() == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_engine_exports_col_and_lit(db):
    assert engine.col is col or engine.col("x").sql() == col("x").sql()
    assert engine.lit(3).sql() == lit(3).sql()
    assert isinstance(db.table("shop.items"), engine.DataFrame)


@pytest.mark.parametrize(
    "build",
    [
        lambda t: t.select("prcie"),
        lambda t: t.filter(col("prcie") > 1),
        lambda t: t.filter("prcie > 1"),
        lambda t: t.with_columns(double=col("prcie") * 2),
        lambda t: t.group_by("prcie"),
        lambda t: t.group_by("kind").agg(col("prcie").sum()),
        lambda t: t.order_by("prcie"),
        lambda t: t.drop("prcie"),
        lambda t: t.rename(prcie="p"),
        lambda t: t.join(t, on="prcie"),
    ],
)
def test_unknown_column_fails_at_the_call_naming_it(db, build):
    with pytest.raises(SqlError) as e:
        build(db.table("shop.items"))
    msg = str(e.value)
    assert "'prcie'" in msg and "did you mean `price`" in msg and "id, price, kind" in msg


def test_unknown_table_and_version(db):
    with pytest.raises(LakehouseError, match="itemz"):
        db.table("shop.itemz")
    with pytest.raises(LakehouseError):
        db.table("shop.items", version=99)
    assert isinstance(TableNotFound("x"), LakehouseError)


def test_misuse_errors_are_clear(db):
    t = db.table("shop.items")
    with pytest.raises(TypeError, match="& | ~"):
        bool(col("a") > 1)
    with pytest.raises(SqlError, match="not an aggregate"):
        t.group_by("kind").agg(col("price"))
    with pytest.raises(SqlError, match="aggregate"):
        t.filter(col("price").sum() > 1)
    with pytest.raises(SqlError, match="two columns named 'id'"):
        t.select("id", col("price").alias("id"))
    with pytest.raises(SqlError, match="same columns"):
        t.union(t.select("id"))
    with pytest.raises(ValueError, match="how="):
        t.join(t, on="id", how="sideways")
    with pytest.raises(SqlError, match="cannot parse"):
        t.filter("price >>> 1")


def test_column_names_are_case_insensitive_like_sql(db):
    assert db.table("shop.items").filter("PRICE > 5").select("ID").to_pylist() == [{"id": 2}, {"id": 3}]


def test_to_batches_streams_while_the_session_is_used(db):
    t = db.table("shop.items")
    reader = t.to_batches(batch_size=2)
    first = reader.read_next_batch()
    assert db.sql("SELECT count(*) FROM shop.items").fetchone() == (5,)  # the session is not blocked
    rest = list(reader)
    assert first.num_rows + sum(b.num_rows for b in rest) == 5


def test_arrow_c_stream_pandas_polars_show(db, capsys):
    t = db.table("shop.items").order_by("id")
    assert pa.table(t).column("id").to_pylist() == [1, 2, 3, 4, 5]
    assert t.to_pandas()["kind"].tolist() == ["a", "b", "a", "c", "b"]
    assert t.to_polars()["price"].to_list() == [2.5, 10.0, 7.5, 1.0, None]
    t.show(2)
    out = capsys.readouterr().out
    assert "kind" in out and "10" in out and "7.5" not in out
    assert t.schema.field("price").type == pa.float64()


def test_sql_text_round_trips_through_db_sql(db):
    t = (
        db.table("shop.items", version=1)
        .filter(col("price") > 2)
        .select("id", (col("price") * 2).alias("p2"))
    )
    assert "VERSION AS OF 1" in t.sql()
    assert db.sql(t.sql()).to_arrow() == t.collect()


def test_from_sql_frame_composes(db):
    frame = from_sql(db, "SELECT kind, count(*) AS n FROM shop.items GROUP BY kind")
    got = frame.filter(col("n") > 1).order_by("kind").to_pylist()
    assert got == [{"kind": "a", "n": 2}, {"kind": "b", "n": 2}]
    joined = db.table("shop.items").join(frame, on="kind").filter(col("n") == 1).select("id")
    assert joined.to_pylist() == [{"id": 4}]


def test_write_table_modes(db):
    t = db.table("shop.items").filter(col("price") > 2).with_columns(tag=lit("x"))
    v = t.write_table("shop.expensive")
    assert v == 1  # created (version 0) then filled
    assert db.sql("SELECT count(*) FROM shop.expensive").fetchone() == (3,)
    with pytest.raises(TableAlreadyExists):
        t.write_table("shop.expensive")
    t.write_table("shop.expensive", mode="append")
    assert db.sql("SELECT count(*) FROM shop.expensive").fetchone() == (6,)
    db.table("shop.expensive").filter(col("id") == 1).write_table("shop.expensive", mode="overwrite")
    assert db.sql("SELECT id, tag FROM shop.expensive").fetchall() == [(1, "x"), (1, "x")]
    t.drop("tag").write_table("cheap_copy", mode="overwrite")  # one-part names live in main
    assert db.table("main.cheap_copy").count() == 3


def test_write_table_partitioned_and_schema_checks(db):
    db.table("shop.items").write_table("shop.parts", partition_by=["kind"])
    assert db.catalog.load_table("shop.parts").snapshot().partition_columns == ["kind"]
    with pytest.raises(LakehouseError, match="extra"):
        db.table("shop.items").with_columns(extra=lit(1)).write_table("shop.parts", mode="append")
    db.table("shop.items").with_columns(extra=lit(1)).write_table(
        "shop.parts", mode="append", schema_mode="merge"
    )
    assert "extra" in db.table("shop.parts").columns


def test_ml_delegation_needs_a_plain_scan(db):
    t = db.table("shop.items").filter(col("price") > 2).select("id", "price")
    batches = list(t.iter_batches(batch_size=2, format="arrow"))
    assert sum(b.num_rows for b in batches) == 3
    assert sorted(x for b in batches for x in b.column(0).to_pylist()) == [1, 2, 3]
    with pytest.raises(UnsupportedFeature, match="write_table"):
        t.group_by("id").agg(col("price").sum()).iter_batches()
