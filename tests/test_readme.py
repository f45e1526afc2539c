"""Every fenced ``bash`` and ``python`` block of README.md runs, in a temporary directory, as written
except for the substitutions below (each one says why). Blocks run in order, as a new user would type
them; Python blocks share one namespace (the second uses the first one's ``lh`` and ``orders``).

Substitutions, exactly:
- ``bash scripts/dev.sh main``: it would create ``.venv`` and pip-install; we run what it then runs,
  ``lakehouse tpcds all --sf 0.1 --warehouse ./warehouse``, at ``--sf 0.01 --queries 3,42``.
- ``bash scripts/dev.sh test``: not run (it is this test suite; running it here would recurse).
- ``.venv/bin/lakehouse``: the ``lakehouse`` console script of the interpreter running the tests.
- ``--sf 1`` becomes ``--sf 0.01 --namespace tpcds_sf0_01_b`` (the generated data is reused, a second
  namespace is loaded, so the README's ``tpcds run --queries 3,7,42`` without ``--sf`` must pick the
  newest and say so) and ``--sf 0.1`` becomes ``--sf 0.01`` (smaller scales hang in dsdgen); a
  ``tpcds run`` without ``--queries`` gets ``--queries 3,7,42``, a ``tpcds all`` gets ``--queries 3``.
- ``http://127.0.0.1:8333`` becomes the test session's SeaweedFS endpoint, with its credentials in
  ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` as the README says.
- ``lakehouse sql -f script.sql`` reads a ``script.sql`` we write first (``SELECT 42 AS answer;``);
  the interactive forms get an empty stdin (not a terminal), so they start and end cleanly.
- A Python line commented ``# SomeError: ...`` must raise ``SomeError`` (the README shows the error).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAKEHOUSE = str(Path(sys.executable).with_name("lakehouse"))
SKIPPED = {"bash scripts/dev.sh test": "the test suite itself"}


def blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block in ``text``."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]


def bash_command(line: str, endpoint: str) -> str | None:
    cmd = re.split(r"\s{2,}#", line)[0].strip()
    if not cmd or cmd.startswith("#"):
        return None
    if cmd in SKIPPED:
        return None
    if cmd.startswith("bash scripts/dev.sh main"):
        return f"{LAKEHOUSE} tpcds all --sf 0.01 --queries 3,42 --warehouse ./warehouse"
    cmd = cmd.replace(".venv/bin/lakehouse", shlex_quote(LAKEHOUSE))
    if " tpcds " in f" {cmd} ":
        cmd = re.sub(r"--sf 1(?=\s|$)", "--sf 0.01 --namespace tpcds_sf0_01_b", cmd)
        cmd = re.sub(r"--sf 0\.1(?=\s|$)", "--sf 0.01", cmd)
        if " tpcds run" in cmd and "--queries" not in cmd:
            cmd += " --queries 3,7,42"
        if " tpcds all" in cmd and "--queries" not in cmd:
            cmd += " --queries 3"
    return cmd.replace("http://127.0.0.1:8333", endpoint)


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def expected_errors(code: str) -> str:
    """A line ending in ``# SomeError: ...`` becomes a check that it raises SomeError."""
    out = []
    for line in code.splitlines():
        m = re.match(r"^(\s*)(.*?)\s+#\s*([A-Z]\w*(?:Error|Exception|Found|Violation|Mismatch)):", line)
        if m:
            indent, stmt, err = m.groups()
            out += [
                f"{indent}try:",
                f"{indent}    {stmt}",
                f"{indent}except {err}:",
                f"{indent}    pass",
                f"{indent}else:",
                f"{indent}    raise AssertionError({f'README says this raises {err}: {stmt}'!r})",
            ]
        else:
            out.append(line)
    return "\n".join(out)


@pytest.mark.s3
@pytest.mark.slow
def test_every_readme_block_runs(tmp_path, s3_server, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    found = blocks(readme)
    assert {lang for lang, _ in found} <= {"bash", "python"}, "a block in another language: run it here"
    (tmp_path / "script.sql").write_text("SELECT 42 AS answer;\n")
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        AWS_ACCESS_KEY_ID="lakehouse",
        AWS_SECRET_ACCESS_KEY="lakehouse-secret",
        LAKEHOUSE_HISTORY=str(tmp_path / "history"),
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = []
    for lang, body in found:
        if lang == "python":
            import lakehouse
            from lakehouse.errors import SqlError

            namespace.setdefault("SqlError", SqlError)
            namespace.setdefault("LakehouseError", lakehouse.LakehouseError)
            exec(compile(expected_errors(body), "README.md", "exec"), namespace)  # noqa: S102
            ran.append("python block")
            continue
        for line in body.splitlines():
            cmd = bash_command(line, s3_server.endpoint)
            if cmd is None:
                continue
            t0 = time.perf_counter()
            r = subprocess.run(
                ["bash", "-c", cmd],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            assert r.returncode == 0, f"{line}\n-> {cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
            assert "Traceback" not in r.stderr, cmd
            ran.append(cmd)
            print(f"{time.perf_counter() - t0:6.1f} s  {cmd}")
            if cmd.startswith("printf"):
                assert "answer = 42" in r.stdout
            if "tpcds run --queries 3,7,42 --timeout 10" in cmd:
                assert "using the newest, tpcds_sf0_01_b" in r.stdout
    assert len(ran) >= 12, ran
