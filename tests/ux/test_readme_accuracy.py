"""What a new user meets first: bare subcommands print help, missing S3 credentials are one line, the S3
server script run with the wrong Python says what to run, `tpcds run` picks the newest TPC-DS namespace."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from lakehouse.errors import LakehouseError

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    for k in [k for k, v in full_env.items() if v == ""]:
        del full_env[k]  # "" means: unset
    return subprocess.run(
        [sys.executable, "-c", "import sys; from engine.shell.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_bare_tpcds_prints_help_like_bare_lakehouse():
    bare = _cli()
    assert bare.returncode == 0 and "usage: lakehouse" in bare.stdout
    tpcds = _cli("tpcds")
    assert tpcds.returncode == 0, tpcds.stderr
    assert "usage: lakehouse tpcds" in tpcds.stdout and "generate" in tpcds.stdout


def test_missing_s3_credentials_is_one_line(tmp_path):
    env = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_PROFILE": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    r = _cli("sql", "--warehouse", "s3://lake/wh", "-c", "SHOW TABLES", env=env)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "AWS_ACCESS_KEY_ID" in lines[0] and "AWS_SECRET_ACCESS_KEY" in lines[0]
    assert "Traceback" not in r.stderr


def test_missing_credentials_raise_lakehouse_error_in_python(monkeypatch, tmp_path):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from lakehouse.storage import open_storage

    with pytest.raises(LakehouseError, match="AWS_ACCESS_KEY_ID"):
        open_storage("s3://lake/t")
    open_storage("s3://lake/t", {"key": "k", "secret": "s"})  # explicit options: no check
    open_storage("s3://lake/t", {"anon": True})


def test_s3_server_script_with_a_python_lacking_s3fs_says_what_to_run(tmp_path):
    # A Python without s3fs: an isolated interpreter (-I, -S: no site-packages) stands in for the system one.
    fake_root = tmp_path / "clone"
    (fake_root / "scripts").mkdir(parents=True)
    script = fake_root / "scripts" / "s3_server.py"
    script.write_text((ROOT / "scripts" / "s3_server.py").read_text())
    r = subprocess.run(
        [sys.executable, "-I", "-S", str(script), "start", "--dir", str(tmp_path / "s3")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "scripts/dev.sh test" in r.stderr and ".venv/bin/python scripts/s3_server.py" in r.stderr


def _mark_tpcds(db, namespace: str, sf: str, loaded: bool) -> None:
    from tpcds.load import PROP_LOADED, PROP_SF

    db.catalog.create_namespace(namespace, {PROP_SF: sf})
    db.sql(f"CREATE TABLE {namespace}.store_sales (x BIGINT)")
    if loaded:
        db.catalog.set_namespace_properties(namespace, {PROP_LOADED: sf})


def test_tpcds_run_picks_the_newest_complete_namespace(tmp_path, capsys):
    from tpcds.cli import _find_sf

    wh = str(tmp_path / "wh")
    with engine.connect(wh) as db:
        _mark_tpcds(db, "tpcds_sf0_1", "0.1", loaded=True)
        _mark_tpcds(db, "tpcds_sf0_2", "0.2", loaded=True)  # loaded later: the newest
        _mark_tpcds(db, "tpcds_sf0_3", "0.3", loaded=False)  # half-loaded: never picked
        args = argparse.Namespace(sf=None, namespace=None, warehouse=wh)
        assert _find_sf(args, db) == 0.2
        assert args.namespace == "tpcds_sf0_2"
        assert "using the newest, tpcds_sf0_2" in capsys.readouterr().out
        # --sf still chooses
        assert _find_sf(argparse.Namespace(sf=0.1, namespace=None, warehouse=wh), db) == 0.1
        # only half-loaded namespaces: a clear error
    with engine.connect(str(tmp_path / "wh2")) as db:
        _mark_tpcds(db, "tpcds_sf1", "1", loaded=False)
        with pytest.raises(LakehouseError, match="no completely loaded TPC-DS namespace"):
            _find_sf(argparse.Namespace(sf=None, namespace=None, warehouse=str(tmp_path / "wh2")), db)
