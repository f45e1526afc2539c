"""Fixtures for the batch-job tests: a warehouse with a small generated text corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mr_funcs, importable by workers too

import mr_funcs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "ray: starts a private local Ray instance (a few seconds)")


@pytest.fixture
def corpus_db(tmp_path):
    """(session, corpus tables): ``docs.pages`` holds the corpus in 3 files (3 appends)."""
    import engine

    db = engine.connect(str(tmp_path / "wh"))
    db.catalog.create_namespace("docs")
    tables = mr_funcs.corpus()
    t = db.catalog.create_table("docs.pages", tables[0].schema)
    for part in tables:
        t.append(part)
    yield db, tables
    db.close()
