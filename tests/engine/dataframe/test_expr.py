"""Expressions and Polars-predicate translation, without a session."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engine.dataframe import col, lit, sql_expr, when
from engine.dataframe.polars_predicate import to_sql


def test_operators_build_sql_with_the_right_precedence():
    e = ((col("a") + 1) * col("b") > 10) & ((col("c") == "x") | ~col("d").is_null())
    assert e.sql() == "((a + 1) * b) > 10 AND (c = 'x' OR NOT (d IS NULL))"
    assert (1 - col("a")).sql() == "1 - a"
    assert col("select").sql() == '"select"' and col("Mixed").sql() == '"Mixed"'


def test_output_names_follow_polars():
    assert (col("a") * 2).output_name == "a"
    assert (col("a") * 2).alias("b").output_name == "b"
    assert (2 * col("a")).output_name == "literal"
    assert col("x").sum().over("g").output_name == "x"
    assert when(col("a") > 1).then(col("b")).otherwise(0).output_name == "b"
    assert sql_expr("a + 1 AS c").output_name == "c" and sql_expr("a + 1").output_name == "a + 1"


def test_literals_are_typed_like_polars():
    assert lit(1.5).sql() == "CAST(1.5 AS DOUBLE)"
    assert lit(dt.date(2024, 1, 2)).sql() == "CAST('2024-01-02' AS DATE)"
    assert lit(None).sql() == "NULL" and lit(True).sql() == "TRUE"
    assert lit(3, dtype="SMALLINT").sql() == "CAST(3 AS SMALLINT)"
    assert col("a").cast(pl.Int32).sql() == "CAST(a AS INT)"
    with pytest.raises(TypeError):
        lit(object())


def test_is_in_between_and_windows():
    assert col("a").is_in([]).sql() == "FALSE"
    assert col("a").is_between(1, 5, closed="left").sql() == "a >= 1 AND a < 5"
    w = col("x").sum().over(["g", "h"], order_by="t", descending=True, nulls_last=True)
    assert w.sql() == "SUM(x) OVER (PARTITION BY g, h ORDER BY t DESC)"


@pytest.mark.parametrize(
    "pred, sql",
    [
        (pl.col("a") > 5, "a > 5"),
        ((pl.col("a") >= 1) & (pl.col("b") == "x"), "a >= 1 AND b = 'x'"),
        (pl.col("a").is_in([1, None, 3]), "a IN (1, 3)"),
        (pl.col("a").is_null() | (pl.col("f") < 2.5), "a IS NULL OR f < CAST(2.5 AS DOUBLE)"),
        (pl.col("d") == dt.date(2024, 1, 1), "d = CAST('2024-01-01' AS DATE)"),
        (
            pl.col("t") < dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            "t < CAST('2024-01-02 00:00:00+00:00' AS TIMESTAMPTZ)",
        ),
        ((pl.col("a") + 1 > 2) & (pl.col("b") == "y"), "b = 'y'"),  # the arithmetic conjunct is dropped
        ((pl.col("a") + 1 > 2) | (pl.col("b") == "y"), None),  # a partial OR would lose rows
        (~(pl.col("a") * 2 > 1), None),
    ],
)
def test_polars_predicates_translate_only_when_safe(pred, sql):
    assert to_sql(pred) == sql
