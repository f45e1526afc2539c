"""Shared by the transaction tests: warehouses on SQLite+local and Postgres+S3, worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WORKERS = Path(__file__).with_name("txn_workers.py")

# (catalog, storage) pairs the transaction tests run on
PAIRS = ["sqlite-local", "postgres-s3"]


def make_config(request, pair: str, tmp_path: Path) -> dict:
    """{"warehouse", "catalog", "options"} of a fresh warehouse for ``pair``."""
    if pair == "sqlite-local":
        wh = str(tmp_path / "wh")
        return {"warehouse": wh, "catalog": f"sqlite:///{wh}/catalog.db", "options": None}
    pg = request.getfixturevalue("pg_server")
    options = request.getfixturevalue("s3_options")
    tag = uuid.uuid4().hex[:12]
    return {
        "warehouse": f"s3://lake/txn-{tag}",
        "catalog": pg.catalog_url(f"txn_{tag}"),
        "options": options,
    }


def spawn(role: str, cfg: dict, env: dict | None = None) -> subprocess.Popen:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, str(WORKERS), role, json.dumps(cfg)], env=full)


def run(role: str, cfg: dict) -> None:
    p = spawn(role, cfg)
    assert p.wait(timeout=120) == 0


def journal(paths) -> list[list[str]]:
    out = []
    for p in paths:
        if os.path.exists(p):
            for line in Path(p).read_text().splitlines():
                parts = line.split()
                if parts and parts[0] in "TAKR" and len(parts) == {"T": 3, "A": 3, "K": 3, "R": 7}[parts[0]]:
                    out.append(parts)  # a line cut short by SIGKILL has fewer fields: ignored
    return out


def read_with_deltalake(uri: str, options: dict | None):
    """The table as delta-rs reads it (tests/catalog/catalog_testutil.py)."""
    here = str(ROOT / "tests" / "catalog")
    if here not in sys.path:
        sys.path.append(here)
    from catalog_testutil import read_with_deltalake as read

    return read(uri, options)
