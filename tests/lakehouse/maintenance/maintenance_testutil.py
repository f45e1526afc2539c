"""Helpers shared by the maintenance tests (unique module name: tests are not packages)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa

from lakehouse import Snapshot, Table


def rows(source: Table | Snapshot, *, by: str | list[str] = "id") -> pa.Table:
    """All rows, sorted by ``by``, so content can be compared regardless of file layout."""
    snap = source.snapshot() if isinstance(source, Table) else source
    keys = [by] if isinstance(by, str) else by
    return snap.scan().to_arrow().sort_by([(k, "ascending") for k in keys])


def file_fingerprints(root: str | Path) -> dict[str, tuple[str, int, int]]:
    """Relative path -> (sha256, size, mtime_ns) of every file below ``root`` outside _delta_log."""
    out = {}
    for dirpath, _, names in os.walk(root):
        if "_delta_log" in Path(dirpath).parts:
            continue
        for name in names:
            full = Path(dirpath) / name
            st = full.stat()
            digest = hashlib.sha256(full.read_bytes()).hexdigest()
            out[str(full.relative_to(root))] = (digest, st.st_size, st.st_mtime_ns)
    return out


def parquet_files(root: str | Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in Path(root).rglob("*.parquet") if "_delta_log" not in p.parts
    )
