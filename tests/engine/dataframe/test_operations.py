"""Every DataFrame operation against the same query in SQL (db.sql) and in Polars on the same data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pytest

from engine.dataframe import col, concat_str, lit, when
from engine.dataframe import functions as F


@dataclass
class Case:
    id: str
    frame: Callable  # (orders, customers) -> DataFrame
    sql: str  # {o} = sales.orders, {c} = sales.customers
    polars: Callable  # (orders, customers) -> pl.DataFrame
    ordered: bool = False


o_cols = "id, amount, qty, region, cid, day, ts, note"

CASES = [
    # ---------------------------------------------------------------- projection
    Case(
        "select",
        lambda o, c: o.select("id", (col("amount") * 2).alias("a2"), "region"),
        "SELECT id, amount * 2 AS a2, region FROM {o}",
        lambda o, c: o.select("id", (pl.col("amount") * 2).alias("a2"), "region"),
    ),
    Case(
        "select_sql_snippets_and_kwargs",
        lambda o, c: o.select("id", "qty + 1 AS q1", q2=col("qty") * col("qty")),
        "SELECT id, qty + 1 AS q1, qty * qty AS q2 FROM {o}",
        lambda o, c: o.select("id", (pl.col("qty") + 1).alias("q1"), q2=pl.col("qty").cast(pl.Int64) ** 2),
    ),
    Case(
        "with_columns_replace_and_add",
        lambda o, c: o.with_columns(col("qty") + 100, big=col("amount") > 50).select("id", "qty", "big"),
        "SELECT id, qty + 100 AS qty, amount > 50 AS big FROM {o}",
        lambda o, c: o.with_columns(pl.col("qty") + 100, big=pl.col("amount") > 50).select(
            "id", "qty", "big"
        ),
    ),
    Case(
        "with_columns_on_derived_columns",
        lambda o, c: (
            o.with_columns(s=col("qty") + col("id"))
            .with_columns(t=col("s") * -1, u=col("s").is_null())
            .select("id", "s", "t", "u")
        ),
        "SELECT id, qty + id AS s, -(qty + id) AS t, (qty + id) IS NULL AS u FROM {o}",
        lambda o, c: (
            o.with_columns(s=pl.col("qty") + pl.col("id"))
            .with_columns(t=pl.col("s") * -1, u=pl.col("s").is_null())
            .select("id", "s", "t", "u")
        ),
    ),
    Case(
        "drop",
        lambda o, c: o.drop("note", "ts"),
        "SELECT id, amount, qty, region, cid, day FROM {o}",
        lambda o, c: o.drop("note", "ts"),
    ),
    Case(
        "rename",
        lambda o, c: o.rename({"id": "order_id"}, qty="quantity").select("order_id", "quantity"),
        "SELECT id AS order_id, qty AS quantity FROM {o}",
        lambda o, c: o.rename({"id": "order_id", "qty": "quantity"}).select("order_id", "quantity"),
    ),
    # ------------------------------------------------------------------- filters
    Case(
        "filter_expr",
        lambda o, c: o.filter((col("amount") > 50) & (col("region") == "eu")).select("id"),
        "SELECT id FROM {o} WHERE amount > 50 AND region = 'eu'",
        lambda o, c: o.filter((pl.col("amount") > 50) & (pl.col("region") == "eu")).select("id"),
    ),
    Case(
        "where_sql_text",
        lambda o, c: o.where("amount > 50 AND region = 'eu'").select("id"),
        "SELECT id FROM {o} WHERE amount > 50 AND region = 'eu'",
        lambda o, c: o.filter((pl.col("amount") > 50) & (pl.col("region") == "eu")).select("id"),
    ),
    Case(
        "filter_or_not_kwargs",
        lambda o, c: o.filter(~(col("qty") < 3) | col("region").is_null(), cid=5).select("id"),
        "SELECT id FROM {o} WHERE (NOT qty < 3 OR region IS NULL) AND cid = 5",
        lambda o, c: o.filter(~(pl.col("qty") < 3) | pl.col("region").is_null(), cid=5).select("id"),
    ),
    Case(
        "is_null_is_not_null",
        lambda o, c: o.select("id", n=col("amount").is_null(), nn=col("note").is_not_null()),
        "SELECT id, amount IS NULL AS n, note IS NOT NULL AS nn FROM {o}",
        lambda o, c: o.select("id", n=pl.col("amount").is_null(), nn=pl.col("note").is_not_null()),
    ),
    Case(
        "is_in_between",
        lambda o, c: o.filter(col("qty").is_in([1, 3]), col("id").between(20, 120)).select("id"),
        "SELECT id FROM {o} WHERE qty IN (1, 3) AND id BETWEEN 20 AND 120",
        lambda o, c: o.filter(pl.col("qty").is_in([1, 3]), pl.col("id").is_between(20, 120)).select("id"),
    ),
    Case(
        "when_then_otherwise_cast",
        lambda o, c: o.select(
            "id",
            size=when(col("amount") > 70)
            .then(lit("big"))
            .when(col("amount") > 30)
            .then(lit("mid"))
            .otherwise(lit("small")),
            q=col("qty").cast("DOUBLE") / 2,
            s=col("id").cast(str),
        ),
        "SELECT id, CASE WHEN amount > 70 THEN 'big' WHEN amount > 30 THEN 'mid' ELSE 'small' END AS size, "
        "CAST(qty AS DOUBLE) / 2 AS q, CAST(id AS VARCHAR) AS s FROM {o}",
        lambda o, c: o.select(
            "id",
            size=pl.when(pl.col("amount") > 70)
            .then(pl.lit("big"))
            .when(pl.col("amount") > 30)
            .then(pl.lit("mid"))
            .otherwise(pl.lit("small")),
            q=pl.col("qty").cast(pl.Float64) / 2,
            s=pl.col("id").cast(pl.String),
        ),
    ),
    Case(
        "arithmetic",
        lambda o, c: o.select(
            "id", a=col("qty") + col("id") * 2 - 1, b=col("amount") / (col("qty") + 1), c=-col("qty")
        ),
        "SELECT id, qty + id * 2 - 1 AS a, amount / (qty + 1) AS b, -qty AS c FROM {o}",
        lambda o, c: o.select(
            "id",
            a=pl.col("qty") + pl.col("id") * 2 - 1,
            b=pl.col("amount") / (pl.col("qty") + 1),
            c=-pl.col("qty"),
        ),
    ),
    # ------------------------------------------------------------------ functions
    Case(
        "strings",
        lambda o, c: o.select(
            "id",
            lo=col("note").str.to_lowercase(),
            up=col("region").str.upper(),
            has=col("note").str.contains("x+", literal=False),
            lit_has=col("note").str.contains("-1", literal=True),
            st=col("region").str.starts_with("e"),
            en=col("region").str.ends_with("s"),
            n=col("note").str.len_chars(),
            sl=col("note").str.slice(2, 4),
            rep=col("note").str.replace("x", "y"),
            rep_all=col("note").str.replace_all("x", "y", literal=True),
            strip=col("note").str.strip_chars(),
            cat=concat_str("region", col("qty").cast(str), separator="/"),
        ),
        "SELECT id, lower(note) AS lo, upper(region) AS up, regexp_matches(note, 'x+') AS has, "
        "contains(note, '-1') AS lit_has, starts_with(region, 'e') AS st, ends_with(region, 's') AS en, "
        "length(note) AS n, substring(note, 3, 4) AS sl, regexp_replace(note, 'x', 'y') AS rep, "
        "replace(note, 'x', 'y') AS rep_all, trim(note) AS strip, region || '/' || CAST(qty AS VARCHAR) AS cat "
        "FROM {o}",
        lambda o, c: o.select(
            "id",
            lo=pl.col("note").str.to_lowercase(),
            up=pl.col("region").str.to_uppercase(),
            has=pl.col("note").str.contains("x+"),
            lit_has=pl.col("note").str.contains("-1", literal=True),
            st=pl.col("region").str.starts_with("e"),
            en=pl.col("region").str.ends_with("s"),
            n=pl.col("note").str.len_chars(),
            sl=pl.col("note").str.slice(2, 4),
            rep=pl.col("note").str.replace("x", "y"),
            rep_all=pl.col("note").str.replace_all("x", "y", literal=True),
            strip=pl.col("note").str.strip_chars(),
            cat=pl.concat_str("region", pl.col("qty").cast(pl.String), separator="/"),
        ),
    ),
    Case(
        "dates",
        lambda o, c: o.select(
            "id",
            y=col("day").dt.year(),
            m=col("day").dt.month(),
            d=col("day").dt.day(),
            wd=col("day").dt.weekday(),
            h=col("ts").dt.hour(),
            mo=col("day").dt.truncate("1mo").cast("DATE"),
            txt=col("day").dt.strftime("%Y/%m/%d"),
        ),
        "SELECT id, year(day) AS y, month(day) AS m, day(day) AS d, isodow(day) AS wd, hour(ts) AS h, "
        "CAST(date_trunc('month', day) AS DATE) AS mo, strftime(day, '%Y/%m/%d') AS txt FROM {o}",
        lambda o, c: o.select(
            "id",
            y=pl.col("day").dt.year(),
            m=pl.col("day").dt.month(),
            d=pl.col("day").dt.day(),
            wd=pl.col("day").dt.weekday(),
            h=pl.col("ts").dt.hour(),
            mo=pl.col("day").dt.truncate("1mo"),
            txt=pl.col("day").dt.strftime("%Y/%m/%d"),
        ),
    ),
    Case(
        "math",
        lambda o, c: o.select(
            "id",
            a=(col("qty") - 3).abs(),
            r=(col("amount") / 3).round(2),
            fl=(col("amount") / 7).floor(),
            ce=(col("amount") / 7).ceil(),
            sq=col("qty").sqrt(),
            ex=col("qty").exp(),
            ln=(col("qty") + 1).log(),
            l10=(col("qty") + 1).log(10),
        ),
        "SELECT id, abs(qty - 3) AS a, round(amount / 3, 2) AS r, floor(amount / 7) AS fl, ceil(amount / 7) AS ce, "
        "sqrt(qty) AS sq, exp(qty) AS ex, ln(qty + 1) AS ln, log10(qty + 1) AS l10 FROM {o}",
        lambda o, c: o.select(
            "id",
            a=(pl.col("qty") - 3).abs(),
            r=(pl.col("amount") / 3).round(2),
            fl=(pl.col("amount") / 7).floor(),
            ce=(pl.col("amount") / 7).ceil(),
            sq=pl.col("qty").sqrt(),
            ex=pl.col("qty").exp(),
            ln=(pl.col("qty") + 1).log(),
            l10=(pl.col("qty") + 1).log(10),
        ),
    ),
    # ---------------------------------------------------------------- aggregation
    Case(
        "group_by_agg",
        lambda o, c: o.group_by("region").agg(
            col("amount").sum().alias("total"),
            col("amount").mean().alias("avg"),
            col("qty").min().alias("lo"),
            col("qty").max().alias("hi"),
            col("amount").count().alias("n_amount"),
            col("cid").count_distinct().alias("customers"),
            F.len(),
        ),
        "SELECT region, sum(amount) AS total, avg(amount) AS avg, min(qty) AS lo, max(qty) AS hi, "
        "count(amount) AS n_amount, count(DISTINCT cid) AS customers, count(*) AS len FROM {o} GROUP BY region",
        lambda o, c: o.group_by("region").agg(
            pl.col("amount").sum().alias("total"),
            pl.col("amount").mean().alias("avg"),
            pl.col("qty").min().alias("lo"),
            pl.col("qty").max().alias("hi"),
            pl.col("amount").count().alias("n_amount"),
            pl.col("cid").drop_nulls().n_unique().alias("customers"),
            pl.len(),
        ),
    ),
    Case(
        "group_by_expression_key_then_filter",
        lambda o, c: (
            o.group_by(col("day").dt.month().alias("m"), "qty").agg(n=F.count()).filter(col("n") > 10)
        ),
        "SELECT month(day) AS m, qty, count(*) AS n FROM {o} GROUP BY month(day), qty HAVING count(*) > 10",
        lambda o, c: (
            o.group_by(pl.col("day").dt.month().alias("m"), "qty").agg(n=pl.len()).filter(pl.col("n") > 10)
        ),
    ),
    Case(
        "global_agg",
        lambda o, c: o.agg(col("amount").max().alias("top"), col("id").count().alias("n")),
        "SELECT max(amount) AS top, count(id) AS n FROM {o}",
        lambda o, c: o.select(pl.col("amount").max().alias("top"), pl.col("id").count().alias("n")),
    ),
    Case(
        "select_only_aggregates",
        lambda o, c: o.select(col("qty").sum(), col("amount").min().alias("lo")),
        "SELECT sum(qty) AS qty, min(amount) AS lo FROM {o}",
        lambda o, c: o.select(pl.col("qty").sum(), pl.col("amount").min().alias("lo")),
    ),
    Case(
        "first_last_follow_sort",
        lambda o, c: (
            o.sort("id").group_by("region").agg(col("id").first().alias("f"), col("id").last().alias("l"))
        ),
        "SELECT region, first(id ORDER BY id) AS f, last(id ORDER BY id) AS l FROM {o} GROUP BY region",
        lambda o, c: (
            o.sort("id")
            .group_by("region")
            .agg(pl.col("id").first().alias("f"), pl.col("id").last().alias("l"))
        ),
    ),
    # ---------------------------------------------------------------------- joins
    Case(
        "join_inner",
        lambda o, c: o.join(c, on="cid").select("id", "cid", "name", "tier"),
        "SELECT o.id, o.cid, c.name, c.tier FROM {o} o JOIN {c} c ON o.cid = c.cid",
        lambda o, c: o.join(c, on="cid").select("id", "cid", "name", "tier"),
    ),
    Case(
        "join_left",
        lambda o, c: o.join(c, on="cid", how="left").select("id", "cid", "name"),
        "SELECT o.id, o.cid, c.name FROM {o} o LEFT JOIN {c} c ON o.cid = c.cid",
        lambda o, c: o.join(c, on="cid", how="left").select("id", "cid", "name"),
    ),
    Case(
        "join_right",
        lambda o, c: o.filter(col("id") < 40).join(c, on="cid", how="right").select("id", "cid", "name"),
        "SELECT o.id, coalesce(o.cid, c.cid) AS cid, c.name FROM (SELECT * FROM {o} WHERE id < 40) o "
        "RIGHT JOIN {c} c ON o.cid = c.cid",
        lambda o, c: o.filter(pl.col("id") < 40).join(c, on="cid", how="right").select("id", "cid", "name"),
    ),
    Case(
        "join_full",
        lambda o, c: (
            o.filter(col("id") < 40).join(c, on="cid", how="full").select("id", "cid", "cid_right", "name")
        ),
        "SELECT o.id, o.cid, c.cid AS cid_right, c.name FROM (SELECT * FROM {o} WHERE id < 40) o "
        "FULL JOIN {c} c ON o.cid = c.cid",
        lambda o, c: (
            o.filter(pl.col("id") < 40).join(c, on="cid", how="full").select("id", "cid", "cid_right", "name")
        ),
    ),
    Case(
        "join_semi_anti",
        lambda o, c: (
            o.join(c.filter(col("tier") == 1), on="cid", how="semi")
            .select("id")
            .union_all(o.join(c, on="cid", how="anti").select((col("id") * -1).alias("id")))
        ),
        "SELECT id FROM {o} WHERE cid IN (SELECT cid FROM {c} WHERE tier = 1) UNION ALL "
        "SELECT -id FROM {o} o WHERE NOT EXISTS (SELECT 1 FROM {c} c WHERE c.cid = o.cid)",
        lambda o, c: pl.concat(
            [
                o.join(c.filter(pl.col("tier") == 1), on="cid", how="semi").select("id"),
                o.join(c, on="cid", how="anti").select(pl.col("id") * -1),
            ]
        ),
    ),
    Case(
        "join_left_on_right_on_suffix",
        lambda o, c: o.join(c.rename(cid="key", tier="qty"), left_on="cid", right_on="key").select(
            "id", "qty", "qty_right"
        ),
        "SELECT o.id, o.qty, c.tier AS qty_right FROM {o} o JOIN {c} c ON o.cid = c.cid",
        lambda o, c: o.join(c.rename({"cid": "key", "tier": "qty"}), left_on="cid", right_on="key").select(
            "id", "qty", "qty_right"
        ),
    ),
    Case(
        "join_cross",
        lambda o, c: o.filter(col("id") < 3).select("id").join(c.select("tier").distinct(), how="cross"),
        "SELECT o.id, t.tier FROM (SELECT id FROM {o} WHERE id < 3) o CROSS JOIN (SELECT DISTINCT tier FROM {c}) t",
        lambda o, c: o.filter(pl.col("id") < 3).select("id").join(c.select("tier").unique(), how="cross"),
    ),
    # --------------------------------------------------------- order, limit, set ops
    Case(
        "order_by_desc_nulls_last",
        lambda o, c: o.sort("region", "id", descending=[True, False], nulls_last=True).select("region", "id"),
        "SELECT region, id FROM {o} ORDER BY region DESC NULLS LAST, id ASC",
        lambda o, c: o.sort("region", "id", descending=[True, False], nulls_last=True).select("region", "id"),
        ordered=True,
    ),
    Case(
        "order_by_nulls_first_default",
        lambda o, c: o.order_by("amount", "id").select("amount", "id"),
        "SELECT amount, id FROM {o} ORDER BY amount NULLS FIRST, id",
        lambda o, c: o.sort("amount", "id").select("amount", "id"),
        ordered=True,
    ),
    Case(
        "sort_limit_offset",
        lambda o, c: (
            o.sort("amount", descending=True, nulls_last=True).limit(5, offset=2).select("id", "amount")
        ),
        "SELECT id, amount FROM {o} ORDER BY amount DESC NULLS LAST, id LIMIT 5 OFFSET 2",
        lambda o, c: o.sort("amount", descending=True, nulls_last=True).slice(2, 5).select("id", "amount"),
        ordered=True,
    ),
    Case(
        "head_then_filter_keeps_order",
        lambda o, c: o.sort("id", descending=True).head(10).filter(col("qty") > 2).select("id"),
        "SELECT id FROM (SELECT * FROM {o} ORDER BY id DESC LIMIT 10) WHERE qty > 2 ORDER BY id DESC",
        lambda o, c: o.sort("id", descending=True).head(10).filter(pl.col("qty") > 2).select("id"),
        ordered=True,
    ),
    Case(
        "distinct",
        lambda o, c: o.select("region", "qty").distinct(),
        "SELECT DISTINCT region, qty FROM {o}",
        lambda o, c: o.select("region", "qty").unique(),
    ),
    Case(
        "union_and_union_all",
        lambda o, c: (
            o.select("qty").union(c.select(col("tier").alias("qty"))).union_all(c.select(qty="tier"))
        ),
        "(SELECT qty FROM {o} UNION SELECT tier FROM {c}) UNION ALL SELECT tier FROM {c}",
        lambda o, c: pl.concat(
            [
                pl.concat([o.select("qty"), c.select(pl.col("tier").alias("qty"))]).unique(),
                c.select(qty="tier"),
            ]
        ),
    ),
    Case(
        "union_of_sorted_limited_frames",
        lambda o, c: (
            o.sort("id").limit(3).select("id").union_all(o.sort("id", descending=True).limit(2).select("id"))
        ),
        "(SELECT id FROM {o} ORDER BY id LIMIT 3) UNION ALL (SELECT id FROM {o} ORDER BY id DESC LIMIT 2)",
        lambda o, c: pl.concat(
            [o.sort("id").head(3).select("id"), o.sort("id", descending=True).head(2).select("id")]
        ),
    ),
    Case(
        "union_matches_columns_by_name",
        lambda o, c: o.select("id", "qty").union_all(o.select("qty", "id")),
        "SELECT id, qty FROM {o} UNION ALL SELECT id, qty FROM {o}",
        lambda o, c: pl.concat([o.select("id", "qty"), o.select("id", "qty")]),
    ),
    # -------------------------------------------------------------------- windows
    Case(
        "window_partition_aggregate_and_broadcast",
        lambda o, c: o.select(
            "id",
            reg=col("amount").sum().over("region"),
            share=col("qty") / col("qty").sum(),
            n=F.count().over("qty"),
        ),
        "SELECT id, sum(amount) OVER (PARTITION BY region) AS reg, qty / sum(qty) OVER () AS share, "
        "count(*) OVER (PARTITION BY qty) AS n FROM {o}",
        lambda o, c: o.select(
            "id",
            reg=pl.col("amount").sum().over("region"),
            share=pl.col("qty") / pl.col("qty").sum(),
            n=pl.len().over("qty"),
        ),
    ),
    Case(
        "window_row_number_shift_then_filter",
        lambda o, c: (
            o.with_columns(
                rn=F.row_number().over("region", order_by="id"),
                prev=col("id").shift(1).over("region", order_by="id"),
            )
            .filter(col("rn") <= 3)
            .select("region", "id", "rn", "prev")
        ),
        "SELECT region, id, rn, prev FROM (SELECT *, row_number() OVER (PARTITION BY region ORDER BY id) AS rn, "
        "lag(id, 1) OVER (PARTITION BY region ORDER BY id) AS prev FROM {o}) WHERE rn <= 3",
        lambda o, c: (
            o.sort("id")
            .with_columns(
                rn=pl.int_range(1, pl.len() + 1).over("region"),
                prev=pl.col("id").shift(1).over("region"),
            )
            .filter(pl.col("rn") <= 3)
            .select("region", "id", pl.col("rn").cast(pl.Int64), "prev")
        ),
    ),
    Case(
        "filter_on_window_expression",
        lambda o, c: o.filter(col("amount") > col("amount").mean().over("region")).select("id"),
        "SELECT id FROM (SELECT *, avg(amount) OVER (PARTITION BY region) AS m FROM {o}) WHERE amount > m",
        lambda o, c: o.filter(pl.col("amount") > pl.col("amount").mean().over("region")).select("id"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_operation_matches_sql_and_polars(data, case, rows):
    db = data.db
    frame = case.frame(db.table("sales.orders"), db.table("sales.customers"))
    got = frame.collect()
    sql = db.sql(case.sql.format(o="sales.orders", c="sales.customers")).to_arrow()
    expected = case.polars(data.orders, data.customers)
    assert got.column_names == expected.columns
    assert rows(got, case.ordered) == rows(sql, case.ordered)
    assert rows(got, case.ordered) == rows(expected, case.ordered)
    assert got.num_rows > 0


def test_time_travel_matches_sql_and_polars(data, rows):
    db = data.db
    old = db.table("sales.orders", version=1).filter(col("qty") > 3).select("id", "qty")
    sql = db.sql("SELECT id, qty FROM sales.orders VERSION AS OF 1 WHERE qty > 3").to_arrow()
    expected = data.orders_v1.filter(pl.col("qty") > 3).select("id", "qty")
    assert rows(old.collect()) == rows(sql) == rows(expected)
