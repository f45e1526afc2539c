"""Change data feed: what DML writes (cdc actions, _change_data files) and what Table.changes reads,
checked against delta-rs (``load_cdf``) at every version range and against DuckDB by replaying the feed."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse as lh
from lakehouse import CommitConflict, ConstraintViolation, SqlError, Table, VersionNotFound

CDF = "TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')"


def _change_files(uri: str) -> list[str]:
    out = []
    for root, _, files in os.walk(os.path.join(uri, "_change_data")):
        out += [os.path.join(root, f) for f in files]
    return out


def _id_table(tmp_path) -> Table:
    """A fresh table of one int64 column ``id`` with the change data feed on."""
    schema = pa.schema([("id", pa.int64())])
    return Table.create(str(tmp_path / "t"), schema, properties={"delta.enableChangeDataFeed": "true"})


def _net(changes: pa.Table) -> dict:
    """id -> rows in minus rows out over the feed (zeros left out)."""
    net: Counter = Counter()
    for r in changes.to_pylist():
        net[r["id"]] += -1 if r["_change_type"] in ("delete", "update_preimage") else 1
    return {k: c for k, c in net.items() if c}


def _rows(table: pa.Table) -> list[str]:
    """Rows as sortable text (NaN equals NaN, NULL sorts)."""
    return sorted(repr(tuple(r.values())) for r in table.to_pylist())


def _delta_rs(uri: str, start: int, end: int, schema: pa.Schema) -> pa.Table:
    import deltalake

    got = pa.table(deltalake.DeltaTable(uri).load_cdf(starting_version=start, ending_version=end).read_all())
    ts = got.column("_commit_timestamp").cast(pa.int64())
    got = got.drop_columns(["_commit_timestamp"]).cast(schema)
    return got.append_column("_ts", ts)


def _ours(table: Table, start: int, end: int) -> pa.Table:
    got = table.changes(start, end)
    ts = got.column("_commit_timestamp").cast(pa.int64())
    return got.drop_columns(["_commit_timestamp"]).append_column("_ts", ts)


@pytest.mark.parametrize("partitioned,dv", [(False, False), (True, False), (False, True), (True, True)])
def test_delta_rs_agrees_at_every_version_range(tmp_path, partitioned, dv):
    """``dv``: with deletion vectors too (DML keeps files, so the feed cannot be derived from them)."""
    pytest.importorskip("deltalake")
    db = lh.connect(str(tmp_path / "wh"))
    part = "PARTITIONED BY (p)" if partitioned else ""
    props = CDF.replace(")", ", 'delta.enableDeletionVectors' = 'true')") if dv else CDF
    db.sql(f'CREATE TABLE t (id INT, "odd name" VARCHAR, x DOUBLE, p VARCHAR) {part} {props}')
    db.sql(
        "INSERT INTO t VALUES (1, 'a', 1.5, 'k'), (2, NULL, 'NaN'::DOUBLE, 'k'), (3, 'c', '-inf'::DOUBLE, NULL), (4, 'd', 0, 'z')"
    )
    db.sql("INSERT INTO t VALUES (5, 'e', 2, 'z')")  # add-only: no cdc files, inserts derived
    db.sql("UPDATE t SET x = x + 1 WHERE id IN (1, 3)")  # lakehouse/dml.py path
    db.sql("DELETE FROM t WHERE id = 2")
    db.sql("UPDATE t SET \"odd name\" = s.n FROM (SELECT 4 AS id, 'D' AS n) s WHERE t.id = s.id")  # SQL path
    db.sql(
        "MERGE INTO t USING (SELECT 1 AS id, 'm' AS n UNION ALL SELECT 5, 'gone' UNION ALL SELECT 7, 'new') s "
        "ON t.id = s.id WHEN MATCHED AND s.n = 'gone' THEN DELETE "
        'WHEN MATCHED THEN UPDATE SET "odd name" = s.n '
        "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.n, 7.0, 'k')"
    )
    table, snap = db.resolve_snapshot("t")
    table.maintenance.optimize()  # dataChange=false: no changes
    table.delete("p = 'z'" if partitioned else "id = 4")
    table.delete()  # whole-file removes without cdc: deletes derived from the removed files
    latest = table.version
    schema = table.changes(0).drop_columns(["_commit_timestamp"]).schema
    for start in range(latest + 1):
        for end in range(start, latest + 1):
            ours = _ours(table, start, end)
            theirs = _delta_rs(table.uri, start, end, schema)
            assert _rows(ours) == _rows(theirs), (start, end)
    kinds = Counter(table.changes(0).column("_change_type").to_pylist())
    assert set(kinds) == {"insert", "delete", "update_preimage", "update_postimage"}
    assert kinds["update_preimage"] == kinds["update_postimage"]


def test_add_only_and_optimize_write_no_change_files(tmp_path):
    t = _id_table(tmp_path)
    t.append(pa.table({"id": [1, 2]}))
    t.append(pa.table({"id": [3]}))
    t.maintenance.optimize()
    assert _change_files(t.uri) == []
    assert t.changes(t.version).num_rows == 0  # OPTIMIZE changes no row
    assert sorted(t.changes(0).column("id").to_pylist()) == [1, 2, 3]
    t.delete("id = 1")
    assert len(_change_files(t.uri)) == 1


def test_protocol_upgraded_only_when_enabled(tmp_path):
    plain = Table.create(str(tmp_path / "a"), pa.schema([("id", pa.int64())]))
    assert plain.snapshot().protocol.min_writer_version < 4
    plain.set_properties({"delta.enableChangeDataFeed": "true"})
    assert plain.snapshot().protocol.min_writer_version == 4
    ntz = Table.create(
        str(tmp_path / "b"),
        pa.schema([("ts", pa.timestamp("us"))]),
        properties={"delta.enableChangeDataFeed": "true"},
    )
    proto = ntz.snapshot().protocol
    assert proto.min_writer_version == 7 and "changeDataFeed" in proto.writer_features


def test_errors_name_the_problem(tmp_path):
    t = Table.create(str(tmp_path / "t"), pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1]}))
    with pytest.raises(VersionNotFound, match="enableChangeDataFeed"):
        t.changes(0)
    t.set_properties({"delta.enableChangeDataFeed": "true"})
    t.delete("id = 1")
    with pytest.raises(VersionNotFound, match="enabled at version 2: start at 2"):
        t.changes(1)
    assert t.changes(2, 3).column("_change_type").to_pylist() == ["delete"]
    with pytest.raises(VersionNotFound, match="latest version is 3"):
        t.changes(2, 9)
    with pytest.raises(VersionNotFound, match="latest version is 3"):
        t.changes(4)
    with pytest.raises(lh.InvalidArgument, match="before start_version"):
        t.changes(3, 2)
    with pytest.raises(lh.InvalidArgument, match="integer"):
        t.changes("2")  # type: ignore[arg-type]
    t.set_properties({"delta.enableChangeDataFeed": "false"})
    t.append(pa.table({"id": [5]}))
    with pytest.raises(VersionNotFound, match="version 4 was written without"):
        t.changes(2)


def test_sql_table_changes_and_errors(tmp_path):
    db = lh.connect(str(tmp_path / "wh"))
    db.sql(f"CREATE TABLE t (id INT, v INT) {CDF}")
    db.sql("INSERT INTO t VALUES (1, 10), (2, 20)")
    db.sql("UPDATE t SET v = v + 1 WHERE id = 2")
    got = db.sql(
        "SELECT id, v, _change_type FROM table_changes('t', 2) WHERE _commit_version = ? ORDER BY _change_type",
        [2],
    ).to_pylist()
    assert got == [
        {"id": 2, "v": 21, "_change_type": "update_postimage"},
        {"id": 2, "v": 20, "_change_type": "update_preimage"},
    ]
    joined = db.sql(
        "SELECT count(*) AS n FROM table_changes('main.t', 0, 1) c JOIN t ON c.id = t.id"
    ).to_pylist()
    assert joined == [{"n": 2}]
    for bad, match in [
        ("SELECT * FROM table_changes('t')", "2 or 3 arguments"),
        ("SELECT * FROM table_changes('nope', 0)", "unknown table"),
        ("SELECT * FROM table_changes('t', 7)", "latest version is 2"),
        ("SELECT * FROM table_changes('t', 1.5)", "integers"),
        ("SELECT * FROM table_changes('t', 'x')", "timestamp"),
    ]:
        with pytest.raises(SqlError, match=match):
            db.sql(bad).to_arrow()
    spark = db.sql("SELECT count(*) AS n FROM table_changes('t', 1, 2)", dialect="databricks").to_pylist()
    assert spark == [{"n": 4}]
    # Timestamps (Databricks): start = first version committed at or after it, end = last at or before.
    table, _ = db.resolve_snapshot("t")
    when = {h["version"]: h["timestamp"] for h in table.history()}
    assert when[1] < when[2]
    q = "SELECT DISTINCT _commit_version AS v FROM table_changes('t', ?, ?) ORDER BY v"
    assert db.sql(q, [when[2].isoformat(), when[2].isoformat()]).to_pylist() == [{"v": 2}]
    assert db.sql(q, [when[1].isoformat(), when[1].isoformat()]).to_pylist() == [{"v": 1}]
    later = (when[1] + dt.timedelta(milliseconds=1)).isoformat()
    assert db.sql(q, [later, when[2].isoformat()]).to_pylist() == [{"v": 2}]


def test_failed_dml_leaves_no_change_files(tmp_path):
    t = Table.create(
        str(tmp_path / "t"),
        pa.schema([("id", pa.int64()), ("v", pa.int64())]),
        properties={"delta.enableChangeDataFeed": "true", "delta.constraints.small": "v < 10"},
    )
    t.append(pa.table({"id": [1], "v": [1]}))
    t.append(pa.table({"id": [2], "v": [7]}))
    with pytest.raises(ConstraintViolation):  # the first file's change rows are written, then it fails
        t.update({"v": "v + 5"})
    assert _change_files(t.uri) == []
    # A commit that loses to a concurrent delete of the same file: its change files go with it.
    tx = t.transaction()
    tx.delete("id = 1")
    pending = set(_change_files(t.uri))
    assert len(pending) == 1
    t.delete("id = 1")
    winner = set(_change_files(t.uri)) - pending
    with pytest.raises(CommitConflict):
        tx.commit()
    assert set(_change_files(t.uri)) == winner
    # EXPLAIN of a write (dry run) leaves nothing either.
    db = lh.connect(str(tmp_path / "wh"))
    db.sql(f"CREATE TABLE e (id INT) {CDF}")
    db.sql("INSERT INTO e VALUES (1), (2)")
    db.sql("EXPLAIN DELETE FROM e WHERE id = 1")
    table, _ = db.resolve_snapshot("e")
    assert _change_files(table.uri) == []


def test_same_transaction_append_then_delete_is_net_change(tmp_path):
    t = _id_table(tmp_path)
    t.append(pa.table({"id": [1, 2]}))
    with t.transaction() as tx:
        tx.append(pa.table({"id": [3, 4]}))
        tx.delete("id IN (2, 4)")  # deletes from a visible file and from the transaction's own file
    got = t.changes(2)
    # Rows of the transaction's own file were never visible: the feed nets to -2 and +3 (it may
    # spell that as whole-file deletes and inserts, derived from the commit's removes and adds).
    assert _net(got) == {2: -1, 3: 1}


def test_vacuum_removes_old_change_files_and_time_travel_still_works(tmp_path):
    t = _id_table(tmp_path)
    t.append(pa.table({"id": [1, 2]}))
    t.delete("id = 1")
    kept = t.maintenance.vacuum(dry_run=False)  # default retention: everything is recent
    assert kept == [] and len(_change_files(t.uri)) == 1
    doomed = t.maintenance.vacuum(retention_hours=0, dry_run=False, force=True)
    assert any("_change_data" in u for u in doomed)
    assert _change_files(t.uri) == []
    with pytest.raises(VersionNotFound, match="change data of version 2 .* VACUUM"):
        t.changes(2)
    assert t.snapshot().scan().to_arrow().column("id").to_pylist() == [2]


# ---------------------------------------------------------------------------------------- property

_OPS = st.one_of(
    st.tuples(st.just("append"), st.lists(st.integers(0, 9), min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("update"), st.integers(0, 9)),
    st.tuples(st.just("update_sub"), st.integers(0, 3)),
    st.tuples(st.just("merge"), st.lists(st.integers(0, 12), min_size=1, max_size=3, unique=True)),
    st.tuples(st.just("optimize"), st.none()),
)


def _sql(op, arg) -> str | None:
    if op == "append":
        return "INSERT INTO t VALUES " + ", ".join(f"({v}, {v * 10})" for v in arg)
    if op == "delete":
        return f"DELETE FROM t WHERE id >= {arg}"
    if op == "update":
        return f"UPDATE t SET v = v + 1 WHERE id < {arg}"
    if op == "update_sub":
        return f"UPDATE t SET v = v * 2 WHERE id IN (SELECT id FROM t WHERE id % 4 = {arg})"
    if op == "merge":
        src = " UNION ALL ".join(f"SELECT {k} AS id" for k in arg)
        return (
            f"MERGE INTO t USING ({src}) s ON t.id = s.id AND t.v % 2 = 0 "
            "WHEN MATCHED AND s.id % 3 = 0 THEN DELETE WHEN MATCHED THEN UPDATE SET v = t.v + 100 "
            "WHEN NOT MATCHED THEN INSERT VALUES (s.id, -s.id)"
        )
    return None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_OPS, min_size=1, max_size=5), partitioned=st.booleans())
def test_replaying_the_feed_reproduces_every_version(tmp_path_factory, ops, partitioned):
    db = lh.connect(str(tmp_path_factory.mktemp("wh")))
    oracle = duckdb.connect()
    oracle.execute("CREATE TABLE t (id INT, v INT)")
    part = "PARTITIONED BY (id)" if partitioned else ""
    db.sql(f"CREATE TABLE t (id INT, v INT) {part} {CDF}")
    expected = {0: Counter()}
    for op, arg in ops:
        sql = _sql(op, arg)
        if sql is None:
            table, _ = db.resolve_snapshot("t")
            table.maintenance.optimize()
        else:
            db.sql(sql)
            oracle.execute(sql)
        table, snap = db.resolve_snapshot("t")
        expected[snap.version] = Counter(oracle.execute("SELECT id, v FROM t").fetchall())
        ours = Counter((r["id"], r["v"]) for r in db.sql("SELECT id, v FROM t").to_pylist())
        assert ours == expected[snap.version]
    table, snap = db.resolve_snapshot("t")
    changes = table.changes(0).to_pylist()
    state: Counter = Counter()
    by_version: dict[int, list[dict]] = {}
    for row in changes:
        by_version.setdefault(row["_commit_version"], []).append(row)
    for v in range(snap.version + 1):
        for row in by_version.get(v, []):
            key = (row["id"], row["v"])
            if row["_change_type"] in ("delete", "update_preimage"):
                state[key] -= 1
            else:
                state[key] += 1
        state = Counter({k: c for k, c in state.items() if c})  # a negative count stays and fails
        if v in expected:
            assert state == expected[v], v


def test_every_backend_records_and_reads_changes(table_location):
    uri, options = table_location
    t = Table.create(
        uri,
        pa.schema([("id", pa.int64()), ("p", pa.string())]),
        partition_by=["p"],
        properties={"delta.enableChangeDataFeed": "true"},
        storage_options=options,
    )
    t.append(pa.table({"id": [1, 2, 3], "p": ["a", "a", "b"]}))
    t.update({"id": "id * 10"}, "id = 2")
    t.delete("id = 3")
    names = [f.path for f in t.storage.walk("_change_data")]
    assert names and all(n.startswith("_change_data/p=") for n in names)
    got = sorted((r["_commit_version"], r["_change_type"], r["id"], r["p"]) for r in t.changes(2).to_pylist())
    assert got == [(2, "update_postimage", 20, "a"), (2, "update_preimage", 2, "a"), (3, "delete", 3, "b")]


def test_restore_is_a_change_the_feed_replays(tmp_path):
    t = _id_table(tmp_path)
    t.append(pa.table({"id": [1]}))
    t.append(pa.table({"id": [2]}))
    t.maintenance.optimize()  # version 3: one file written with dataChange=false
    t.delete("id = 1")
    t.restore(3)  # the OPTIMIZE output comes back: the feed must show its rows as inserted
    assert _net(t.changes(0)) == {1: 1, 2: 1}


def test_changes_of_a_cleaned_up_commit_say_so(tmp_path):
    t = _id_table(tmp_path)
    t.append(pa.table({"id": [1]}))
    t.append(pa.table({"id": [2]}))
    t.maintenance.checkpoint(2)
    for v in (0, 1):  # as log cleanup would, once a checkpoint covers them
        os.remove(os.path.join(t.uri, "_delta_log", f"{v:020d}.json"))
    with pytest.raises(VersionNotFound, match="version 1 .*log cleanup"):
        t.changes(1)
    assert t.changes(2).column("id").to_pylist() == [2]


def test_delta_rs_written_feed_reads_the_same_and_stays_writable(tmp_path):
    deltalake = pytest.importorskip("deltalake")
    uri = str(tmp_path / "t")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "p": ["a", "a", "b"]})
    deltalake.write_deltalake(
        uri, data, partition_by=["p"], configuration={"delta.enableChangeDataFeed": "true"}
    )
    theirs = deltalake.DeltaTable(uri)
    theirs.delete("id = 2")
    theirs.update(updates={"id": "id + 10"}, predicate="id = 3")
    ours = Table.open(uri)
    ours.update({"id": "id * 2"}, "id = 1")  # and we continue the feed they started
    schema = ours.changes(0).drop_columns(["_commit_timestamp"]).schema
    for start in range(ours.version + 1):
        assert _rows(_ours(ours, start, ours.version)) == _rows(_delta_rs(uri, start, ours.version, schema))
