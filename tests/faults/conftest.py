"""The fault-injecting proxy (tests/faults/proxy.py) as a real process in front of the S3 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROXY = Path(__file__).with_name("proxy.py")


class FaultProxy:
    """Client of a running proxy: set rules, read counters, build storage_options through it."""

    def __init__(self, process: subprocess.Popen, port: int, server_options: dict):
        self.process = process
        self.port = port
        self.server_options = server_options

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, path: str, body: bytes | None = None) -> dict:
        req = urllib.request.Request(f"{self.endpoint}/__faults__/{path}", data=body, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def set_rules(self, *rules: dict) -> None:
        self._call("PUT", "rules", json.dumps(list(rules)).encode())

    def clear(self) -> None:
        self.set_rules()

    def stats(self) -> dict:
        return self._call("GET", "stats")

    def storage_options(self, *, read_timeout: float = 1.0) -> dict:
        """s3fs options through the proxy, with short timeouts and few retries so faults resolve fast."""
        return {
            **self.server_options,
            "endpoint_url": self.endpoint,
            "config_kwargs": {
                "read_timeout": read_timeout,
                "connect_timeout": 1,
                "retries": {"max_attempts": 1},
            },
        }


@pytest.fixture(scope="session")
def fault_proxy(s3_server, tmp_path_factory):
    """The proxy process for the session (stopped by PID at the end); rules cleared between tests."""
    port_file = tmp_path_factory.mktemp("proxy") / "port"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(PROXY), "--target", s3_server.endpoint, "--port-file", str(port_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fault proxy did not start (exit code {process.poll()})")
            time.sleep(0.05)
        yield FaultProxy(process, int(port_file.read_text()), s3_server.storage_options())
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def proxy(fault_proxy, monkeypatch):
    """The proxy with no rules; s3fs's own retry rounds cut from 5 to 3 so faults resolve fast."""
    import s3fs

    monkeypatch.setattr(s3fs.S3FileSystem, "retries", 3)
    fault_proxy.clear()
    yield fault_proxy
    fault_proxy.clear()
