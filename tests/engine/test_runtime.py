"""The engine's Runtime: SQL, DataFrames and batch reads run on it alone, never calling the Session."""

from __future__ import annotations

import ast
from pathlib import Path

import pyarrow as pa
import pytest
from sqlglot import select

import engine
from catalog import load_catalog
from engine.dataframe import DataFrame, col, from_sql
from engine.runtime import Runtime
from engine.sql import run_query
from engine.sql.dispatch import run_script
from lakehouse.errors import SqlError, TableNotFound

ENGINE = Path(engine.__file__).parent


def _imported_modules(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports (inside functions and under TYPE_CHECKING too), absolute."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


def test_nothing_below_the_session_imports_it():
    below = ["sql", "dataframe", "jobs", "ml", "runtime.py", "footers.py", "snapshot_cache.py", "result.py"]
    paths = []
    for entry in below:
        paths += sorted((ENGINE / entry).rglob("*.py")) if (ENGINE / entry).is_dir() else [ENGINE / entry]
    offenders = []
    for path in paths:
        rel = path.relative_to(ENGINE.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if "engine.session" in _imported_modules(path, module):
            offenders.append(module)
    assert len(paths) > 50 and offenders == []


@pytest.fixture
def runtime(tmp_path):
    warehouse = str(tmp_path / "wh")
    Path(warehouse).mkdir()
    rt = Runtime(load_catalog(f"sqlite:///{warehouse}/catalog.db", warehouse=warehouse), warehouse=warehouse)
    yield rt
    rt.close()


def test_sql_and_frames_run_on_a_runtime_without_a_session(runtime):
    run_script(runtime, "CREATE TABLE t (id BIGINT, v VARCHAR)")
    run_script(runtime, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'b')")
    run_script(runtime, "DELETE FROM t WHERE id = 1")
    assert run_query(runtime, select("count(*)").from_("t")).fetchone() == (2,)
    assert run_script(runtime, "SELECT count(*) FROM t VERSION AS OF 1 + 0").fetchone() == (3,)
    old = DataFrame.from_table(runtime, "t", version=1)
    assert old.runtime is runtime
    assert old.filter(col("v") == "b").count() == 2
    assert from_sql(runtime, "SELECT id FROM t WHERE v = 'b'").to_arrow().column("id").to_pylist() == [2, 3]
    runtime.register("extra", pa.table({"id": [2, 3, 4]}))
    assert run_script(runtime, "SELECT count(*) FROM t JOIN extra USING (id)").fetchone() == (2,)
    rows = list(from_sql(runtime, "SELECT * FROM extra").to_batches())  # a cursor sees registered data
    assert sum(b.num_rows for b in rows) == 3


def test_runtime_answers_name_resolution_and_closes(runtime):
    run_script(runtime, "CREATE TABLE orders (id BIGINT)")
    with pytest.raises(TableNotFound, match="did you mean main.orders"):
        runtime.resolve_snapshot("order")
    assert runtime.evaluate("$1 + 1", {"1": 41}) == 42
    runtime.close()
    with pytest.raises(SqlError, match="closed"):
        run_query(runtime, select("1"))


def test_a_session_is_a_facade_over_its_runtime(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT 1 AS id")
        df = db.table("t")
        assert df.runtime is db.runtime
        assert db.catalog is db.runtime.catalog and db.warehouse == db.runtime.warehouse
        assert run_query(db, select("id").from_("t")).fetchall() == [(1,)]
    assert db.runtime.closed
    with pytest.raises(SqlError, match="closed"):
        df.count()
