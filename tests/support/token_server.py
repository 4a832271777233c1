#!/usr/bin/env python3
"""A token server following the Docker registry token authentication spec, for a test registry
configured with `auth: token` (https://distribution.github.io/distribution/spec/auth/token/).

Usage: token_server.py KEY_PEM CERT_PEM LOG_FILE PORT_FILE USER:PASSWORD [--lifetime=SECONDS]

- GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=…] with Basic credentials answers
  {"token", "access_token", "expires_in", "issued_at"}: a JWT (RS256, the certificate in its
  `x5c` header, which the registry trusts through `rootcertbundle`) granting every action asked
  for, valid for SECONDS (300 unless --lifetime says; both `expires_in` and the JWT's `exp`).
- Anonymous requests get a token without access (an empty grant, as the spec allows for
  resources the client may not see).
- Wrong credentials are refused as the spec says: 401 Unauthorized, with a `WWW-Authenticate:
  Basic` challenge and a JSON body `{"errors": [{"code": "UNAUTHORIZED", "message", "detail"}]}`.
- Every request is logged to LOG_FILE as `USER SCOPE SCOPE…` (`-` for anonymous, `!USER` for a
  refused login), never a secret.
Listens on a free loopback port and writes it to PORT_FILE when ready.
"""

import base64
import json
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from serve import serve

KEY = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
CERT = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
LOG = open(sys.argv[3], "a", buffering=1)
PORT_FILE = sys.argv[4]
USER, PASSWORD = sys.argv[5].split(":", 1)
LIFETIME = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--lifetime=")), 300)
ISSUER = "scoreline-test-issuer"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT.public_bytes(serialization.Encoding.DER)).decode()]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def access(scope):
    # repository:NAME:ACTIONS — NAME may hold ':' only in a registry host, which scopes never name.
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class Tokens(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def login(self):
        """The user of the Basic credentials, and whether they are right; (None, True) without."""
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None, True
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return "?", False
        return user, (user, password) == (USER, PASSWORD)

    def answer(self, status, body, headers=()):
        body = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        scopes = query.get("scope", [])
        user, right = self.login()
        LOG.write(" ".join([(user if right else "!" + user) if user else "-"] + scopes) + "\n")
        if not right:
            error = {"code": "UNAUTHORIZED", "message": "authentication required", "detail": "incorrect username or password"}
            self.answer(401, {"errors": [error]}, [("WWW-Authenticate", 'Basic realm="scoreline test token issuer"')])
            return
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": query.get("service", [""])[0],
            "exp": now + LIFETIME,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": [access(s) for s in scopes] if user else [],
        }
        token = jwt(claims)
        self.answer(200, {"token": token, "access_token": token, "expires_in": LIFETIME, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


server = ThreadingHTTPServer(("127.0.0.1", 0), Tokens)
server.daemon_threads = True
serve(server, PORT_FILE)
