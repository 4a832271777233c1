#!/usr/bin/env python3
"""A local git smart-HTTP server: `git http-backend` (CGI) behind Basic auth, over HTTPS or http.

Usage: git_http_server.py ROOT LOG_FILE PORT_FILE [--tls CERT KEY] [--scan DIR] [--open]
                          [--redirect BASE_URL]

- Serves the repositories under ROOT (push included) to requests whose Basic credentials are one
  of the `user:token` pairs in the environment variable GIT_SERVER_CREDENTIALS (separated by
  spaces); any other request gets 401, as GitHub and GitLab answer.
- Logs each request to LOG_FILE as `METHOD PATH auth=ok|missing|wrong user=USER` (never the
  token), one line, flushed.
- With --scan DIR, each request also reads every file below DIR (the client's temporary folder,
  where its clone lives while it pushes) and logs `scan files=N gitconfig=N leaks=PATH,…`: the
  files holding a token.
- With --open, every request is served whatever its credentials (as a server someone else runs
  would), still logging what was sent.
- With --redirect BASE_URL, every request is logged and answered `302 Found` with the same path
  and query under BASE_URL, as a moved repository's old host answers.
The server listens on a free loopback port and writes it to PORT_FILE when ready.
"""

import base64
import os
import ssl
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from request_body import read_body

ROOT, LOG_PATH, PORT_FILE = sys.argv[1:4]
LOG = open(LOG_PATH, "a", buffering=1)
TLS = sys.argv[sys.argv.index("--tls") + 1 : sys.argv.index("--tls") + 3] if "--tls" in sys.argv else None
SCAN = sys.argv[sys.argv.index("--scan") + 1] if "--scan" in sys.argv else None
OPEN = "--open" in sys.argv
REDIRECT = sys.argv[sys.argv.index("--redirect") + 1] if "--redirect" in sys.argv else None
PAIRS = os.environ.get("GIT_SERVER_CREDENTIALS", "").split()
ACCEPTED = {"Basic " + base64.b64encode(p.encode()).decode(): p.split(":", 1)[0] for p in PAIRS}
TOKENS = [p.split(":", 1)[1].encode() for p in PAIRS]


def scan():
    files = gitconfig = 0
    leaks = []
    for folder, _, names in os.walk(SCAN):
        for name in names:
            path = os.path.join(folder, name)
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            files += 1
            if path.endswith(os.sep + os.path.join(".git", "config")):
                gitconfig += 1
            if any(t in data or base64.b64encode(t) in data for t in TOKENS):
                leaks.append(os.path.relpath(path, SCAN))
    LOG.write(f"scan files={files} gitconfig={gitconfig} leaks={','.join(leaks)}\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def body(self):
        return read_body(self)

    def handle_git(self):
        if SCAN:
            scan()
        path, _, query = self.path.partition("?")
        header = self.headers.get("Authorization")
        user = ACCEPTED.get(header)
        auth = "ok" if user else ("missing" if header is None else "wrong")
        if header and not user and header.startswith("Basic "):
            user = base64.b64decode(header[6:]).decode(errors="replace").split(":", 1)[0]
        LOG.write(f"{self.command} {path} auth={auth} user={user or '-'}\n")
        body = self.body()
        if REDIRECT:
            self.send_response(302)
            self.send_header("Location", REDIRECT + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if auth != "ok" and not OPEN:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": ROOT,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            # Enables receive-pack (push) in http-backend.
            "REMOTE_USER": user or "anonymous",
            "REMOTE_ADDR": "127.0.0.1",
        }
        for name in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(name):
                env["HTTP_" + name.upper().replace("-", "_")] = self.headers[name]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not payload and b"\n\n" in head:
            head, _, payload = out.partition(b"\n\n")
        headers = [line.split(":", 1) for line in head.decode().splitlines() if ":" in line]
        status = next((v.strip() for k, v in headers if k.lower() == "status"), "200 OK")
        self.send_response(int(status.split()[0]))
        for k, v in headers:
            if k.lower() != "status":
                self.send_header(k, v.strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = handle_git
    do_POST = handle_git


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if TLS:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS[0], TLS[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
