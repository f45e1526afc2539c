"""Dot-commands, called directly (the pexpect test covers the terminal)."""

from __future__ import annotations

import io

import pytest

import engine
from engine.shell.dot_commands import Quit, run_dot
from engine.shell.runner import Settings


@pytest.fixture
def db(tmp_path):
    session = engine.connect(str(tmp_path / "wh"))
    session.sql_script(
        "CREATE SCHEMA s; CREATE TABLE s.t (id BIGINT, v VARCHAR); INSERT INTO s.t VALUES (1, 'a')"
    )
    yield session
    session.close()


def _run(db, line, settings=None):
    out = io.StringIO()
    run_dot(db, line, settings or Settings(), out)
    return out.getvalue()


def test_tables_schema_history(db):
    assert "s " in _run(db, ".tables s") and "│ t " in _run(db, ".tables")
    schema = _run(db, ".schema s.t")
    assert "id" in schema and "BIGINT" in schema
    assert "s.t" in _run(db, ".schema")
    history = _run(db, ".history s.t")
    assert "CREATE TABLE" in history and "WRITE" in history


def test_settings_commands(db, tmp_path):
    settings = Settings()
    _run(db, ".mode csv", settings)
    _run(db, ".maxrows 3", settings)
    _run(db, ".timer on", settings)
    assert (settings.mode, settings.max_rows, settings.timer) == ("csv", 3, True)
    assert "unknown mode" in _run(db, ".mode xml", settings)
    script = tmp_path / "q.sql"
    script.write_text("SELECT id, v FROM s.t;\n")
    out = _run(db, f".read {script}", settings)
    assert "id,v\n1,a" in out and "Run Time:" in out
    assert "cannot read" in _run(db, ".read /nonexistent/file.sql", settings)


def test_help_unknown_and_quit(db):
    assert ".tables" in _run(db, ".help") and ".quit" in _run(db, ".help")
    assert "unknown command .frobnicate" in _run(db, ".frobnicate")
    assert "unknown table" in _run(db, ".schema nope")
    with pytest.raises(Quit):
        _run(db, ".quit")
