"""The API other front ends use: sqlglot trees through the same bind -> prune -> DuckDB path."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlglot import exp, select

import engine
from engine.sql import explain_query, pinned_table, plan_query, run_query


@pytest.fixture
def db(tmp_path):
    session = engine.connect(str(tmp_path / "wh"))
    session.sql("CREATE TABLE t (id BIGINT, v VARCHAR)")
    table = session.catalog.load_table("t")
    table.append(pa.table({"id": pa.array(range(0, 100), pa.int64()), "v": ["a"] * 100}))
    table.append(pa.table({"id": pa.array(range(100, 200), pa.int64()), "v": ["b"] * 100}))
    yield session
    session.close()


def test_run_query_prunes_and_keeps_the_tree(db):
    tree = select("v", "count(*) AS n").from_("t").where("id >= 150").group_by("v")
    before = tree.sql()
    assert run_query(db, tree).fetchall() == [("b", 50)]
    assert tree.sql() == before  # the caller's tree is not modified
    plan = plan_query(db, tree)
    assert [(s.name, s.files_total, s.files_skipped) for s in plan.scans] == [("main.t", 2, 1)]
    assert "skipped 1" in explain_query(db, tree)


def test_pinned_table_reads_its_snapshot(db):
    table, snapshot = db.resolve_snapshot("t", version=1)
    db.sql("DELETE FROM t")
    node = pinned_table("main.t", table, snapshot, alias="old")
    tree = select("count(*)").from_(node).where(exp.column("id", "old") < 10)
    assert run_query(db, tree).fetchone() == (10,)
    assert run_query(db, select("count(*)").from_("t")).fetchone() == (0,)


def test_parameters_in_trees(db):
    tree = select("id").from_("t").where(exp.column("id").eq(exp.Placeholder(this="1")))
    assert run_query(db, tree, params=[42]).fetchall() == [(42,)]
