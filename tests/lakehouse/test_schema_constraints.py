"""Acceptance 8: schema and constraint violations leave the table unchanged; schema evolution by merge."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from lakehouse_testutil import normalise, read_deltalake, rows_of

from lakehouse import ConstraintViolation, SchemaMismatch, Table

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("qty", pa.int32()),
        pa.field("price", pa.decimal128(8, 2)),
        pa.field("region", pa.string()),
    ]
)


def good(ids, qty=1, region="eu") -> pa.Table:
    ids = list(ids)
    return pa.table(
        {
            "id": ids,
            "qty": [qty] * len(ids),
            "price": [Decimal("1.50")] * len(ids),
            "region": [region] * len(ids),
        },
        schema=SCHEMA,
    )


def _data_files(table: Table) -> set[str]:
    return {f.path for f in table.storage.walk("") if not f.path.startswith("_delta_log")}


class Unchanged:
    """Asserts a failed write left version, visible files and data files on storage as they were."""

    def __init__(self, table: Table):
        self.table = table

    def __enter__(self):
        self.version = self.table.version
        self.visible = {f.path for f in self.table.snapshot().files}
        self.on_storage = _data_files(self.table)
        self.rows = rows_of(self.table.snapshot().scan().to_arrow())
        return self

    def __exit__(self, *exc):
        assert self.table.version == self.version
        assert {f.path for f in self.table.snapshot().files} == self.visible
        assert _data_files(self.table) == self.on_storage, "a failed write left a data file behind"
        assert rows_of(self.table.snapshot().scan().to_arrow()) == self.rows
        return False


@pytest.fixture
def table(table_location) -> Table:
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, partition_by=["region"], storage_options=opts)
    t.append(good(range(5)))
    return t


def test_wrong_type_is_rejected_naming_column_and_types(table):
    bad = pa.table({"id": [9], "qty": ["many"], "price": [Decimal("1.00")], "region": ["eu"]})
    with Unchanged(table), pytest.raises(SchemaMismatch, match=r"'qty'.*string.*int32"):
        table.append(bad)
    narrowing = good([9]).set_column(1, "qty", pa.array([1], pa.int64()))
    with Unchanged(table), pytest.raises(SchemaMismatch, match="qty"):
        table.append(narrowing)
    # widening is automatic: int16 into int32, int32 into decimal(8,2) is not (8-2 < 10 digits)
    table.append(good([10]).set_column(1, "qty", pa.array([3], pa.int16())))
    assert table.snapshot().scan(where="id = 10").to_arrow()["qty"].to_pylist() == [3]
    with Unchanged(table), pytest.raises(SchemaMismatch, match="price"):
        table.append(good([11]).set_column(2, "price", pa.array([1], pa.int32())))


def test_extra_column_is_rejected_in_strict_mode(table):
    extra = good([7]).append_column("discount", pa.array([0.1]))
    with Unchanged(table), pytest.raises(SchemaMismatch, match="discount.*schema_mode='merge'"):
        table.append(extra)
    with Unchanged(table), pytest.raises(SchemaMismatch, match="discount"):
        table.overwrite(extra)


def test_not_null_violation(table):
    nulls = pa.table(
        {"id": [None, 8], "qty": [1, 1], "price": [None, None], "region": ["eu", "us"]},
        schema=SCHEMA.set(0, pa.field("id", pa.int64())),
    )
    with Unchanged(table), pytest.raises(ConstraintViolation, match="NOT NULL.*'id'"):
        table.append(nulls)
    with Unchanged(table), pytest.raises(SchemaMismatch, match="'id'.*NOT NULL"):
        table.append(pa.table({"qty": pa.array([1], pa.int32())}))
    with Unchanged(table), pytest.raises(ConstraintViolation):
        table.update({"id": "NULL"}, where="id = 1")
    with Unchanged(table), pytest.raises(ConstraintViolation):
        table.overwrite(nulls)


def test_check_constraint_enforced_on_every_write_path(table):
    assert (table.snapshot().protocol.min_reader_version, table.snapshot().protocol.min_writer_version) == (
        1,
        2,
    )
    table.add_constraint("qty_positive", "qty > 0")
    proto = table.snapshot().protocol
    assert (proto.min_reader_version, proto.min_writer_version) == (1, 3)
    assert table.snapshot().properties["delta.constraints.qty_positive"] == "qty > 0"
    with Unchanged(table), pytest.raises(ConstraintViolation, match=r"qty_positive.*qty > 0.*\"qty\": -1"):
        table.append(good([20, 21], qty=-1))
    with Unchanged(table), pytest.raises(ConstraintViolation, match="qty_positive"):
        table.overwrite(good([20], qty=0))
    with Unchanged(table), pytest.raises(ConstraintViolation, match="qty_positive"):
        table.overwrite(good([20], qty=-5), where="id = 20")
    with Unchanged(table), pytest.raises(ConstraintViolation, match="qty_positive"):
        table.update({"qty": "qty - 10"}, where="id = 3")
    with (
        Unchanged(table),
        pytest.raises(ConstraintViolation, match="qty_positive"),
        table.transaction() as tx,
    ):
        tx.append(good([30]))  # fine on its own: the whole transaction is rolled back
        tx.append(good([31], qty=-1))
    # NULL passes a CHECK, as in SQL
    table.append(pa.table({"id": [40], "qty": pa.array([None], pa.int32()), "region": ["us"]}))
    table.drop_constraint("qty_positive")
    table.append(good([41], qty=-1))
    assert table.snapshot().scan(where="qty < 0").count() == 1


def test_add_constraint_refused_when_rows_violate(table):
    with Unchanged(table), pytest.raises(ConstraintViolation, match=r"id < 3.*2 existing row"):
        table.add_constraint("small_ids", "id < 3")
    assert "delta.constraints.small_ids" not in table.snapshot().properties
    assert table.snapshot().protocol.min_writer_version == 2
    # a constraint over a partition column works too
    table.add_constraint("known_region", "region IN ('eu', 'us')")
    with Unchanged(table), pytest.raises(ConstraintViolation, match="known_region"):
        table.append(good([50], region="mars"))
    with pytest.raises(ConstraintViolation, match="already exists"):
        table.add_constraint("known_region", "region IS NOT NULL")
    with pytest.raises(ConstraintViolation, match="no constraint named"):
        table.drop_constraint("nope")


def test_delta_rs_enforces_our_check_constraint(tmp_path):
    deltalake = pytest.importorskip("deltalake")
    uri = str(tmp_path / "t")
    table = Table.create(uri, SCHEMA)
    table.append(good([1]))
    table.add_constraint("qty_positive", "qty > 0")
    with pytest.raises(Exception, match="(?i)constraint|check|invariant"):
        deltalake.write_deltalake(uri, good([2], qty=-3), mode="append")
    assert table.version == 2


def test_merge_adds_nullable_columns_old_files_read_nulls(table_location):
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, storage_options=opts)
    t.append(good([1, 2]))
    wider = good([3]).append_column("discount", pa.array([0.25])).append_column("note", pa.array(["n"]))
    v = t.append(wider, schema_mode="merge")
    snap = t.snapshot()
    assert snap.schema.names == ["id", "qty", "price", "region", "discount", "note"]
    assert snap.schema.field("discount").nullable and snap.schema.field("note").type == pa.string()
    got = rows_of(snap.scan(columns=["id", "discount", "note"]).to_arrow())
    assert got == [
        {"id": 1, "discount": None, "note": None},
        {"id": 2, "discount": None, "note": None},
        {"id": 3, "discount": 0.25, "note": "n"},
    ]
    # the old version keeps the old schema; later strict writes may omit the new nullable columns
    assert t.snapshot(version=v - 1).schema.names == SCHEMA.names
    t.append(good([4]))
    assert t.snapshot().scan(where="id = 4").to_arrow()["discount"].to_pylist() == [None]
    # predicates on the new column prune old files (all-null) and keep matching rows
    assert t.snapshot().scan(where="discount > 0").to_arrow()["id"].to_pylist() == [3]
    # a merge that changes an existing column's type is still an error
    with pytest.raises(SchemaMismatch, match="qty"):
        t.append(good([5]).set_column(1, "qty", pa.array(["x"])), schema_mode="merge")
    if opts is None and "://" not in uri:
        theirs = normalise(read_deltalake(uri, None), t.schema)
        assert rows_of(theirs) == rows_of(t.snapshot().scan().to_arrow())
