#!/usr/bin/env python3
"""Start and stop a private Postgres server on loopback (for tests and benchmarks).

    python scripts/pg_server.py start --dir .cache/pg      # prints the URL; the server runs on
    python scripts/pg_server.py stop --dir .cache/pg

Uses Debian's postgresql package (``/usr/lib/postgresql/<v>/bin``, or ``initdb`` on PATH): initdb into
its own directory (trust authentication, loopback only, fsync off: test data only), pg_ctl on a free
port. Postgres refuses to run as root, so as root the server runs as the ``postgres`` user (or
``nobody``), which owns the data directory.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

USER = "lakehouse"


@dataclass
class PgServer:
    port: int
    data_dir: Path
    bindir: str
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def catalog_url(self, schema: str) -> str:
        """A URL whose catalog lives in its own schema (created here), so tests do not share one."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def stop(self, remove: bool = False) -> None:
        _run(self, [f"{self.bindir}/pg_ctl", "-D", str(self.data_dir / "data"), "-m", "immediate", "stop"])
        if remove:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def find_bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(server: PgServer, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, user=server.run_as, capture_output=True, text=True, **kw)


def start(data_dir: str | Path, timeout: float = 60.0) -> PgServer:
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no Postgres server binaries (initdb): apt-get install postgresql")
    data_dir = Path(data_dir).resolve()
    run_as = None
    if os.getuid() == 0:
        run_as = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if run_as is None:
            raise RuntimeError(
                "running as root and there is no 'postgres' or 'nobody' user to run Postgres as"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    server = PgServer(_free_port(), data_dir, bindir, run_as)
    if run_as is not None:
        # the server user owns the directory; its parents must let it through (a fresh temp dir
        # directly under /tmp: pytest's own temp root is private to root, and pytest keeps it so)
        pw = pwd.getpwnam(run_as)
        os.chown(data_dir, pw.pw_uid, pw.pw_gid)
    data = data_dir / "data"
    r = _run(
        server, [f"{bindir}/initdb", "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"]
    )
    if r.returncode != 0:
        raise RuntimeError(f"initdb failed: {r.stderr.strip()[-2000:]}")
    opts = (
        f"-p {server.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data_dir} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    r = _run(
        server,
        [
            f"{bindir}/pg_ctl",
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(data_dir / "log"),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ],
    )
    if r.returncode != 0:
        log = (data_dir / "log").read_text(errors="replace")[-2000:] if (data_dir / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-2000:]} {log}")
    return server


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["start", "stop"])
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    d = Path(a.dir).resolve()
    if a.action == "start":
        server = start(d)
        (d / "url").write_text(server.url)
        print(server.url)
        return 0
    bindir = find_bindir()
    server = PgServer(0, d, bindir or "", "postgres" if os.getuid() == 0 else None)
    server.stop()
    time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
