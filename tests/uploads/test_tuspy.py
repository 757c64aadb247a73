"""The independent client tuspy against a real server: connections cut at 50 random offsets,
and the server process killed mid-chunk; each time the upload resumes and arrives intact."""

import hashlib
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from tusclient.client import TusClient

from printdesk.files.storage import new_draft_token
from printdesk.uploads.actions import READ_BYTES
from printdesk.uploads.auth import issue_draft_token
from printdesk.uploads.models import TusUpload, UploadState

from ..conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent.parent


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CuttingProxy:
    """A TCP relay to the server that drops PATCH connections at chosen file offsets.

    When a PATCH's body spans the next cut offset, only the bytes before it reach the server;
    the proxy then waits until the server has handled that truncated request and resets the
    client's connection, as a dropped network would, without any response.
    """

    def __init__(self, target: tuple[str, int], cuts: list[int]) -> None:
        self.target = target
        self.cuts = sorted(cuts)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.target) as server:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(65536)
                if not data:
                    return
                head += data
            header_block, _, body = head.partition(b"\r\n\r\n")
            cut = self._cut_for(header_block.decode("latin-1"))
            if cut is None:
                server.sendall(head)
                self._relay(client, server)
                return
            while len(body) < cut:
                data = client.recv(65536)
                if not data:
                    break
                body += data
            server.sendall(header_block + b"\r\n\r\n" + body[:cut])
            server.shutdown(socket.SHUT_WR)
            while server.recv(65536):  # until the server has handled what it got
                pass
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _cut_for(self, header_block: str) -> int | None:
        """Body bytes to let through before cutting this request, or None to relay it."""
        lines = header_block.split("\r\n")
        if not lines[0].startswith("PATCH ") or not self.cuts:
            return None
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        offset, length = int(headers["upload-offset"]), int(headers["content-length"])
        if not offset <= self.cuts[0] < offset + length:
            return None
        return self.cuts.pop(0) - offset

    @staticmethod
    def _relay(client: socket.socket, server: socket.socket) -> None:
        sockets = [client, server]
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (server if sock is client else client).sendall(data)


@pytest.mark.django_db(transaction=True)
def test_an_upload_cut_at_50_random_offsets_resumes_each_time_and_arrives_intact(live_server):
    source = SAMPLES / "20mm-xyz-cube.stl"
    data = source.read_bytes()
    cuts = random.Random(50).sample(range(len(data)), 50)
    host, port = live_server.url.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)), cuts)
    try:
        client = TusClient(
            f"{proxy.url}/uploads/", headers={"Upload-Token": issue_draft_token("d" * 32)}
        )
        uploader = client.uploader(
            str(source),
            chunk_size=1024,
            metadata={"filename": source.name},
            retries=len(cuts),  # a retried chunk may be cut again, and again
            retry_delay=0,
        )
        uploader.upload()
    finally:
        proxy.close()

    assert proxy.cuts == []  # every cut happened
    upload = TusUpload.objects.get()
    assert upload.state == UploadState.COMPLETE
    assert upload.sha256 == sha256(data)
    with default_storage.open(upload.stored_key) as stored:
        assert sha256(stored.read()) == sha256(data)


# --- a real server process, killed mid-chunk -----------------------------------------------


def binary_stl(triangles: int) -> bytes:
    rng = random.Random(triangles)
    facets = b"".join(
        struct.pack("<12fH", *(rng.uniform(-50, 50) for _ in range(12)), 0)
        for _ in range(triangles)
    )
    return b"printdesk test part".ljust(80, b" ") + struct.pack("<I", triangles) + facets


class Server:
    """`manage.py runserver --noreload` on a temporary SQLite installation."""

    def __init__(self, var: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PRINTDESK_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'printdesk.sqlite3'}",
            "SITE_URL": self.base,
            "SECRET_KEY": settings.SECRET_KEY,
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, timeout=120
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the web server exited"
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the web server did not come up within 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path)
    server.manage("migrate", "--noinput", "-v0")
    yield server
    server.kill()


def _send_part_of_a_chunk(
    server: Server, path: str, token: str, offset: int, data: bytes
) -> socket.socket:
    """Start a PATCH of two of the server's reads, send one read and 4 KiB of it and leave it
    hanging: the server writes the first piece it reads, then waits for the rest."""
    chunk = data[offset : offset + 2 * READ_BYTES]
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Token: {token}\r\nUpload-Offset: {offset}\r\n"
            f"Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(chunk)}\r\n\r\n"
        ).encode()
        + chunk[: READ_BYTES + 4096]
    )
    return sock


def _wait_for_size(path: Path, size: int) -> None:
    deadline = time.monotonic() + 10
    while not (path.exists() and path.stat().st_size == size):
        assert time.monotonic() < deadline, f"{path} never reached {size} bytes"
        time.sleep(0.02)


def test_a_server_killed_mid_chunk_comes_back_and_the_upload_resumes(server, tmp_path):
    data = binary_stl(100_000)  # 5 MB: room for two of the server's reads past half
    source = tmp_path / "part.stl"
    source.write_bytes(data)
    token = issue_draft_token(new_draft_token())
    server.start()
    uploader = TusClient(f"{server.base}/uploads/", headers={"Upload-Token": token}).uploader(
        str(source), chunk_size=262144, metadata={"filename": "part.stl"}, upload_checksum=True
    )
    uploader.upload(stop_at=len(data) // 2)
    path = uploader.url.removeprefix(server.base)
    half = uploader.offset
    partial = tmp_path / "media" / "uploads-partial" / path.strip("/").rsplit("/", 1)[-1]

    with _send_part_of_a_chunk(server, path, token, half, data):
        _wait_for_size(partial, half + READ_BYTES)  # the server is mid-chunk
        server.kill()
    server.start()

    resumed = TusClient(f"{server.base}/uploads/", headers={"Upload-Token": token}).uploader(
        str(source), url=f"{server.base}{path}", chunk_size=262144, upload_checksum=True
    )
    assert resumed.offset == half  # the half-written chunk was cut off
    assert partial.stat().st_size == half
    resumed.upload()

    request = urllib.request.Request(f"{server.base}{path}status", headers={"Upload-Token": token})
    with urllib.request.urlopen(request, timeout=5) as response:
        status = json.loads(response.read())
    assert status["state"] == "complete"
    assert status["sha256"] == sha256(data)
    [stored] = (tmp_path / "media" / "files").rglob("*.stl")
    assert sha256(stored.read_bytes()) == sha256(data)
