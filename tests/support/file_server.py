#!/usr/bin/env python3
"""A static file server, as a release's download host: GET serves the files under ROOT, 404
otherwise.

Usage: file_server.py ROOT LOG_FILE PORT_FILE

Logs each request to LOG_FILE as `METHOD PATH STATUS` (one line, flushed). Listens on a free
loopback port and writes it to PORT_FILE when ready.
"""

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from serve import serve

root, log_file, port_file = sys.argv[1:4]
log = open(log_file, "a")


class Handler(SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-"):
        log.write(f"{self.command} {self.path} {code}\n")
        log.flush()


serve(ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root)), port_file)
