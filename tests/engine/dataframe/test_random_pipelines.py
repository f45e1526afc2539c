"""Hypothesis: random pipelines (filter/select/with_columns/group_by/join/sort/limit/distinct) give the
same rows as the same pipeline in Polars on the same data."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.dataframe import col
from engine.dataframe import functions as F

START = {"id": "int", "amount": "float", "qty": "int", "region": "str", "cid": "int", "note": "str"}
CMP = ["<", "<=", ">", ">=", "==", "!="]


def compare(a, op, v):
    return {"<": a < v, "<=": a <= v, ">": a > v, ">=": a >= v, "==": a == v, "!=": a != v}[op]


class Pipeline:
    """The same steps applied to our DataFrame and to a Polars LazyFrame."""

    def __init__(self, ours, theirs, customers_ours, customers_pl):
        self.ours, self.theirs = ours, theirs
        self.kinds = dict(START)
        self.cust_ours, self.cust_pl = customers_ours, customers_pl
        self.ordered = False
        self.steps: list[str] = []
        self.n = 0

    def cols(self, kind=None):
        return [c for c, k in self.kinds.items() if kind is None or k in kind]

    def step(self, draw):
        ops = ["filter", "select", "with_columns", "group_by", "join", "sort_limit", "distinct", "nulls"]
        op = draw(st.sampled_from(ops))
        getattr(self, op)(draw)

    def filter(self, draw):
        c = draw(st.sampled_from(self.cols()))
        if self.kinds[c] == "str":
            test = draw(st.sampled_from(["==", "!=", "null", "not null"]))
            if test == "null":
                self.ours, self.theirs = (
                    self.ours.filter(col(c).is_null()),
                    self.theirs.filter(pl.col(c).is_null()),
                )
            elif test == "not null":
                self.ours = self.ours.filter(col(c).is_not_null())
                self.theirs = self.theirs.filter(pl.col(c).is_not_null())
            else:
                v = draw(st.sampled_from(["eu", "us", "apac", "c3", "zz"]))
                self.ours = self.ours.filter(compare(col(c), test, v))
                self.theirs = self.theirs.filter(compare(pl.col(c), test, v))
            self.steps.append(f"filter {c} {test}")
            return
        op = draw(st.sampled_from(CMP))
        v = draw(st.integers(-5, 300))
        self.ours = self.ours.filter(compare(col(c), op, v))
        self.theirs = self.theirs.filter(compare(pl.col(c), op, v))
        self.steps.append(f"filter {c} {op} {v}")

    def select(self, draw):
        names = self.cols()
        keep = [c for c in names if draw(st.booleans())] or [names[0]]
        self.ours, self.theirs = self.ours.select(*keep), self.theirs.select(*keep)
        self.kinds = {c: self.kinds[c] for c in keep}
        self.steps.append(f"select {keep}")

    def with_columns(self, draw):
        ints = self.cols({"int"})
        self.n += 1
        name = f"w{self.n}"
        if len(ints) >= 1 and draw(st.booleans()):
            a, b = draw(st.sampled_from(ints)), draw(st.sampled_from(ints))
            sign = draw(st.sampled_from([1, -1]))
            self.ours = self.ours.with_columns((col(a) + col(b) * sign).alias(name))
            self.theirs = self.theirs.with_columns(
                (pl.col(a).cast(pl.Int64) + pl.col(b).cast(pl.Int64) * sign).alias(name)
            )
            self.kinds[name] = "int"
        else:
            c = draw(st.sampled_from(self.cols()))
            self.ours = self.ours.with_columns(col(c).is_null().alias(name))
            self.theirs = self.theirs.with_columns(pl.col(c).is_null().alias(name))
            self.kinds[name] = "bool"
        self.steps.append(f"with_columns {name}")

    def group_by(self, draw):
        key = draw(st.sampled_from(self.cols()))
        self.n += 1
        n = f"n{self.n}"
        ours, theirs, kinds = [F.len().alias(n)], [pl.len().alias(n)], {key: self.kinds[key], n: "int"}
        for c in self.cols({"int", "float"}):
            if c == key or not draw(st.booleans()):
                continue
            agg = draw(st.sampled_from(["min", "max"] + (["sum"] if self.kinds[c] == "int" else [])))
            ours.append(getattr(col(c), agg)().alias(f"{c}_{agg}"))
            expr = getattr(pl.col(c), agg)()
            if agg == "sum":  # SQL's SUM of no values is NULL, Polars' is 0
                expr = pl.when(pl.col(c).count() > 0).then(expr)
            theirs.append(expr.alias(f"{c}_{agg}"))
            kinds[f"{c}_{agg}"] = self.kinds[c]
        self.ours = self.ours.group_by(key).agg(*ours)
        self.theirs = self.theirs.group_by(key).agg(*theirs)
        self.kinds, self.ordered = kinds, False
        self.steps.append(f"group_by {key}")

    def join(self, draw):
        ints = self.cols({"int"})
        if not ints:
            return
        left = draw(st.sampled_from(ints))
        how = draw(st.sampled_from(["inner", "left", "semi", "anti"]))
        self.n += 1
        k, name, tier = f"k{self.n}", f"name{self.n}", f"tier{self.n}"
        right_ours = self.cust_ours.rename(cid=k, name=name, tier=tier)
        dtype = self.theirs.collect_schema()[left]
        right_pl = self.cust_pl.rename({"cid": k, "name": name, "tier": tier}).with_columns(
            pl.col(k).cast(dtype)
        )
        self.ours = self.ours.join(right_ours, left_on=left, right_on=k, how=how)
        self.theirs = self.theirs.join(right_pl.lazy(), left_on=left, right_on=k, how=how)
        if how in ("inner", "left"):
            self.kinds.update({name: "str", tier: "int"})
        self.ordered = False
        self.steps.append(f"join {how} on {left}")

    def sort_limit(self, draw):
        names = self.cols()
        desc = [draw(st.booleans()) for _ in names]
        self.ours = self.ours.sort(*names, descending=desc, nulls_last=True)
        self.theirs = self.theirs.sort(*names, descending=desc, nulls_last=True)
        if draw(st.booleans()):
            n = draw(st.integers(0, 25))
            self.ours, self.theirs = self.ours.limit(n), self.theirs.head(n)
        self.ordered = True
        self.steps.append(f"sort {names} {desc}")

    def nulls(self, draw):
        """drop_nulls (all columns or a subset) or a frame-wide fill_null with a number or a string."""
        if draw(st.booleans()):
            subset = [c for c in self.cols() if draw(st.booleans())] or None
            self.ours, self.theirs = self.ours.drop_nulls(subset), self.theirs.drop_nulls(subset)
            self.steps.append(f"drop_nulls {subset}")
            return
        value = draw(st.sampled_from([0, -1, 2.5, "zz"]))
        self.ours, self.theirs = self.ours.fill_null(value), self.theirs.fill_null(value)
        if isinstance(value, float):
            self.kinds = {c: "float" if k == "int" else k for c, k in self.kinds.items()}
        self.steps.append(f"fill_null {value!r}")

    def distinct(self, draw):
        self.ours, self.theirs = self.ours.distinct(), self.theirs.unique()
        self.ordered = False
        self.steps.append("distinct")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_pipeline_matches_polars(data, rows, hyp):
    draw = hyp.draw
    db = data.db
    start = list(START)
    p = Pipeline(
        db.table("sales.orders").select(*start),
        data.orders.lazy().select(*start),
        db.table("sales.customers"),
        data.customers,
    )
    for _ in range(draw(st.integers(1, 6))):
        try:
            p.step(draw)
        except Exception as e:
            raise AssertionError(f"building {p.steps}: {e}") from e
    try:
        got = p.ours.collect()
    except Exception as e:
        raise AssertionError(f"running {p.steps}: {e}\n{p.ours.sql()}") from e
    expected = p.theirs.collect()
    assert got.column_names == expected.columns, p.steps
    assert rows(got, p.ordered) == rows(expected, p.ordered), p.steps
