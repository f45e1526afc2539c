"""Hypothesis: random append / DELETE / UPDATE / MERGE / OPTIMIZE / RENAME / DROP COLUMN on a
column-mapped table give, at every version, what the same statements give on a DuckDB table.

The final version is also read by delta-rs (``DeltaTable.scan()``), and every version we wrote is
re-read by time travel afterwards (a rename must not change what an old version says).
"""

from __future__ import annotations

import itertools

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

deltalake = pytest.importorskip("deltalake")

_names = itertools.count()

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(st.integers(-5, 5), min_size=1, max_size=4)),
        st.tuples(st.just("delete"), st.integers(2, 4), st.integers(0, 3)),
        st.tuples(st.just("update"), st.integers(2, 4), st.integers(-3, 3)),
        st.tuples(st.just("merge"), st.lists(st.integers(0, 12), min_size=1, max_size=3)),
        st.tuples(st.just("optimize")),
        st.tuples(st.just("rename"), st.integers(0, 3)),
        st.tuples(st.just("drop"), st.integers(0, 3)),
        st.tuples(st.just("add")),
    ),
    min_size=1,
    max_size=8,
)


def _rows(r) -> list[tuple]:
    return sorted(r.fetchall(), key=repr)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS, mapped=st.booleans())
def test_random_statements_match_duckdb(tmp_path_factory, ops, mapped):
    root = tmp_path_factory.mktemp("cmprop")
    db = engine.connect(str(root / "wh"))
    ref = duckdb.connect()
    props = " TBLPROPERTIES ('delta.columnMapping.mode' = 'name')" if mapped else ""
    db.sql(f"CREATE TABLE t (id BIGINT, v BIGINT, w VARCHAR){props}")
    ref.execute("CREATE TABLE t (id BIGINT, v BIGINT, w VARCHAR)")
    cols = ["v", "w"]  # columns besides id, in order
    next_id = 0
    seen: dict[int, list[tuple]] = {}

    def both(sql: str) -> None:
        db.sql(sql)
        ref.execute(sql)

    for op in ops:
        kind = op[0]
        if kind == "append":
            values = []
            for x in op[1]:
                cells = [str(next_id)] + [str(x) if c.startswith("v") else f"'s{x}'" for c in cols]
                values.append(f"({', '.join(cells)})")
                next_id += 1
            both(f"INSERT INTO t VALUES {', '.join(values)}")
        elif kind == "delete":
            both(f"DELETE FROM t WHERE id % {op[1]} = {op[2] % op[1]}")
        elif kind == "update":
            num = [c for c in cols if c.startswith("v")]
            target = num[0] if num else None
            if target is None:
                continue
            both(f'UPDATE t SET "{target}" = "{target}" + {op[2]} WHERE id % {op[1]} = 0')
        elif kind == "merge":
            src = " UNION ALL ".join(f"SELECT {k} AS k" for k in sorted(set(op[1])))
            inserted = ", ".join(["src.k"] + ["NULL"] * len(cols))
            both(
                f"MERGE INTO t USING ({src}) src ON t.id = src.k "
                f"WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES ({inserted})"
            )
        elif kind == "optimize":
            db.sql("OPTIMIZE t")
        elif kind == "rename":
            if not cols:
                continue
            i = op[1] % len(cols)
            new = f"{cols[i][0]}{next(_names)}"
            both(f'ALTER TABLE t RENAME COLUMN "{cols[i]}" TO "{new}"')
            cols[i] = new
        elif kind == "drop":
            if not cols:
                continue
            i = op[1] % len(cols)
            both(f'ALTER TABLE t DROP COLUMN "{cols[i]}"')
            del cols[i]
        elif kind == "add":
            new = f"v{next(_names)}"
            both(f'ALTER TABLE t ADD COLUMN "{new}" BIGINT')
            cols.append(new)
        ours = _rows(db.sql("SELECT * FROM t"))
        assert ours == _rows(ref.execute("SELECT * FROM t")), op
        version = db.sql("DESCRIBE HISTORY t").fetchall()[0][0]
        seen[version] = ours
    for version, rows in seen.items():
        assert _rows(db.sql(f"SELECT * FROM t VERSION AS OF {version}")) == rows, version
    dt = deltalake.DeltaTable(db.catalog.table_location("main.t"))
    theirs = pa.table(pa.RecordBatchReader.from_stream(dt.scan()))
    assert sorted((tuple(r.values()) for r in theirs.to_pylist()), key=repr) == _rows(
        db.sql("SELECT * FROM t")
    )
    db.close()
    ref.close()
