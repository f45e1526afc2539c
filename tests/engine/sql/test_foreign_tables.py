"""SQL over Delta tables written by Spark / delta-rs: deletion vectors, column mapping, odd partitions.

Each table is registered in a fresh catalog; SQL must return what the lakehouse reader returns
(itself checked against delta-rs) and the row counts in expected.json.
"""

from __future__ import annotations

import json
import shutil

import pytest

import engine
from lakehouse import Table

TABLES = [
    "table-with-dv-small",
    "table_with_column_mapping",
    "delta-0.8.0-partitioned",
    "delta-0.8.0-null-partition",
    "delta-0.8.0-special-partition",
    "delta-2.2.0-partitioned-types",
    "partition-type-primitives",
    "simple_table",
    "simple_table_with_checkpoint",
    "data-reader-array-primitives",
    "delta-stats-optional",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory, shared_tables):
    root = tmp_path_factory.mktemp("foreign")
    session = engine.connect(str(root / "wh"))
    for name in TABLES:
        copy = root / "tables" / name
        shutil.copytree(shared_tables / name, copy)
        session.catalog.register_table(f"main.{name.replace('-', '_').replace('.', '_')}", str(copy))
    yield session
    session.close()


def _sql_name(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


@pytest.mark.parametrize("name", TABLES)
def test_select_star_matches_the_table_reader(db, shared_tables, name, normalize):
    expected = json.loads((shared_tables / "expected.json").read_text())[name]
    got = db.sql(f"SELECT * FROM {_sql_name(name)}").to_arrow()
    reference = Table.open(db.catalog.table_location(_sql_name(name))).snapshot().scan().to_arrow()
    assert got.num_rows == expected["rows"]
    assert got.column_names == reference.column_names
    assert normalize(got) == normalize(reference)


def test_deletion_vectors_hide_rows_in_filters_and_aggregates(db):
    total = db.sql("SELECT count(*) FROM table_with_dv_small").fetchone()[0]
    assert total == 8
    values = [r[0] for r in db.sql("SELECT * FROM table_with_dv_small").fetchall()]
    assert db.sql("SELECT count(*) FROM table_with_dv_small WHERE value >= 0").fetchone()[0] == sum(
        1 for v in values if v >= 0
    )


def test_column_mapping_logical_names(db):
    r = db.sql('SELECT "Company Very Short", "Super Name" FROM table_with_column_mapping ORDER BY 1, 2')
    assert r.columns == ["Company Very Short", "Super Name"]
    assert len(r.fetchall()) == 5
