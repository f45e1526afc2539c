"""``t@v3`` / ``t@3`` / ``t@yyyyMMddHHmmssSSS`` time travel, in both dialects."""

from __future__ import annotations

import pytest

import engine
from lakehouse.errors import LakehouseError, SqlError

DIALECTS = ["duckdb", "databricks"]


@pytest.fixture
def db(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE SCHEMA s")
    db.sql("CREATE TABLE s.t (id INT, v VARCHAR)")  # version 0
    db.sql("INSERT INTO s.t VALUES (1, 'a@v1')")  # 1
    db.sql("INSERT INTO s.t VALUES (2, 'b')")  # 2
    db.sql("DELETE FROM s.t WHERE id = 1")  # 3
    yield db
    db.close()


def _ids(db, text, dialect="duckdb"):
    return sorted(r["id"] for r in db.sql(text, dialect=dialect).to_pylist())


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("version", [1, 2, 3])
def test_at_version_reads_what_version_as_of_reads(db, dialect, version):
    want = _ids(db, f"SELECT id FROM s.t VERSION AS OF {version}")
    assert _ids(db, f"SELECT id FROM s.t@v{version}", dialect) == want
    assert _ids(db, f"SELECT id FROM s.t@{version}", dialect) == want
    assert _ids(db, f"SELECT x.id FROM s.t@V{version} AS x WHERE x.id > 0", dialect) == want


@pytest.mark.parametrize("dialect", DIALECTS)
def test_two_versions_in_one_query_and_strings_untouched(db, dialect):
    rows = db.sql(
        "SELECT a.id, a.v, 'q@v1' AS lit FROM s.t@v1 a LEFT JOIN s.t@v3 b ON a.id = b.id WHERE b.id IS NULL",
        dialect=dialect,
    ).to_pylist()
    assert rows == [{"id": 1, "v": "a@v1", "lit": "q@v1"}]  # deleted at v3, present at v1


def test_at_timestamp_form(db):
    history = {h["version"]: h["timestamp"] for h in db.catalog.load_table("s.t").history()}
    for version in (1, 2):
        ts = history[version]
        stamp = ts.strftime("%Y%m%d%H%M%S") + f"{ts.microsecond // 1000:03d}"
        want = _ids(db, f"SELECT id FROM s.t VERSION AS OF {version}")
        for dialect in DIALECTS:
            assert _ids(db, f"SELECT id FROM s.t@{stamp}", dialect) == want


def test_at_mistakes(db):
    with pytest.raises(SqlError, match="yyyyMMddHHmmssSSS"):
        db.sql("SELECT * FROM s.t@20241399000000000")
    with pytest.raises(LakehouseError, match="99"):
        db.sql("SELECT * FROM s.t@v99")
    assert db.sql("SELECT @ -5 AS a").to_pylist() == [{"a": 5}]  # DuckDB's abs operator still works


def test_at_version_in_explain_and_ctas(db):
    text = db.sql("EXPLAIN SELECT * FROM s.t@v1").message
    assert "version 1" in text or "VERSION" in text.upper()
    db.sql("CREATE TABLE s.old AS SELECT * FROM s.t@v2")
    assert _ids(db, "SELECT id FROM s.old") == [1, 2]


@pytest.mark.parametrize("text", ["SELECT * FROM s.t@v", "SELECT * FROM s.t@vx", "SELECT * FROM s.t@-1"])
def test_bad_at_suffix_says_what_to_write(db, text):
    with pytest.raises(SqlError, match=r"@v3 or @3"):
        db.sql(text)


def test_at_version_as_merge_source_and_insert_source(db):
    db.sql("CREATE TABLE s.copy (id INT, v VARCHAR)")
    db.sql("INSERT INTO s.copy SELECT * FROM s.t@v1")
    db.sql(
        "MERGE INTO s.copy c USING s.t@v2 src ON c.id = src.id "
        "WHEN NOT MATCHED THEN INSERT VALUES (src.id, src.v)"
    )
    assert _ids(db, "SELECT id FROM s.copy") == [1, 2]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "text",
    [
        "UPDATE s.t@v1 SET v = 'z'",
        "DELETE FROM s.t@v1 WHERE id = 2",
        "UPDATE s.t VERSION AS OF 1 SET v = 'z'",
        "DELETE FROM s.t VERSION AS OF 1",
        "MERGE INTO s.t@v1 USING (SELECT 2 AS id) x ON s.t.id = x.id WHEN MATCHED THEN DELETE",
        "INSERT INTO s.t@v1 VALUES (9, 'z')",
    ],
)
def test_writing_to_an_old_version_is_refused_not_ignored(db, dialect, text):
    version = db.catalog.load_table("s.t").version
    with pytest.raises(SqlError, match="(?i)version"):
        db.sql(text, dialect=dialect)
    assert db.catalog.load_table("s.t").version == version
