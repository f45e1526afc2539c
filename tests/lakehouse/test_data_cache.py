"""The persistent data cache (lakehouse.cache.store): atomic publish, SIGKILL, LRU bound, two processes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse.cache import DiskCache, entry_key, parse_size

ROOT = Path(__file__).resolve().parents[2]


def _content(key: str, size: int) -> bytes:
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def _entries(cache: DiskCache) -> list[Path]:
    return [p for p in cache.data.rglob("*") if p.is_file()]


def test_put_get_and_size_check(tmp_path):
    cache = DiskCache(tmp_path, 1 << 20)
    key = entry_key("s3://b/k.parquet", 5)
    assert cache.get(key, 5) is None
    cache.put(key, b"hello")
    assert cache.read(key, 5) == b"hello"
    assert cache.read(key, 6) is None  # a length that disagrees is never served (and the entry goes)
    assert cache.get(key, 5) is None
    with pytest.raises(OSError, match="wrote 3 bytes, expected 5"):
        cache.fill(key, 5, lambda f: f.write(b"abc"))
    assert cache.get(key, 5) is None and not list(cache.tmp.iterdir())


def test_least_recently_used_entries_go_first_and_the_bound_holds(tmp_path):
    cache = DiskCache(tmp_path, 1000)
    keys = [entry_key(f"s3://b/{i}", 300) for i in range(3)]
    for i, k in enumerate(keys):
        cache.put(k, _content(k, 300))
        os.utime(cache.path(k), (1000 + i, 1000 + i))  # 0 oldest ... 2 newest
    cache.get(keys[0], 300)  # a hit makes 0 the most recent
    new = entry_key("s3://b/new", 300)
    cache.put(new, _content(new, 300))  # 1200 > 1000: evict down to 900
    assert cache.get(keys[1], 300) is None  # least recently used
    assert cache.read(keys[0], 300) == _content(keys[0], 300)
    assert sum(p.stat().st_size for p in _entries(cache)) <= 1000
    info = cache.info()
    assert info["entries"] == len(_entries(cache)) and info["bytes"] <= 1000
    assert cache.clear()["entries"] == info["entries"] and cache.info()["entries"] == 0


_KILLED_FILLER = """
import sys, time
from lakehouse.cache import DiskCache
cache = DiskCache(sys.argv[1], 1 << 30)
def write(f):
    f.write(b"x" * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(60)  # killed here, half-way through the entry
    f.write(b"y" * 1000)
cache.fill(sys.argv[2], 2000, write)
"""


def test_a_filler_killed_by_sigkill_leaves_no_entry(tmp_path):
    key = entry_key("s3://b/killed.parquet", 2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_FILLER, str(tmp_path), key], stdout=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout.readline().strip() == b"writing"
        cache = DiskCache(tmp_path, 1 << 30)
        assert [p.stat().st_size for p in cache.tmp.iterdir()] == [1000]  # the half-written temp file
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    assert cache.get(key, 2000) is None and not _entries(cache)  # never a partial entry
    cache.put(key, b"z" * 2000)
    assert cache.read(key, 2000) == b"z" * 2000
    cache._evict(1 << 30)  # the next eviction sweeps the dead filler's temp file
    assert not list(cache.tmp.iterdir())


_FILLER = """
import hashlib, sys
from lakehouse.cache import DiskCache, entry_key
cache = DiskCache(sys.argv[1], int(sys.argv[2]))
def content(key, size):
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]
bad = 0
for round_ in range(3):
    for i in range(40):
        key = entry_key(f"s3://b/file-{i}", 50_000)
        data = cache.read(key, 50_000)
        if data is None:
            cache.put(key, content(key, 50_000))
            data = cache.read(key, 50_000)
        if data is not None and data != content(key, 50_000):
            bad += 1
print(bad)
"""


def test_two_processes_filling_concurrently_read_correct_data_within_the_bound(tmp_path):
    bound = 1_000_000  # 20 entries of the 40 each process cycles through
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _FILLER, str(tmp_path), str(bound)], stdout=subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert [int(o) for o in outs] == [0, 0]  # every entry read back was exactly its content
    cache = DiskCache(tmp_path, bound)
    entries = _entries(cache)
    assert 0 < sum(p.stat().st_size for p in entries) <= bound
    for p in entries:
        assert len(p.read_bytes()) == 50_000
    assert cache.info()["bytes"] <= bound


def test_parse_size():
    assert parse_size("1GiB") == 1 << 30 and parse_size("500MB") == 500_000_000 and parse_size(42) == 42
    with pytest.raises(ValueError, match="cannot read cache size 'lots'"):
        parse_size("lots")


def test_stale_session_views_of_dead_processes_are_swept(tmp_path):
    cache = DiskCache(tmp_path, 1000)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    view = cache.sessions / f"{dead.pid}-abc"
    (view / "bucket").mkdir(parents=True)
    mine = cache.new_session_dir()
    time.sleep(0.01)
    cache._sweep()
    assert not view.exists() and mine.exists()


def test_a_range_inside_one_another_process_cached_is_served_without_a_request(tmp_path):
    import fsspec

    from lakehouse.cache import DataCache, remote_name

    fs = fsspec.filesystem("memory")
    path = f"/rng-{os.getpid()}/f.parquet"
    data = bytes(range(256)) * 64
    fs.pipe(path, data)
    remote = remote_name(fs, path)
    first, second = DataCache(DiskCache(tmp_path, 1 << 20)), DataCache(DiskCache(tmp_path, 1 << 20))
    assert first.read_range(fs, path, remote, len(data), 1000, 9000) == data[1000:9000]
    assert first.fetcher(fs).stats.requests == 1
    assert second.read_range(fs, path, remote, len(data), 2000, 3000) == data[2000:3000]  # containment
    assert second.read_range(fs, path, remote, len(data), 1000, 9000) == data[1000:9000]  # exact key
    assert second.fetcher(fs).stats.requests == 0
    assert second.read_range(fs, path, remote, len(data), 8000, 10000) == data[8000:10000]  # not inside
    assert second.fetcher(fs).stats.requests == 1
    fs.rm(path)
