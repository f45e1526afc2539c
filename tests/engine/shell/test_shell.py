"""The SQL shell as a person uses it: a real terminal (pexpect), and the non-interactive forms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect

# The installed console script, exactly what a user runs.
LAKEHOUSE = [str(Path(sys.executable).with_name("lakehouse"))]
ROOT = Path(__file__).resolve().parents[3]


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(
        PROMPT_TOOLKIT_NO_CPR="1",
        LAKEHOUSE_HISTORY=str(tmp_path / "history"),
        TERM="xterm",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def _cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LAKEHOUSE, "sql", "--warehouse", str(tmp_path / "wh"), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
        cwd=tmp_path,
    )


def spawn_shell(tmp_path: Path) -> pexpect.spawn:
    """``lakehouse sql`` on ``tmp_path/wh`` in a pseudo-terminal."""
    return pexpect.spawn(
        LAKEHOUSE[0],
        [*LAKEHOUSE[1:], "sql", "--warehouse", str(tmp_path / "wh")],
        env=_env(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 160),
        cwd=str(tmp_path),
    )


def test_interactive_session(tmp_path):
    shell = spawn_shell(tmp_path)
    try:
        shell.expect("lakehouse>")
        shell.sendline("CREATE TABLE t (id BIGINT, s VARCHAR);")
        shell.expect("lakehouse>")
        # a statement over several lines runs when the ';' arrives
        shell.sendline("INSERT INTO t VALUES (1, 'one'),")
        shell.expect(r"\.\.\.>")
        shell.sendline("(2, 'two');")
        shell.expect("lakehouse>")
        shell.sendline("SELECT s, id * 10 AS x")
        shell.sendline("FROM t ORDER BY id;")
        shell.expect("two")
        shell.expect("2 rows")
        shell.expect("lakehouse>")
        # a dot-command
        shell.sendline(".tables")
        shell.expect("main")
        shell.expect("lakehouse>")
        # a bad query: one clear message, the shell stays
        shell.sendline("SELECT * FROM tt;")
        shell.expect(r"Error: unknown table 'tt' \(did you mean main\.t\?\)")
        shell.expect("lakehouse>")
        # Ctrl-C during a long query cancels it and keeps the shell
        shell.sendline("SELECT sum(a.range * b.range) FROM range(200000000) a, range(1000) b;")
        time.sleep(1.5)
        shell.sendintr()
        shell.expect("Cancelled")
        shell.expect("lakehouse>")
        shell.sendline("SELECT count(*) AS n FROM t;")
        shell.expect(r"1 row")
        shell.expect("lakehouse>")
        shell.sendline(".quit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close()
    assert shell.exitstatus == 0
    assert "CREATE TABLE t" in (tmp_path / "history").read_text()


def test_command_option_prints_results(tmp_path):
    r = _cli(
        tmp_path,
        "--mode",
        "csv",
        "-c",
        "CREATE TABLE t (id BIGINT); INSERT INTO t VALUES (7), (8); SELECT * FROM t ORDER BY id",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("id\n7\n8")


def test_file_and_stdin(tmp_path):
    script = tmp_path / "setup.sql"
    script.write_text("CREATE TABLE t (id BIGINT);\nINSERT INTO t VALUES (1), (2), (3);\n")
    assert _cli(tmp_path, "-f", str(script)).returncode == 0
    r = _cli(tmp_path, "--mode", "json", stdin="SELECT sum(id) AS total FROM t;\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '{"total": 6}'


def test_non_interactive_stops_at_first_error(tmp_path):
    r = _cli(tmp_path, "-c", "CREATE TABLE t (id BIGINT); SELECT nope FROM t; INSERT INTO t VALUES (1)")
    assert r.returncode == 1
    assert 'column "nope" not found' in r.stderr
    r = _cli(tmp_path, "--mode", "csv", "-c", "SELECT count(*) AS n FROM t")
    assert r.stdout.strip().endswith("n\n0")  # the INSERT after the error never ran


def test_markdown_and_table_modes(tmp_path):
    r = _cli(tmp_path, "--mode", "markdown", "-c", "SELECT 1 AS a, 'x' AS b")
    assert "| a | b |" in r.stdout
    r = _cli(tmp_path, "-c", "SELECT range AS n FROM range(100)", "--max-rows", "5")
    assert "5 of 100 rows" in r.stdout
    assert "bigint" in r.stdout  # types in the header
