"""Reads assembled from several cached ranges, and the prefetch of a query's files (lakehouse.cache)."""

from __future__ import annotations

import io
import os

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.cache import DataCache, DiskCache, entry_key, remote_name
from lakehouse.cache.prefetch import PrefetchFile, prefetch

COLUMNS = [f"c{i:02d}" for i in range(20)]


def _cache(tmp_path, **kw) -> DataCache:
    return DataCache(DiskCache(tmp_path / "cache", 1 << 30), **kw)


def _wide_file(fs, name: str, rows: int = 40_000, row_group: int = 10_000) -> tuple[str, bytes, pa.Table]:
    rng = np.random.default_rng(7)
    table = pa.table({c: rng.standard_normal(rows) for c in COLUMNS})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group, compression="none")
    path = f"/prefetch-{os.getpid()}/{name}"
    fs.pipe(path, buf.getvalue())
    return path, buf.getvalue(), table


def test_a_read_spanning_cached_ranges_fetches_only_the_gaps(tmp_path):
    fs = fsspec.filesystem("memory")
    path = f"/cover-{os.getpid()}/f.bin"
    data = os.urandom(50_000)
    fs.pipe(path, data)
    remote, size = remote_name(fs, path), len(data)
    cache = _cache(tmp_path)
    cache.store_range(remote, size, 1000, data[1000:2000])
    cache.store_range(remote, size, 3000, data[3000:4000])
    cache.store_range(remote, size, 3500, data[3500:6000])  # overlapping: the one reaching furthest serves
    assert cache.read_range(fs, path, remote, size, 500, 7000) == data[500:7000]
    stats = cache.fetcher(fs).stats
    assert stats.requests == 3 and stats.bytes == 500 + 1000 + 1000  # [500,1000) [2000,3000) [6000,7000)
    # Now wholly cached, in four entries: no request; another process finds them through the range index.
    other = _cache(tmp_path)
    assert other.read_range(fs, path, remote, size, 900, 6500) == data[900:6500]
    assert other.fetcher(fs).stats.requests == 0
    # An entry evicted under the reader: that part is fetched again, never served short or stale.
    os.unlink(other.disk.path(entry_key(remote, size, 3000, 1000)))
    assert other.read_range(fs, path, remote, size, 2500, 3600) == data[2500:3600]
    assert other.fetcher(fs).stats.requests == 1
    assert other.missing(remote, size, 0, 8000) == [(0, 500), (7000, 8000)]
    fs.rm(path, recursive=True)


def test_prefetch_fetches_footer_and_needed_chunks_then_the_reader_sends_nothing(tmp_path):
    fs = fsspec.filesystem("memory")
    path, data, table = _wide_file(fs, "wide.parquet")
    cache = _cache(tmp_path, whole_file_below=1 << 10)
    wanted = ["c00", "c05", "c17"]
    report = prefetch(cache, fs, [PrefetchFile(path, len(data), frozenset(wanted))])
    assert (report.whole, report.ranged) == (0, 1)
    stats = cache.fetcher(fs).stats
    # One GET for the footer, one per needed column chunk (4 row groups x 3 columns, none adjacent).
    assert stats.requests == 1 + 4 * 3 and 0 < stats.bytes <= 0.2 * len(data)
    with cache.open(fs, path, len(data)) as handle:
        got = pq.ParquetFile(handle).read(columns=wanted)
    assert got.equals(table.select(wanted))
    assert stats.requests == 1 + 4 * 3  # every read of the Parquet reader came from the prefetched ranges
    # Again: nothing to fetch.
    prefetch(cache, fs, [PrefetchFile(path, len(data), frozenset(wanted))])
    assert stats.requests == 1 + 4 * 3
    fs.rm(path, recursive=True)


def test_prefetch_fetches_whole_what_is_small_fully_needed_or_cheaper_whole(tmp_path, monkeypatch):
    fs = fsspec.filesystem("memory")
    path, data, _ = _wide_file(fs, "w.parquet")
    size = len(data)
    remote = remote_name(fs, path)

    def whole_cached(cache: DataCache) -> bool:
        return cache.disk.read(entry_key(remote, size), size) == data

    small = _cache(tmp_path / "small")  # 1 MiB: this ~6 MB file is not small ...
    everything = prefetch(small, fs, [PrefetchFile(path, size, None)])  # ... but every column is needed
    assert (everything.whole, everything.ranged) == (1, 0) and whole_cached(small)
    assert small.fetcher(fs).stats.requests == 1
    big = _cache(tmp_path / "big", whole_file_below=size)
    prefetch(big, fs, [PrefetchFile(path, size, frozenset(["c01"]))])
    assert whole_cached(big) and big.fetcher(fs).stats.requests == 1
    half = _cache(tmp_path / "half", whole_file_below=1 << 10)
    report = prefetch(half, fs, [PrefetchFile(path, size, frozenset(COLUMNS[:12]))])  # 60% of the bytes
    assert report.whole == 1 and whole_cached(half)
    # Measured cost: at 1 s a request, 12 range GETs one at a time cost more than one GET of the file.
    slow = _cache(tmp_path / "slow", whole_file_below=1 << 10)
    monkeypatch.setattr(type(slow.fetcher(fs)), "cost", lambda self: (1.0, 1e9))
    report = prefetch(slow, fs, [PrefetchFile(path, size, frozenset(["c00", "c05", "c17"]))], concurrency=1)
    assert report.whole == 1 and whole_cached(slow)
    fs.rm(path, recursive=True)


def test_prefetch_leaves_a_damaged_file_to_the_reader(tmp_path):
    fs = fsspec.filesystem("memory")
    path = f"/prefetch-{os.getpid()}/broken.parquet"
    fs.pipe(path, b"not parquet" * 200_000)
    cache = _cache(tmp_path, whole_file_below=1 << 10)
    report = prefetch(cache, fs, [PrefetchFile(path, 2_200_000, frozenset(["a"]))])
    assert (report.whole, report.ranged) == (0, 0)
    with pytest.raises(Exception), cache.open(fs, path, 2_200_000) as handle:  # noqa: B017
        pq.read_metadata(handle)
    fs.rm(path, recursive=True)
