#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for S3 tests: stdlib only, run as its own process.

    python tests/faults/proxy.py --target http://127.0.0.1:8333 --port-file /tmp/p.port

Forwards every request to ``--target`` unchanged (the Host header too, so SigV4 signatures stay
valid) and applies the first matching rule. Rules are set at run time through the control endpoint:

    PUT  /__faults__/rules   body: JSON list of rules (replaces them; [] = pass everything through)
    GET  /__faults__/stats   JSON {rule index: times applied, "requests": total, "gets": GETs answered,
                                   "get_bytes": body bytes of the GETs answered}

A rule: {"method": "PUT", "path": "_delta_log/\\d+\\.json$", "action": ..., "probability": 1.0,
"times": null, "seconds": 1.5}; ``"every": 50`` instead of a probability applies it to every 50th match
(1st, 51st, ...). ``path`` is a regex searched in the request path. Actions:

- ``ack_lost``: forward the request, then drop the connection without answering (the write landed);
- ``delay``: wait ``seconds``, then forward (``"probability": 0.02``: a slow tail of 2% of requests);
  ``delay_response``: forward, wait ``seconds``, answer;
- ``503``: answer 503 SlowDown without forwarding;
- ``truncate``: forward, then send the headers and only half of the body, and drop the connection.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL = "/__faults__/"
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class State:
    def __init__(self, target: str):
        url = urllib.parse.urlsplit(target)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.rules: list[dict] = []
        self.stats: dict[str, int] = {"requests": 0}
        self.lock = threading.Lock()

    def pick(self, method: str, path: str) -> dict | None:
        with self.lock:
            self.stats["requests"] += 1
            for i, rule in enumerate(self.rules):
                if rule.get("method") not in (None, method):
                    continue
                if not re.search(rule.get("path", ""), path):
                    continue
                if rule.get("times") is not None and self.stats.get(str(i), 0) >= rule["times"]:
                    continue
                if rule.get("every"):  # a deterministic fraction: the 1st, (every+1)th, ... match
                    seen = self.stats[f"matched{i}"] = self.stats.get(f"matched{i}", 0) + 1
                    if (seen - 1) % int(rule["every"]):
                        continue
                elif random.random() >= float(rule.get("probability", 1.0)):
                    continue
                self.stats[str(i)] = self.stats.get(str(i), 0) + 1
                return rule
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _control(self, body: bytes) -> None:
        if self.command == "PUT" and self.path.startswith(CONTROL + "rules"):
            with self.state.lock:
                self.state.rules = json.loads(body or b"[]")
                self.state.stats = {"requests": 0}
            out = b"{}"
        else:
            with self.state.lock:
                out = json.dumps(self.state.stats).encode()
        self._answer(200, [("Content-Type", "application/json")], out)

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes, *, cut: bool = False) -> None:
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has no body, whatever its Content-Length
            self.wfile.write(body[: len(body) // 2] if cut else body)
            if self.command == "GET":
                with self.state.lock:
                    self.state.stats["gets"] = self.state.stats.get("gets", 0) + 1
                    self.state.stats["get_bytes"] = self.state.stats.get("get_bytes", 0) + len(body)
        self.wfile.flush()
        if cut:
            self._drop()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.state.host, self.state.port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read() if self.command != "HEAD" else b""
            headers = resp.getheaders()
            if self.command == "HEAD":
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                length = resp.getheader("Content-Length")
                if length is not None:
                    headers.append(("X-Proxy-Length", length))
            return resp.status, headers, data
        finally:
            conn.close()

    def _handle(self) -> None:
        body = self._body()
        if self.path.startswith(CONTROL):
            return self._control(body)
        rule = self.state.pick(self.command, urllib.parse.urlsplit(self.path).path)
        action = rule.get("action") if rule else None
        if action == "503":
            return self._answer(503, [("Content-Type", "application/xml")], SLOW_DOWN)
        if action == "delay":
            time.sleep(float(rule["seconds"]))
        try:
            status, headers, data = self._forward(body)
        except OSError:
            return self._drop()
        if action == "ack_lost":
            return self._drop()
        if action == "delay_response":
            time.sleep(float(rule["seconds"]))
        if self.command == "HEAD":
            return self._head(status, headers)
        self._answer(status, headers, data, cut=action == "truncate" and len(data) > 1)

    def _head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for k, v in headers:
            if k == "X-Proxy-Length":
                self.send_header("Content-Length", v)
            elif k.lower() not in HOP:
                self.send_header(k, v)
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that hung up: expected here
        pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args(argv)
    Handler.state = State(args.target)
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    print(f"fault proxy on 127.0.0.1:{port} -> {args.target}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
