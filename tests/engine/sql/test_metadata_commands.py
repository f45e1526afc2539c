"""Metadata commands (DESCRIBE DETAIL / EXTENDED, SHOW TBLPROPERTIES / PARTITIONS / COLUMNS / CREATE TABLE),
COMMENT, UNSET TBLPROPERTIES, RESTORE short form and honest DROP IF EXISTS, in both dialects."""

from __future__ import annotations

import pytest

import engine
from lakehouse.errors import SqlError

DIALECTS = ["duckdb", "databricks"]


@pytest.fixture
def db(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql(
        "CREATE TABLE t (id INT NOT NULL COMMENT 'the key', x DOUBLE, p VARCHAR, d DATE, "
        "CONSTRAINT pos CHECK (id > 0)) PARTITIONED BY (p, d) COMMENT 'it''s a table' "
        "TBLPROPERTIES ('delta.appendOnly' = 'false', 'owner.team' = 'a=b, c')"
    )
    db.sql(
        "INSERT INTO t VALUES (1, 1.5, 'a', DATE '2024-01-01'), (2, NULL, NULL, DATE '2024-01-02'), "
        "(3, 'NaN'::DOUBLE, 'a', DATE '2024-01-01'), (4, 'inf'::DOUBLE, 'b''q', NULL)"
    )
    yield db
    db.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_describe_detail_has_databricks_columns_and_true_counts(db, dialect):
    row = db.sql("DESCRIBE DETAIL t", dialect=dialect).to_pylist()
    assert len(row) == 1
    row = row[0]
    assert list(row) == [
        "format", "id", "name", "description", "location", "createdAt", "lastModified", "partitionColumns",
        "clusteringColumns", "numFiles", "sizeInBytes", "properties", "minReaderVersion", "minWriterVersion",
        "tableFeatures",
    ]  # fmt: skip
    snap = db.catalog.load_table("t").snapshot()
    assert row["format"] == "delta" and row["name"] == "main.t"
    assert row["description"] == "it's a table"
    assert row["partitionColumns"] == ["p", "d"]
    assert row["numFiles"] == snap.num_files == 3  # (a, 01-01), (NULL, 01-02), (b'q, NULL)
    assert row["sizeInBytes"] == sum(f.size for f in snap.files)
    assert dict(row["properties"])["owner.team"] == "a=b, c"
    # writer 7: CHECK constraints and the catalog-managed feature (docs/transactions.md); readers need 1
    assert (row["minReaderVersion"], row["minWriterVersion"]) == (1, 7)
    assert row["tableFeatures"] == ["checkConstraints", "lakehouseCatalogManaged"]
    assert row["createdAt"] <= row["lastModified"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_tblproperties_all_and_one(db, dialect):
    rows = db.sql("SHOW TBLPROPERTIES t", dialect=dialect).to_pylist()
    props = {r["key"]: r["value"] for r in rows}
    assert props["owner.team"] == "a=b, c" and props["delta.constraints.pos"] == "id > 0"
    one = db.sql("SHOW TBLPROPERTIES t ('owner.team')", dialect=dialect).to_pylist()
    assert one == [{"key": "owner.team", "value": "a=b, c"}]
    missing = db.sql("SHOW TBLPROPERTIES t ('nope')", dialect=dialect).to_pylist()
    assert missing[0]["value"] == "Table main.t does not have property: nope"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_partitions_lists_distinct_typed_values_with_nulls(db, dialect):
    got = db.sql("SHOW PARTITIONS t", dialect=dialect).to_arrow()
    assert got.column_names == ["p", "d"]
    expected = db.sql("SELECT DISTINCT p, d FROM t").to_pylist()
    assert sorted(map(str, got.to_pylist())) == sorted(map(str, expected))
    assert str(got.schema.field("d").type) == "date32[day]"
    db.sql("CREATE TABLE flat (id INT)")
    with pytest.raises(SqlError, match="not partitioned"):
        db.sql("SHOW PARTITIONS flat", dialect=dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_columns_in_and_from(db, dialect):
    assert db.sql("SHOW COLUMNS IN t", dialect=dialect).to_pylist()[0] == {"col_name": "id"}
    cols = [r["col_name"] for r in db.sql("SHOW COLUMNS FROM t IN main", dialect=dialect).to_pylist()]
    assert cols == ["id", "x", "p", "d"]
    with pytest.raises(SqlError, match="nope"):
        db.sql("SHOW COLUMNS IN nope", dialect=dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_describe_extended_adds_properties_and_constraints(db, dialect):
    rows = db.sql("DESCRIBE EXTENDED t", dialect=dialect).to_pylist()
    by_name = {r["col_name"]: r for r in rows}
    assert by_name["id"]["comment"] == "the key" and by_name["id"]["data_type"] == "INTEGER"
    assert by_name["Comment"]["data_type"] == "it's a table"
    assert "owner.team=a=b, c" in by_name["Table Properties"]["data_type"]
    assert by_name["pos"]["data_type"] == "CHECK (id > 0)"
    assert by_name["id_not_null"]["data_type"] == "id IS NOT NULL"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_create_table_round_trips(db, dialect):
    text = db.sql("SHOW CREATE TABLE t", dialect=dialect).to_pylist()[0]["createtab_stmt"]
    db.sql("DROP TABLE t")
    db.sql(text, dialect=dialect)
    again = db.sql("SHOW CREATE TABLE t", dialect=dialect).to_pylist()[0]["createtab_stmt"]
    assert again == text
    snap = db.catalog.load_table("t").snapshot()
    assert snap.partition_columns == ["p", "d"]
    assert snap.metadata.description == "it's a table"
    assert snap.properties["owner.team"] == "a=b, c"
    assert not snap.schema.field("id").nullable
    with pytest.raises(Exception, match="pos"):  # the CHECK constraint is back and enforced
        db.sql("INSERT INTO t VALUES (-1, 0, 'a', NULL)")
    with pytest.raises(Exception, match="(?i)null"):
        db.sql("INSERT INTO t VALUES (NULL, 0, 'a', NULL)")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_create_table_quotes_odd_column_names(tmp_path, dialect):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql('CREATE TABLE odd ("select" INT COMMENT \'a\'\'b\\\', "x y" VARCHAR, "Ünï" BIGINT)')
    text = db.sql("SHOW CREATE TABLE odd", dialect=dialect).to_pylist()[0]["createtab_stmt"]
    db.sql("DROP TABLE odd")
    db.sql(text, dialect=dialect)
    assert db.sql("SELECT * FROM odd").to_arrow().column_names == ["select", "x y", "Ünï"]
    assert db.sql("DESCRIBE EXTENDED odd").to_pylist()[0]["comment"] == "a'b\\"
    assert db.sql("SHOW CREATE TABLE odd", dialect=dialect).to_pylist()[0]["createtab_stmt"] == text
    db.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_comments_are_delta_description_and_field_metadata_read_by_delta_rs(tmp_path, dialect):
    deltalake = pytest.importorskip("deltalake")
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE c (id INT COMMENT 'x', v INT) COMMENT 'y'", dialect=dialect)
    db.sql("COMMENT ON COLUMN c.v IS 'vee'", dialect=dialect)
    uri = db.catalog.load_table("c").uri
    dt = deltalake.DeltaTable(uri)
    assert dt.metadata().description == "y"
    ops = [h["operation"] for h in db.catalog.load_table("c").history()]
    assert ops == ["CHANGE COLUMN", "SET TABLE COMMENT", "CREATE TABLE"]
    fields = {f.name: f.metadata for f in dt.schema().fields}
    assert fields["id"]["comment"] == "x" and fields["v"]["comment"] == "vee"
    db.sql("COMMENT ON TABLE c IS 'new'", dialect=dialect)
    db.sql("ALTER TABLE c ALTER COLUMN id COMMENT '123'", dialect=dialect)
    db.sql("ALTER TABLE c CHANGE COLUMN v COMMENT 'changed'", dialect=dialect)
    assert db.sql("DESCRIBE EXTENDED c").to_pylist()[1]["comment"] == "changed"
    dt = deltalake.DeltaTable(uri)
    assert dt.metadata().description == "new"
    assert {f.name: f.metadata for f in dt.schema().fields}["id"]["comment"] == "123"  # stays a string
    db.sql("COMMENT ON TABLE c IS NULL", dialect=dialect)
    db.sql("COMMENT ON COLUMN c.v IS NULL", dialect=dialect)
    detail = db.sql("DESCRIBE DETAIL c").to_pylist()[0]
    assert detail["description"] is None
    assert "comment" not in {f.name: f.metadata for f in deltalake.DeltaTable(uri).schema().fields}["v"]
    with pytest.raises(SqlError, match="no column 'nope'"):
        db.sql("COMMENT ON COLUMN c.nope IS 'z'", dialect=dialect)
    db.close()


def test_ctas_with_comment_and_temp_table_give_no_key_error(db):
    db.sql("CREATE TABLE s COMMENT 'copy' AS SELECT * FROM t")
    assert db.sql("DESCRIBE DETAIL s").to_pylist()[0]["description"] == "copy"
    assert db.sql("SELECT count(*) AS n FROM s").to_pylist() == [{"n": 4}]
    try:
        db.sql("CREATE TEMP TABLE x AS SELECT 1")
    except KeyError as e:  # pragma: no cover - the failure this guards against
        pytest.fail(f"KeyError leaked: {e}")
    except SqlError:
        pass


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unset_tblproperties(db, dialect, capfd):
    v = db.catalog.load_table("t").version
    db.sql("ALTER TABLE t UNSET TBLPROPERTIES ('owner.team')", dialect=dialect)
    assert "owner.team" not in db.catalog.load_table("t").snapshot().properties
    assert "delta.appendOnly" in db.catalog.load_table("t").snapshot().properties
    with pytest.raises(SqlError, match="no property 'owner.team'.*IF EXISTS"):
        db.sql("ALTER TABLE t UNSET TBLPROPERTIES ('owner.team')", dialect=dialect)
    r = db.sql("ALTER TABLE t UNSET TBLPROPERTIES IF EXISTS ('owner.team', 'nope')", dialect=dialect)
    assert "nothing changed" in r.message
    assert db.catalog.load_table("t").version == v + 1  # the no-op made no version
    out, err = capfd.readouterr()
    assert err == ""  # no sqlglot warning


@pytest.mark.parametrize("dialect", DIALECTS)
def test_restore_short_forms(db, dialect):
    v = db.catalog.load_table("t").version  # the fixture's rows
    db.sql("DELETE FROM t WHERE id > 1")
    db.sql(f"RESTORE t VERSION AS OF {v}", dialect=dialect)
    assert db.sql("SELECT count(*) AS n FROM t").to_pylist() == [{"n": 4}]
    db.sql("DELETE FROM t WHERE id > 1")
    db.sql(f"RESTORE TABLE t VERSION AS OF {v}", dialect=dialect)
    assert db.sql("SELECT count(*) AS n FROM t").to_pylist() == [{"n": 4}]
    history = db.catalog.load_table("t").history()
    ts = next(h["timestamp"] for h in history if h["version"] == v)
    db.sql("DELETE FROM t WHERE id > 1")
    db.sql(f"RESTORE TABLE t TIMESTAMP AS OF '{ts.isoformat()}'", dialect=dialect)
    assert db.sql("SELECT count(*) AS n FROM t").to_pylist() == [{"n": 4}]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_drop_if_exists_is_honest(db, dialect):
    r = db.sql("DROP TABLE IF EXISTS nope", dialect=dialect)
    assert "dropped" not in r.message.replace("nothing dropped", "")
    assert "main.nope does not exist" in r.message
    r = db.sql("DROP TABLE IF EXISTS t", dialect=dialect)
    assert r.message == "dropped table main.t"


def test_no_sqlglot_warnings_in_normal_use(db, capfd):
    for text in [
        "SHOW CREATE TABLE t",
        "SHOW COLUMNS IN t",
        "SHOW PARTITIONS t",
        "SHOW TBLPROPERTIES t",
        "DESCRIBE DETAIL t",
        "ALTER TABLE t UNSET TBLPROPERTIES IF EXISTS ('zz')",
        "COMMENT ON TABLE t IS 'c'",
    ]:
        for dialect in DIALECTS:
            db.sql(text, dialect=dialect)
    assert capfd.readouterr().err == ""


def test_sqlglot_fallback_warnings_never_reach_stderr(db, capfd):
    for text, dialect in [
        ("ALTER TABLE t ALTER COLUMN x SET NOT NULL", "duckdb"),  # sqlglot: "Unsupported ALTER COLUMN syntax"
        ("MSCK REPAIR TABLE t", "databricks"),  # sqlglot: "Falling back to parsing as a 'Command'"
        ("ALTER TABLE t DROP PARTITION (p = 'a')", "databricks"),
    ]:
        with pytest.raises(SqlError):
            db.sql(text, dialect=dialect)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_create_table_round_trips_nested_and_odd_types(tmp_path, dialect):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql(
        'CREATE TABLE c (id BIGINT, s STRUCT(a INT, "b c" VARCHAR), l INT[], m MAP(VARCHAR, DOUBLE), '
        "dec DECIMAL(12,3), ts TIMESTAMP, tz TIMESTAMPTZ, d DATE, b BLOB, f FLOAT, sm SMALLINT, bo BOOLEAN) "
        "TBLPROPERTIES ('delta.columnMapping.mode' = 'name')"
    )
    before = db.sql("DESCRIBE c").to_pylist()
    text = db.sql("SHOW CREATE TABLE c", dialect=dialect).fetchone()[0]
    db.sql("DROP TABLE c")
    db.sql(text, dialect=dialect)
    assert db.sql("DESCRIBE c").to_pylist() == before
    assert db.sql("SHOW CREATE TABLE c", dialect=dialect).fetchone()[0] == text
    assert db.sql("SHOW TBLPROPERTIES c ('delta.columnMapping.mode')").fetchone()[1] == "name"
    db.close()


def test_show_tblproperties_takes_one_key(db):
    with pytest.raises(SqlError, match="one key"):
        db.sql("SHOW TBLPROPERTIES t ('a', 'b')")


def test_describe_detail_agrees_with_delta_rs(db):
    deltalake = pytest.importorskip("deltalake")
    db.sql("DELETE FROM t WHERE id = 1")
    db.sql("ALTER TABLE t SET TBLPROPERTIES ('delta.checkpointInterval' = '7')")
    row = db.sql("DESCRIBE DETAIL t").to_pylist()[0]
    dt = deltalake.DeltaTable(db.catalog.load_table("t").uri)
    assert row["id"] == dt.metadata().id
    assert row["description"] == dt.metadata().description
    assert row["partitionColumns"] == dt.metadata().partition_columns
    assert dict(row["properties"]) == dt.metadata().configuration
    assert row["numFiles"] == len(dt.file_uris())
    proto = dt.protocol()
    assert (row["minReaderVersion"], row["minWriterVersion"]) == (
        proto.min_reader_version,
        proto.min_writer_version,
    )
    import pyarrow as pa

    size = pa.table(dt.get_add_actions(flatten=True)).column("size_bytes").to_pylist()
    assert row["sizeInBytes"] == sum(size)


def test_comments_survive_concurrent_appends_in_both_orders(tmp_path):
    import threading

    wh = str(tmp_path / "wh")
    with engine.connect(wh) as db:
        db.sql("CREATE TABLE t (id INT, v VARCHAR COMMENT 'c')")
    errors: list[Exception] = []

    def appender():
        with engine.connect(wh) as s:
            for i in range(10):
                try:
                    s.sql("INSERT INTO t VALUES (?, 'x')", params=[i])
                except Exception as e:  # pragma: no cover - reported below
                    errors.append(e)

    def commenter():
        with engine.connect(wh) as s:
            for i in range(10):
                try:
                    s.sql(f"COMMENT ON COLUMN t.v IS 'c{i}'")
                    s.sql(f"COMMENT ON TABLE t IS 't{i}'")
                except Exception as e:  # pragma: no cover - reported below
                    errors.append(e)

    threads = [threading.Thread(target=appender), threading.Thread(target=commenter)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with engine.connect(wh) as db:
        assert db.sql("SELECT count(DISTINCT id) FROM t").fetchone() == (10,)
        assert db.sql("DESCRIBE DETAIL t").to_pylist()[0]["description"] == "t9"
        assert db.sql("DESCRIBE EXTENDED t").to_pylist()[1]["comment"] == "c9"


def test_show_create_table_prints_generated_identity_and_default_from_field_metadata():
    """What the schema metadata holds is printed (the statements that set it live elsewhere)."""
    from types import SimpleNamespace

    import pyarrow as pa

    from engine.sql.statements.show_create import create_statement

    schema = pa.schema(
        [
            pa.field("id", pa.int64(), False, {"delta.identity.start": "1", "delta.identity.step": "2",
                                                "delta.identity.allowExplicitInsert": "false"}),
            pa.field("d", pa.date32(), True, {"delta.generationExpression": "CAST(ts AS DATE)"}),
            pa.field("n", pa.int32(), True, {"CURRENT_DEFAULT": "7", "comment": "seven"}),
            pa.field("k", pa.int32(), True, {"delta.identity.start": "0", "delta.identity.step": "1",
                                              "delta.identity.allowExplicitInsert": "true"}),
        ]
    )  # fmt: skip
    snap = SimpleNamespace(
        properties={}, full_schema=schema, partition_columns=[], metadata=SimpleNamespace(description=None)
    )
    text = create_statement("main.g", snap)
    assert "id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1 INCREMENT BY 2) NOT NULL" in text
    assert "d DATE GENERATED ALWAYS AS (CAST(ts AS DATE))" in text
    assert "n INTEGER DEFAULT 7 COMMENT 'seven'" in text
    assert "k INTEGER GENERATED BY DEFAULT AS IDENTITY (START WITH 0 INCREMENT BY 1)" in text


def test_show_create_table_keeps_an_external_location(tmp_path):
    ext = tmp_path / "ext" / "e"
    with engine.connect(str(tmp_path / "wh"), allow_external_locations=True) as db:
        db.sql(f"CREATE TABLE e (id INT) LOCATION '{ext}'")
        db.sql("CREATE TABLE m (id INT)")
        assert f"LOCATION '{ext}'" in db.sql("SHOW CREATE TABLE e").fetchone()[0]
        assert "LOCATION" not in db.sql("SHOW CREATE TABLE m").fetchone()[0]  # managed: the warehouse decides


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_partitions_in_value_order_with_a_partition_filter(tmp_path, dialect):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE n (id INT, k INT, s VARCHAR) PARTITIONED BY (k, s)")
        db.sql("INSERT INTO n VALUES (1, 10, 'a'), (2, 9, 'a'), (3, NULL, 'b'), (4, 10, 'b''c')")
        rows = db.sql("SHOW PARTITIONS n", dialect=dialect).to_pylist()
        want = db.sql("SELECT DISTINCT k, s FROM n ORDER BY k NULLS LAST, s NULLS LAST").to_pylist()
        assert rows == want  # 9 before 10: values, not strings
        got = db.sql("SHOW PARTITIONS n PARTITION (k = 10)", dialect=dialect).to_pylist()
        assert got == [{"k": 10, "s": "a"}, {"k": 10, "s": "b'c"}]
        got = db.sql("SHOW PARTITIONS n PARTITION (k = 10, s = 'a')", dialect=dialect).to_pylist()
        assert got == [{"k": 10, "s": "a"}]
        with pytest.raises(SqlError, match="partition columns: k, s"):
            db.sql("SHOW PARTITIONS n PARTITION (id = 1)", dialect=dialect)
