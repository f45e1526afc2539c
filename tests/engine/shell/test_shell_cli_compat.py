"""DuckDB-CLI dot-commands with the same names and behaviour (.output, .once, .open, .headers,
.nullvalue, .mode line, .echo, .bail), dot-commands in piped input, and tab completion of keywords,
tables and columns in a real terminal (pexpect)."""

from __future__ import annotations

import io
import subprocess

import pexpect
import pytest
from test_shell import LAKEHOUSE, _cli, _env, spawn_shell  # same directory (rootdir-relative imports)

import engine
from engine.shell.completion import SqlCompleter
from engine.shell.dot_commands import COMMANDS
from engine.shell.runner import Settings
from engine.shell.script import Shell


@pytest.fixture
def db(tmp_path):
    session = engine.connect(str(tmp_path / "wh"))
    session.sql_script(
        "CREATE SCHEMA s; CREATE TABLE s.orders (id BIGINT, amount DOUBLE, note VARCHAR);"
        "INSERT INTO s.orders VALUES (1, 2.5, NULL), (2, NULL, 'x')"
    )
    yield session
    session.close()


def _shell(db, text, settings=None):
    out, err = io.StringIO(), io.StringIO()
    shell = Shell(db, settings or Settings())
    ok = shell.run(text, out, err)
    shell.close()
    return ok, out.getvalue(), err.getvalue(), shell


def test_headers_nullvalue_and_line_mode(db):
    ok, out, err, _ = _shell(
        db,
        ".headers off\n.mode csv\n.nullvalue (null)\nSELECT * FROM s.orders ORDER BY id;\n"
        ".headers on\n.mode line\nSELECT * FROM s.orders ORDER BY id;\n",
    )
    assert ok, err
    csv_part, line_part = out.split("    id = 1")[0], out[out.index("    id = 1") :]
    assert csv_part.strip().splitlines() == ["1,2.5,(null)", "2,(null),x"]  # no header row
    assert line_part.split("\n\n")[0].splitlines() == ["    id = 1", "amount = 2.5", "  note = (null)"]


def test_output_and_once_files(db, tmp_path):
    always, once = tmp_path / "all.txt", tmp_path / "once.txt"
    ok, out, err, _ = _shell(
        db,
        f".mode csv\n.output {always}\nSELECT 1 AS a;\nSELECT 2 AS b;\n.output\nSELECT 3 AS c;\n"
        f".once {once}\nSELECT 4 AS d;\nSELECT 5 AS e;\n",
    )
    assert ok, err
    assert always.read_text().split() == ["a", "1", "b", "2"]
    assert once.read_text().split() == ["d", "4"]
    assert out.split() == ["c", "3", "e", "5"]


def test_echo_and_bail(db):
    ok, out, err, _ = _shell(db, ".echo on\nSELECT 7 AS x;\n.bail off\nSELECT * FROM nope;\nSELECT 8 AS y;\n")
    assert not ok  # something failed ...
    assert "SELECT 7 AS x" in out and "SELECT 8 AS y" in out and "8" in out  # ... and the script went on
    assert "unknown table 'nope'" in err
    ok, out, err, _ = _shell(db, "SELECT * FROM nope;\nSELECT 9 AS z;\n")  # bail is on for scripts
    assert not ok and "9" not in out
    ok, out, err, _ = _shell(db, ".bail maybe\n")
    assert not ok and "Usage: .bail on|off" in out


def test_open_switches_warehouse(db, tmp_path):
    other = tmp_path / "other"
    with engine.connect(str(other)) as o:
        o.sql("CREATE TABLE only_here AS SELECT 41 AS v")
    ok, out, err, shell = _shell(db, f".open {other}\nSELECT v + 1 AS w FROM only_here;\n")
    assert ok, err
    assert "42" in out and shell.db.warehouse.endswith("other")
    assert shell.db.runtime.closed  # Shell.close closed the session it opened
    assert not db.runtime.closed  # ... but not the caller's


def test_piped_stdin_accepts_dot_commands(tmp_path):
    r = _cli(
        tmp_path,
        stdin=".help\nCREATE TABLE t AS SELECT 1 AS id;\n.mode csv\n.headers off\nSELECT id FROM t;\n",
    )
    assert r.returncode == 0, r.stderr
    assert ".output [FILE]" in r.stdout and r.stdout.strip().endswith("1")
    bad = _cli(tmp_path, stdin=".nosuch\nSELECT 1;\n")
    assert bad.returncode == 1 and "unknown command .nosuch" in bad.stderr


def test_sandbox_refuses_file_commands(tmp_path):
    r = subprocess.run(
        [*LAKEHOUSE, "sql", "--sandbox", "--warehouse", str(tmp_path / "wh")],
        input=f".output {tmp_path / 'x.txt'}\n",
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert r.returncode == 1 and "not allowed in a sandboxed session" in r.stderr
    assert not (tmp_path / "x.txt").exists()


def test_completer_reads_the_catalog(db):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    c = SqlCompleter(lambda: db, list(COMMANDS))

    def complete(text, cursor=None):
        doc = Document(text, cursor_position=len(text) if cursor is None else cursor)
        return [x.text for x in c.get_completions(doc, CompleteEvent(completion_requested=True))]

    assert "s.orders" in complete("SELECT * FROM s.or")
    assert complete("SELECT am") == ["ALL"] or "amount" not in complete("SELECT am")  # no table named yet
    assert "amount" in complete("SELECT * FROM s.orders WHERE am")
    assert "SELECT" in complete("SEL") and "select" in complete("sel")
    assert complete(".he") == [".headers", ".help"]
    db.sql("CREATE TABLE fresh (zeta BIGINT)")
    c.refresh()  # once per prompt
    assert "fresh" in complete("SELECT * FROM fr") and "zeta" in complete("SELECT ze FROM fresh", cursor=9)


def test_tab_completion_in_a_terminal(tmp_path, db):
    shell = spawn_shell(tmp_path)
    try:
        shell.expect("lakehouse>")
        shell.send("SELECT count(*) AS n FROM s.ord\t")
        shell.expect("ers")  # the terminal redraws only what the completion added
        shell.send(" WHERE amo\t")
        shell.expect("unt")
        shell.send(" IS NOT NULL;\r")
        shell.expect("1 row")
        shell.expect("lakehouse>")
        shell.sendline(".headers off")
        shell.expect("lakehouse>")
        shell.sendline(".mode line")
        shell.expect("lakehouse>")
        shell.sendline("SELECT 'done' AS status;")
        shell.expect("status = done")
        shell.sendline(".quit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close()


def test_progress_bar_setting(db):
    """The interactive shell turns on DuckDB's progress bar (when stdout is a terminal); checked by hand
    in a pexpect session with a 10 s query: the bar appears after 2 s."""

    def setting():
        with db.runtime.hold() as con:
            return con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]

    assert setting() is False
    db.runtime.enable_progress_bar()
    assert setting() is True
