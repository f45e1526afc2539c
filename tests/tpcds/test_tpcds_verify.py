"""compare_results: each rule, and that real differences are reported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from tpcds.verify import compare_query_results, compare_results


def t(**cols) -> pa.Table:
    return pa.table(cols)


def dec(values, precision=10, scale=2) -> pa.Array:
    return pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(precision, scale))


def test_identical_and_names_ignored():
    a = t(x=[1, 2, 3], y=["a", "b", None])
    assert compare_results(a, a, ordered=True) == (True, "ok")
    assert compare_results(a, t(p=[1, 2, 3], q=["a", "b", None]), ordered=True) == (True, "ok")


def test_order_matters_only_when_ordered():
    a = t(x=[1, 2, 3], y=["a", "b", "c"])
    b = t(x=[3, 1, 2], y=["c", "a", "b"])
    assert compare_results(b, a, ordered=False)[0]
    ok, message = compare_results(b, a, ordered=True)
    assert not ok
    assert message.startswith("row 1 differs in column 1 (x): ours 3, expected 1")


def test_multiset_counts_duplicates():
    ok, message = compare_results(t(x=[1, 1, 2]), t(x=[1, 2, 2]), ordered=False)
    assert not ok
    assert (
        "1 row(s) of ours not in expected" in message and "first missing row (expected row 3) (2)" in message
    )


def test_row_count_and_column_count():
    ok, message = compare_results(t(x=[1, 2]), t(x=[1, 2, 3]), ordered=True)
    assert not ok and message.startswith("row count differs: ours 2, expected 3")
    ok, message = compare_results(t(x=[1]), t(x=[1], y=[2]), ordered=False)
    assert not ok and "column count differs" in message


def test_float_tolerance():
    base = t(v=[1.0, 1e6, 0.0, -3.5])
    close = t(v=[1.0 + 1e-12, 1e6 * (1 + 5e-10), 1e-15, -3.5])
    assert compare_results(close, base, ordered=True)[0]
    ok, message = compare_results(t(v=[1.0, 1e6 * (1 + 1e-7), 0.0, -3.5]), base, ordered=True)
    assert not ok and "row 2 differs" in message
    assert not compare_results(t(v=[1.0, 1e6, 1e-6, -3.5]), base, ordered=True)[0]  # absolute tol is tiny
    nan = float("nan")
    assert compare_results(t(v=[nan, 1.0]), t(v=[1.0, nan]), ordered=False)[0]


def test_floats_in_unordered_rows_with_equal_exact_parts():
    a = t(k=["a", "a", "a"], v=[2.0 + 1e-12, 1.0, 3.0 - 1e-12])
    b = t(k=["a", "a", "a"], v=[3.0, 2.0, 1.0])
    assert compare_results(a, b, ordered=False)[0]
    assert not compare_results(t(k=["a", "a", "a"], v=[2.0, 1.0, 3.1]), b, ordered=False)[0]


def test_decimals_are_exact():
    assert not compare_results(t(d=dec(["1.005"], 10, 3)), t(d=dec(["1.01"], 10, 2)), ordered=True)[0]
    assert not compare_results(t(d=dec(["0.01"])), t(d=dec(["0.02"])), ordered=True)[0]
    # equal values at different scales and integers are equal
    assert compare_results(t(d=dec(["3.00", "2.50"])), t(d=dec(["3", "2.5"], 12, 4)), ordered=True)[0]
    assert compare_results(t(d=pa.array([3, 7], pa.int64())), t(d=dec(["3.00", "7.00"])), ordered=True)[0]
    assert compare_results(t(d=pa.array([3], pa.int32())), t(d=pa.array([3], pa.int64())), ordered=True)[0]
    ok, message = compare_results(t(d=pa.array([3], pa.int64())), t(d=dec(["3.01"])), ordered=True)
    assert not ok and "Decimal('3.01')" in message


def test_decimal_against_float_is_approximate():
    assert compare_results(t(v=[0.1, 2.675]), t(v=dec(["0.10", "2.675"], 10, 3)), ordered=True)[0]
    assert not compare_results(t(v=[0.11]), t(v=dec(["0.10"])), ordered=True)[0]


def test_nulls():
    assert compare_results(t(x=[None, 1]), t(x=[1, None]), ordered=False)[0]
    assert not compare_results(t(x=[None]), t(x=[0]), ordered=True)[0]
    assert not compare_results(t(x=[0.0]), t(x=pa.array([None], pa.float64())), ordered=True)[0]
    assert not compare_results(t(s=[""]), t(s=pa.array([None], pa.string())), ordered=False)[0]
    # an all-NULL column of type null is compatible with any type
    assert compare_results(
        t(x=pa.array([None, None])), t(x=pa.array([None, None], pa.int64())), ordered=True
    )[0]


def test_incompatible_types():
    ok, message = compare_results(t(x=["1"]), t(x=[1]), ordered=True)
    assert not ok and "incompatible types" in message
    assert not compare_results(t(x=[True]), t(x=[1]), ordered=True)[0]


def test_dates_and_timestamps():
    day = dt.date(2000, 1, 2)
    assert compare_results(t(d=[dt.datetime(2000, 1, 2)]), t(d=[day]), ordered=True)[0]
    assert not compare_results(t(d=[dt.datetime(2000, 1, 2, 0, 0, 1)]), t(d=[day]), ordered=True)[0]
    assert compare_results(
        t(d=pa.array([day], pa.date32())), t(d=pa.array([day], pa.date64())), ordered=True
    )[0]


def test_strings_exact():
    assert not compare_results(t(s=["abc "]), t(s=["abc"]), ordered=True)[0]
    assert compare_results(t(s=pa.array(["x"], pa.large_string())), t(s=["x"]), ordered=True)[0]


def test_ties_in_order_keys_may_be_permuted():
    expected = t(k=[1, 1, 2, 3], v=["a", "b", "c", "d"])
    permuted = t(k=[1, 1, 2, 3], v=["b", "a", "c", "d"])
    assert not compare_results(permuted, expected, ordered=True)[0]
    assert compare_results(permuted, expected, ordered=True, order_keys=[0])[0]
    # rows moved across different keys are an error
    ok, message = compare_results(t(k=[1, 2, 1, 3], v=["a", "c", "b", "d"]), expected, True, order_keys=[0])
    assert not ok and "row 2 differs in column 1 (k)" in message and "ORDER BY key" in message
    # a wrong value inside a tie group
    ok, message = compare_results(t(k=[1, 1, 2, 3], v=["a", "x", "c", "d"]), expected, True, order_keys=[0])
    assert not ok and "among rows 1..2" in message


def test_limit_may_cut_the_last_tie_group():
    expected = t(k=[1, 2, 2], v=["a", "b", "c"])  # e.g. ORDER BY k LIMIT 3 over k = 1, 2, 2, 2
    other_members = t(k=[1, 2, 2], v=["a", "d", "b"])
    assert compare_results(other_members, expected, True, order_keys=[0], keys_complete=True, limit=3)[0]
    # without the cut (fewer rows than the limit) the last group must match
    assert not compare_results(other_members, expected, True, order_keys=[0], keys_complete=True, limit=4)[0]
    # with unresolved ORDER BY terms the last group is still compared, with a hint
    ok, message = compare_results(other_members, expected, True, order_keys=[0], keys_complete=False, limit=3)
    assert not ok and "may be legitimate" in message
    # rows before the last group are always checked
    assert not compare_results(t(k=[1, 2, 2], v=["z", "b", "c"]), expected, True, order_keys=[0], limit=3)[0]


def test_compare_query_results_uses_the_query_text():
    expected = t(k=[1, 1, 2], v=["a", "b", "c"])
    permuted = t(k=[1, 1, 2], v=["b", "a", "c"])
    assert compare_query_results("SELECT k, v FROM x ORDER BY k", permuted, expected)[0]
    assert not compare_query_results("SELECT k, v FROM x ORDER BY k, v", permuted, expected)[0]
    assert compare_query_results("SELECT k, v FROM x", t(k=[2, 1, 1], v=["c", "b", "a"]), expected)[0]
    # a total order by GROUP BY key: the last row is compared in full although LIMIT equals the row count
    grouped = "SELECT k, sum(v) AS v FROM x GROUP BY k ORDER BY k LIMIT 2"
    assert not compare_query_results(grouped, t(k=[1, 2], v=[10, 21]), t(k=[1, 2], v=[10, 20]))[0]


@pytest.mark.parametrize("ordered", [True, False])
def test_empty_results(ordered):
    assert compare_results(t(x=pa.array([], pa.int64())), t(y=pa.array([], pa.int32())), ordered)[0]
    assert compare_results(pa.table({}), pa.table({}), ordered)[0]
