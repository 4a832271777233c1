"""Serving a test server started on port 0: the port it got is written to PORT_FILE atomically
(the test waits for the file), then it serves until killed; shared by the test servers here."""

import os


def serve(server, port_file):
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()
