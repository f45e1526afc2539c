"""Data generation: layout, Parquet settings, queries.json, idempotency and recovery."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq
import pytest

from tpcds.generate import (
    MARKER_FILE,
    TABLES,
    ensure_generator_env,
    generate_parquet,
    load_queries,
    read_marker,
)

pytestmark = pytest.mark.slow


def _mtimes(out):
    return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_generator_env_is_cached():
    venv = ensure_generator_env(progress=lambda m: None)
    t0 = time.perf_counter()
    assert ensure_generator_env(progress=lambda m: None) == venv
    assert time.perf_counter() - t0 < 1.0
    assert (venv / "bin" / "python").exists()


def test_generate_sf001_and_idempotent(tmp_path):
    out = tmp_path / "sf0.01"
    messages: list[str] = []
    paths = generate_parquet(0.01, out, progress=messages.append)
    assert sorted(paths) == sorted(TABLES) and len(paths) == 24
    assert any("dsdgen(sf=0.01)" in m for m in messages)
    assert all(m.startswith("[") and "s]" in m for m in messages)  # elapsed seconds on every step

    marker = read_marker(out)
    assert marker["sf"] == 0.01 and marker["generator"] == "duckdb"
    assert marker["tables"]["store_sales"]["rows"] == 28810
    for name, path in paths.items():
        files = sorted(path.glob("*.parquet"))
        assert files, name
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        assert rows == marker["tables"][name]["rows"]
    meta = pq.ParquetFile(next(paths["date_dim"].glob("*.parquet"))).metadata  # 73,049 rows
    assert meta.num_row_groups == 1 and meta.row_group(0).num_rows == 73_049
    assert meta.row_group(0).column(0).compression == "ZSTD"
    meta = pq.ParquetFile(next(paths["time_dim"].glob("*.parquet"))).metadata  # 86,400 rows
    assert meta.num_row_groups == 1

    queries = load_queries(out)
    assert sorted(queries) == list(range(1, 100))
    assert "store_sales" in queries[1] or "store_returns" in queries[1]

    before = _mtimes(out)
    messages.clear()
    t0 = time.perf_counter()
    assert generate_parquet(0.01, out, progress=messages.append) == paths
    assert time.perf_counter() - t0 < 1.0
    assert "nothing to do" in messages[-1]
    assert _mtimes(out) == before

    with pytest.raises(FileExistsError, match="sf=0.02"):
        generate_parquet(0.02, out, progress=lambda m: None)


def test_interrupted_generation_is_redone(tmp_path):
    out = tmp_path / "data"
    generate_parquet(0.01, out, progress=lambda m: None)
    # Simulate a crash after some files were moved: no marker, a stale staging dir, a missing table.
    (out / MARKER_FILE).unlink()
    (out / ".staging-dead").mkdir()
    for f in (out / "item").glob("*"):
        f.unlink()
    generate_parquet(0.01, out, progress=lambda m: None)
    assert read_marker(out)["tables"]["item"]["rows"] == 180
    assert list((out / "item").glob("*.parquet"))
    assert not list(out.glob(".staging-*"))
    assert json.loads((out / "queries.json").read_text())["99"]


def test_row_group_size_is_applied(tmp_path):
    out = tmp_path / "small-groups"
    generate_parquet(0.01, out, progress=lambda m: None, row_group_size=10_240)  # DuckDB: multiple of 2048
    meta = pq.ParquetFile(next((out / "store_sales").glob("*.parquet"))).metadata
    assert meta.num_row_groups == 3  # 28,810 rows
    assert [meta.row_group(i).num_rows for i in range(3)] == [10_240, 10_240, 8_330]


def test_tpcgen_generator_matches_dsdgen_schema(tmp_path):
    dsdgen = generate_parquet(0.01, tmp_path / "d", progress=lambda m: None)
    tpcgen = generate_parquet(0.01, tmp_path / "t", progress=lambda m: None, generator="tpcgen")
    for name in TABLES:
        a = pq.read_schema(next(dsdgen[name].glob("*.parquet")))
        b = pq.read_schema(next(tpcgen[name].glob("*.parquet")))
        assert a.names == b.names and a.types == b.types, name
    assert read_marker(tmp_path / "t")["generator"] == "tpcgen"


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_parquet(-1, tmp_path, progress=lambda m: None)
    with pytest.raises(ValueError):
        generate_parquet(1, tmp_path, progress=lambda m: None, generator="nope")
    with pytest.raises(FileNotFoundError):
        load_queries(tmp_path)
