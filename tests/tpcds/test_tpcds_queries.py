"""The 99 queries on plain DuckDB over the generated Parquet files, the runner and its timeouts."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tpcds.queries import load_queries, split_statements
from tpcds.run import duckdb_executor, plain_duckdb_connection, run_queries
from tpcds.verify import compare_query_results

pytestmark = pytest.mark.slow


def test_all_99_queries_pass_against_themselves(tpcds_sf01):
    queries = load_queries(tpcds_sf01)
    assert len(queries) == 99
    ours, base = plain_duckdb_connection(tpcds_sf01), plain_duckdb_connection(tpcds_sf01)
    lines: list[str] = []
    records = run_queries(
        queries,
        duckdb_executor(ours),
        duckdb_executor(base),
        None,  # expected = the baseline's result
        timeout=120,
        progress=lines.append,
        interrupt=ours.interrupt,
        baseline_interrupt=base.interrupt,
    )
    bad = [(r.query, r.status, r.message) for r in records if r.status != "passed"]
    assert not bad
    assert [r.query for r in records] == list(range(1, 100))
    assert all(r.seconds > 0 and r.baseline_seconds > 0 for r in records)
    assert sum(1 for r in records if r.rows) >= 75  # at SF 0.1 most queries return rows
    assert len(lines) == 99 and lines[0].lstrip("[ ").split("s]")[0]


def test_a_wrong_result_is_detected(tpcds_sf01):
    queries = load_queries(tpcds_sf01)
    execute = duckdb_executor(plain_duckdb_connection(tpcds_sf01))
    for nr in (3, 7, 52):  # ordered results with rows
        sql = queries[nr]
        good = execute(sql)
        assert good.num_rows > 1
        assert compare_query_results(sql, execute(sql), good) == (True, "ok")
        # the same rows, in reverse order
        ok, message = compare_query_results(sql, good.take(list(range(good.num_rows))[::-1]), good)
        assert not ok and "row 1 " in message
        # one changed value in the last column
        last = good.column(good.num_columns - 1)
        bumped = pa.array([v.as_py() for v in last][:-1] + [None], type=last.type)
        ok, message = compare_query_results(sql, good.set_column(good.num_columns - 1, "x", bumped), good)
        assert not ok and f"row {good.num_rows}" in message
        # a missing row
        ok, message = compare_query_results(sql, good.slice(1), good)
        assert not ok and "row count differs" in message


def test_timeout_interrupts_and_the_run_goes_on(tpcds_sf01):
    con = plain_duckdb_connection(tpcds_sf01)
    slow = (
        "SELECT count(*) FROM store_sales a, store_sales b, store_sales c "
        "WHERE a.ss_quantity + b.ss_quantity < c.ss_quantity"
    )
    queries = {1: slow, 2: "SELECT count(*) AS n FROM item"}
    lines: list[str] = []
    records = run_queries(
        queries,
        duckdb_executor(con),
        None,
        duckdb_executor(plain_duckdb_connection(tpcds_sf01)),
        timeout=0.5,
        progress=lines.append,
        interrupt=con.interrupt,
        grace=20,
    )
    assert [r.status for r in records] == ["timeout", "passed"]
    assert 0.5 <= records[0].seconds < 5 and "interrupted" in records[0].message
    assert records[1].rows == 1


def test_errors_and_multi_statement_texts(tpcds_sf01):
    con = plain_duckdb_connection(tpcds_sf01)
    execute = duckdb_executor(con)
    calls: list[str] = []

    def broken(sql: str) -> pa.Table:
        calls.append(sql)
        if "no_such_table" in sql:
            raise RuntimeError("boom")
        return execute(sql)

    queries = {
        1: "SELECT count(*) FROM no_such_table",
        2: "SELECT 1 AS a; SELECT count(*) AS n FROM item;",
        3: "SELECT 1 AS a; SELECT 2 AS b",
    }
    wrong = {3: "SELECT 1 AS a; SELECT 3 AS b"}

    def expected(sql: str) -> pa.Table:
        return execute(sql)

    records = run_queries(queries, broken, None, expected, timeout=30, progress=lambda m: None)
    assert [r.status for r in records] == ["error", "passed", "passed"]
    assert "RuntimeError: boom" in records[0].message
    assert split_statements(queries[2]) == ["SELECT 1 AS a", "SELECT count(*) AS n FROM item"]
    assert "SELECT 1 AS a" in calls

    records = run_queries(
        wrong, execute, None, lambda sql: execute(sql.replace("3", "2")), 30, lambda m: None
    )
    assert records[0].status == "failed" and records[0].message.startswith("statement 2:")


def test_unverified_when_expected_fails(tpcds_sf01):
    execute = duckdb_executor(plain_duckdb_connection(tpcds_sf01))

    def failing(sql: str) -> pa.Table:
        raise ValueError("no reference")

    records = run_queries({5: "SELECT 42 AS x"}, execute, None, failing, 30, lambda m: None)
    assert records[0].status == "unverified" and "no reference" in records[0].message
