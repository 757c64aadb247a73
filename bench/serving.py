"""What the HTTP benchmarks share: a free loopback port, and waiting for a server to answer."""

import http.client
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen, path: str = "/healthz") -> None:
    """Until `path` answers 200; exits the benchmark if the server dies or takes over 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("bench: the server exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench: the server did not answer within 60 s")
