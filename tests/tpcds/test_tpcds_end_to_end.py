"""``lakehouse tpcds``: generate + load + run through the CLI entry, on local disk and on the S3 server.

Small scale factors keep this file fast; the generated plain Parquet copy is shared by the tests
(``--plain-dir``), each test loads its own warehouse.
"""

from __future__ import annotations

import argparse
import csv
import os
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from catalog import load_catalog
from engine.shell.cli import main
from lakehouse.errors import LakehouseError
from tpcds.cli import parse_queries
from tpcds.generate import TABLES, generate_parquet, read_marker
from tpcds.load import PROP_LOADED, SORT_KEYS, default_namespace, load_tables, normalize_schema
from tpcds.queries import qualify_tables

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plain001(tmp_path_factory):
    out = tmp_path_factory.mktemp("tpcds-plain") / "sf0.01"
    generate_parquet(0.01, out, progress=lambda m: None)
    return out


def _results(report_dir) -> list[dict]:
    with open(report_dir / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _report_dir(out: str):
    line = next(x for x in out.splitlines() if x.startswith("report: "))
    from pathlib import Path

    return Path(line[len("report: ") :]).parent


def test_all_sf001_local_every_query_identical_and_rerun_reuses_data(plain001, tmp_path, capsys):
    wh = tmp_path / "wh"
    rc = main(["tpcds", "all", "--sf", "0.01", "--warehouse", str(wh), "--plain-dir", str(plain001)])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "99 queries: 99 passed, 0 failed" in out
    assert "ratio" in out  # the baseline ran in the same run
    report = _report_dir(out)
    assert report.parent == wh.resolve() / "_tpcds_reports" and report.name.startswith("sf0.01-")
    rows = _results(report)
    assert [int(r["query"]) for r in rows] == list(range(1, 100))
    assert all(r["status"] == "passed" and float(r["baseline_seconds"]) > 0 for r in rows)
    assert sum(1 for r in rows if int(r["rows"])) >= 60  # most queries return rows even at SF 0.01
    assert (report / "report.md").read_text().startswith("# TPC-DS sf=0.01")
    assert (report / "chart.png").stat().st_size > 1000

    # The tables are lakehouse tables in the catalog, with statistics; the fact tables are date-sorted.
    cat = load_catalog(f"sqlite:///{wh}/catalog.db", warehouse=str(wh))
    ns = default_namespace(0.01)
    assert sorted(t.split(".")[1] for t in cat.list_tables(ns)) == sorted(TABLES)
    snap = cat.load_table(f"{ns}.store_sales").snapshot()
    assert sum(f.num_records for f in snap.files) == read_marker(plain001)["tables"]["store_sales"]["rows"]
    assert snap.properties["tpcds.sortedBy"] == SORT_KEYS["store_sales"]
    key = snap.scan(columns=[SORT_KEYS["store_sales"]]).to_arrow().column(0).drop_null().to_pylist()
    assert key == sorted(key)
    assert snap.scan(where="ss_sold_date_sk < 2450000").files_skipped == snap.num_files  # stats prune
    # The sort is stable: rows of one day keep the generator's order (inventory: by item, warehouse).
    cols = ["inv_date_sk", "inv_item_sk", "inv_warehouse_sk"]
    loaded = cat.load_table(f"{ns}.inventory").snapshot().scan(columns=cols).to_arrow()
    plain = pq.read_table(plain001 / "inventory", columns=cols)
    assert loaded.equals(plain.take(pc.sort_indices(plain, [("inv_date_sk", "ascending")])))

    # Second run: generate and load are skipped, only the selected queries run.
    rc = main(
        [
            "tpcds",
            "all",
            "--sf",
            "0.01",
            "--warehouse",
            str(wh),
            "--plain-dir",
            str(plain001),
            "--queries",
            "3,7",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "nothing to do" in out and "nothing to load" in out
    assert "2 queries: 2 passed, 0 failed" in out

    # All 99 again in a sandboxed session (untrusted SQL: no files, settings or extensions reachable).
    rc = main(["tpcds", "run", "--sf", "0.01", "-w", str(wh), "--plain-dir", str(plain001), "--sandbox"])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "99 queries: 99 passed, 0 failed" in out


def test_generate_then_run_without_sf_finds_the_namespace(plain001, tmp_path, capsys):
    wh = tmp_path / "wh"
    assert (
        main(
            [
                "tpcds",
                "generate",
                "--sf",
                "0.01",
                "-w",
                str(wh),
                "--plain-dir",
                str(plain001),
                "--namespace",
                "bench",
            ]
        )
        == 0
    )
    report = tmp_path / "rep"
    rc = main(
        [
            "tpcds",
            "run",
            "-w",
            str(wh),
            "--namespace",
            "bench",
            "--plain-dir",
            str(plain001),
            "--queries",
            "1-3,42",
            "--report-dir",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out[-2000:]
    rows = _results(report)
    assert [int(r["query"]) for r in rows] == [1, 2, 3, 42]
    assert all(r["status"] == "passed" and r["baseline_seconds"] == "" for r in rows)  # no --baseline


def test_a_timeout_fails_the_run_and_is_reported(plain001, tmp_path, capsys):
    wh = tmp_path / "wh"
    rc = main(
        [
            "tpcds",
            "all",
            "--sf",
            "0.01",
            "-w",
            str(wh),
            "--plain-dir",
            str(plain001),
            "--queries",
            "4",
            "--timeout",
            "0.000001",
            "--report-dir",
            str(tmp_path / "rep"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1
    assert _results(tmp_path / "rep")[0]["status"] == "timeout"
    assert "q4 timeout" in out


def test_run_without_data_says_what_to_do(tmp_path, capsys):
    rc = main(
        ["tpcds", "run", "-w", str(tmp_path / "empty"), "--sf", "0.01", "--plain-dir", str(tmp_path / "none")]
    )
    assert rc == 1
    assert "lakehouse tpcds generate --sf 0.01" in capsys.readouterr().err


def test_load_redoes_a_half_loaded_namespace_and_refuses_other_data(plain001, tmp_path):
    cat = load_catalog(f"sqlite:///{tmp_path}/catalog.db", warehouse=str(tmp_path))
    ns = "t"
    load_tables(cat, plain001, ns, 0.01, progress=lambda m: None, sort=False)
    assert cat.namespace_properties(ns)[PROP_LOADED] == "0.01"
    # Simulate a crash: one table emptied and the namespace not marked complete.
    item = cat.load_table(f"{ns}.item")
    item.delete()
    cat.set_namespace_properties(ns, {PROP_LOADED: None})
    messages: list[str] = []
    results = load_tables(cat, plain001, ns, 0.01, progress=messages.append, sort=False)
    redone = [r.name for r in results if not r.skipped]
    assert redone == [f"{ns}.item"]
    assert any("incomplete" in m and "item" in m for m in messages)
    assert (
        cat.load_table(f"{ns}.item").snapshot().scan().count()
        == read_marker(plain001)["tables"]["item"]["rows"]
    )
    assert cat.namespace_properties(ns)[PROP_LOADED] == "0.01"
    with pytest.raises(LakehouseError, match="holds TPC-DS sf=0.01, not sf=0.1"):
        load_tables(cat, plain001, ns, 0.1, progress=lambda m: None)  # the Parquet copy is another sf
    cat.set_namespace_properties(ns, {"tpcds.generator": "tpcgen"})  # loaded from other data
    with pytest.raises(LakehouseError, match=r"sf=0.01 \(tpcgen\), not sf=0.01 \(duckdb\)"):
        load_tables(cat, plain001, ns, 0.01, progress=lambda m: None)


def test_helpers():
    assert parse_queries("1-3,7,2") == [1, 2, 3, 7]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_queries("0-100")
    assert default_namespace(0.1) == "tpcds_sf0_1" and default_namespace(1) == "tpcds_sf1"
    schema = normalize_schema(
        pa.schema([pa.field("a", pa.large_string(), False), ("d", pa.decimal128(7, 2))])
    )
    assert schema == pa.schema([("a", pa.string()), ("d", pa.decimal128(7, 2))])
    sql = "WITH store AS (SELECT 1) SELECT * FROM store, store_sales s, x.item JOIN date_dim USING (k)"
    assert qualify_tables(sql, "ns", TABLES) == (
        "WITH store AS (SELECT 1) SELECT * FROM store, ns.store_sales AS s, x.item JOIN ns.date_dim USING (k)"
    )


@pytest.mark.s3
def test_all_sf001_on_the_s3_server(plain001, s3_server, tmp_path, capsys, monkeypatch):
    opts = s3_server.storage_options()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", opts["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", opts["secret"])
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    wh = f"s3://lake/tpcds-{uuid.uuid4().hex[:8]}"
    rc = main(
        [
            "tpcds",
            "all",
            "--sf",
            "0.01",
            "--warehouse",
            wh,
            "--s3-endpoint",
            s3_server.endpoint,
            "--plain-dir",
            str(plain001),
            "--report-dir",
            str(tmp_path / "rep"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "99 queries: 99 passed, 0 failed" in out
    import s3fs

    fs = s3fs.S3FileSystem(**opts)
    assert fs.exists(f"{wh[5:]}/{default_namespace(0.01)}/store_sales/_delta_log")
    assert os.path.exists(tmp_path / "rep" / "report.md")
