"""Shared fixtures: table URIs on local disk, memory:// and a real local S3 server (SeaweedFS)."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    # The persistent data cache (lakehouse.cache) of the test run: private, never the user's ~/.cache.
    if "LAKEHOUSE_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["LAKEHOUSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="lakehouse-test-cache-")
        config._lakehouse_cache_dir = os.environ["LAKEHOUSE_CACHE_DIR"]


def pytest_unconfigure(config):
    made = getattr(config, "_lakehouse_cache_dir", None)
    if made:
        import shutil

        shutil.rmtree(made, ignore_errors=True)


def _s3_module():
    spec = importlib.util.spec_from_file_location("s3_server", ROOT / "scripts" / "s3_server.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A private SeaweedFS S3 server for the whole session, stopped (by PID) at the end."""
    mod = _s3_module()
    server = mod.start(tmp_path_factory.mktemp("s3data"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    """A private Postgres server (Debian's postgresql package) for the whole session, stopped at the end.
    Skips, saying why, where there are no server binaries or no psycopg (``bash scripts/dev.sh test``
    installs both)."""
    spec = importlib.util.spec_from_file_location("pg_server", ROOT / "scripts" / "pg_server.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("Postgres catalog tests need psycopg: pip install -e '.[postgres]'")
    if mod.find_bindir() is None:
        pytest.skip("no Postgres server binaries: apt-get install postgresql (scripts/dev.sh test does)")
    import tempfile

    server = mod.start(tempfile.mkdtemp(prefix="lakehouse-pg-"))  # not under pytest's private root
    yield server
    server.stop(remove=True)


@pytest.fixture
def s3_options(s3_server) -> dict:
    return s3_server.storage_options()


@pytest.fixture
def s3_uri(s3_server) -> str:
    return f"s3://lake/test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def table_location(request, tmp_path):
    """(uri, storage_options) of a fresh table location on each backend."""
    if request.param == "local":
        return str(tmp_path / "table"), None
    if request.param == "memory":
        return f"memory://t-{uuid.uuid4().hex}", None
    server = request.getfixturevalue("s3_server")
    return f"s3://lake/t-{uuid.uuid4().hex[:12]}", server.storage_options()


@pytest.fixture(scope="session")
def shared_tables() -> Path:
    """Delta tables written by other engines (Spark, delta-rs), with expected.json."""
    # A copy lives in the repository (tests/data, Apache-2.0 test data of delta-rs) so CI needs nothing else.
    return Path(os.environ.get("LAKEHOUSE_SHARED_TABLES") or ROOT / "tests" / "data" / "delta-tables")
