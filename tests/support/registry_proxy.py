#!/usr/bin/env python3
"""An HTTP proxy in front of a test registry that logs every request and can misbehave.

Usage: registry_proxy.py UPSTREAM_PORT LOG_FILE PORT_FILE [--faults] [--refuse=METHOD:SUBSTRING]
       [--fail=METHOD:SUBSTRING:STATUS[:TIMES]]

- Every request is logged to LOG_FILE as `METHOD PATH?QUERY STATUS USER BYTES` (one line,
  flushed), so a test can count what reached the registry (blob uploads, mounts, manifest puts)
  and how big each request body was; USER is the user name of a Basic Authorization header,
  `bearer` for a token, `-` for none (never a secret).
- With --faults, the first request of each kind (method + path, upload session ids left out)
  fails, in turn with a 503, a 429 with Retry-After, and a connection closed without an answer:
  every call a client makes meets one transient failure and must retry.
- With --refuse, requests whose method matches and whose path contains SUBSTRING are answered
  400 every time (a permanent failure).
- With --fail, requests whose method matches and whose path contains SUBSTRING are answered
  STATUS (a transient failure such as 503) TIMES times per request (method, path without the
  upload session id, and the `digest` of a blob upload), or every time without TIMES: how many
  attempts a client makes, and whether it gives up, shows in the log.
The proxy listens on a free loopback port and writes it to PORT_FILE when ready.
"""

import base64
import binascii
import http.client
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from request_body import read_body
from serve import serve

UPSTREAM_PORT = int(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
PORT_FILE = sys.argv[3]
FAULTS = "--faults" in sys.argv
REFUSE = [a.split("=", 1)[1].split(":", 1) for a in sys.argv if a.startswith("--refuse=")]
FAIL = [a.split("=", 1)[1].split(":") for a in sys.argv if a.startswith("--fail=")]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}

lock = threading.Lock()
seen_kinds = set()
failed = {}
faults_injected = 0


def kind(method, path):
    # Upload sessions get a fresh id per attempt: leave it out so a retry is "the same kind".
    return method + " " + re.sub(r"/uploads/[^/?]+", "/uploads/ID", path.split("?", 1)[0])


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        return read_body(self)

    def user(self):
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            return "-"
        if scheme.lower() != "basic":
            return "bearer"
        try:
            return base64.b64decode(value).decode().split(":", 1)[0] or "(empty)"
        except (binascii.Error, UnicodeDecodeError):
            return "(malformed)"

    def record(self, status):
        LOG.write(f"{self.command} {self.path} {status} {self.user()} {getattr(self, 'sent', 0)}\n")

    def answer(self, status, headers=(), body=b""):
        # Logged before the client can see the answer, so a test reading the log right after
        # a request returns finds it there.
        self.record(status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fault(self):
        global faults_injected
        with lock:
            key = kind(self.command, self.path)
            if not FAULTS or key in seen_kinds:
                return None
            seen_kinds.add(key)
            faults_injected += 1
            return faults_injected % 3

    def repeated_failure(self):
        for rule in FAIL:
            method, fragment, status = rule[:3]
            if self.command != method or fragment not in self.path:
                continue
            digest = re.search(r"[?&]digest=([^&]+)", self.path)
            key = (kind(self.command, self.path), digest and digest.group(1))
            with lock:
                failed[key] = failed.get(key, 0) + 1
                if len(rule) < 4 or failed[key] <= int(rule[3]):
                    return int(status)
        return None

    def handle_any(self):
        body = self.body()
        self.sent = len(body)
        status = self.repeated_failure()
        if status is not None:
            return self.answer(status, [("Content-Type", "text/plain")], b"injected by --fail")
        for method, fragment in REFUSE:
            if self.command == method and fragment in self.path:
                return self.answer(400, [("Content-Type", "application/json")], b'{"errors":[{"code":"DENIED","message":"refused by the test proxy"}]}')
        fault = self.fault()
        if fault == 1:
            return self.answer(503, [("Content-Type", "text/plain")], b"injected 503")
        if fault == 2:
            return self.answer(429, [("Retry-After", "1"), ("Content-Type", "text/plain")], b"injected 429")
        if fault == 0:
            self.record("reset")
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM_PORT, timeout=60)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        # Header by header: registries read repeated ones (Accept) as a list.
        for name, value in self.headers.items():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                upstream.putheader(name, value)
        if body or self.command in ("PUT", "POST", "PATCH"):
            upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body)
        response = upstream.getresponse()
        data = response.read()
        self.record(response.status)
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length if length is not None else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
serve(server, PORT_FILE)
