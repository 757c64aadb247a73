"""Scale-out, with real processes: two web processes (gunicorn, gthread) and two workers over
one PostgreSQL database and one S3 bucket (moto's server), mail to a real SMTP server.

- A tus upload started on web 1 continues on web 2 after web 1 is killed (SIGKILL) mid-PATCH:
  nothing of it lived on web 1 (partial data in the bucket, its state and lock in the
  database), and the stored file's sha256 is the client's.
- A worker killed (SIGKILL) mid-batch: the other worker and a restarted one deliver every
  notification exactly once (Message-IDs counted at the SMTP server against the outbox rows).
"""

import base64
import hashlib
import http.client
import os
import random
import secrets
import signal
import struct
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from printdesk.files.models import FileVersion
from printdesk.files.storage import new_draft_token
from printdesk.jobs.models import Job
from printdesk.notifications.models import Notification, NotificationState
from printdesk.uploads.auth import issue_draft_token
from tests.notifications.test_faults import _queue_rows, assert_each_delivered_once
from tests.notifications.test_worker import start_worker, states, worker_env
from tests.s3 import CREDENTIALS, REGION, Bucket
from tests.smtp import SMTPServer, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
MIB = 1024 * 1024
CHUNK = 8 * MIB  # what a tus client sends per PATCH
LEASE = 3  # seconds, for both an upload's lock and a notification's claim: short, for the test

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="several processes at once run on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),  # the other processes must see the rows
]


def binary_stl(size: int) -> bytes:
    """A valid binary STL of about `size` bytes, its triangles random (nothing repeats)."""
    count = (size - 84) // 50
    rng = random.Random(8)
    tile = b"".join(
        struct.pack("<12fH", 0, 0, 1, *(rng.uniform(0, 100) for _ in range(9)), 0)
        for _ in range(10_000)
    )
    body = bytearray()
    while len(body) < count * 50:
        body += tile
        tile = tile[50:] + tile[:50]  # shifted each time: no two blocks alike
    return b"scale-out test".ljust(80, b" ") + struct.pack("<I", count) + body[: count * 50]


# --- the processes --------------------------------------------------------------------------------


def cluster_env(bucket: Bucket, smtp: SMTPServer, tmp_path: Path) -> dict[str, str]:
    return worker_env(
        smtp.port,
        NOTIFICATION_LEASE_SECONDS=str(LEASE),
        PRINTDESK_UPLOAD_LOCK_SECONDS=str(LEASE),
        PRINTDESK_STORAGE="s3",
        PRINTDESK_S3_BUCKET=bucket.name,
        PRINTDESK_S3_ENDPOINT_URL=bucket.endpoint,
        PRINTDESK_S3_REGION=REGION,
        PRINTDESK_S3_ADDRESSING_STYLE="path",
        PRINTDESK_S3_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
        PRINTDESK_S3_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
        PRINTDESK_VAR_DIR=str(tmp_path),
        PRINTDESK_HTTPS="0",  # plain http on loopback: cookies without Secure
        SITE_URL="http://127.0.0.1",
    )


def start_web(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "printdesk.wsgi:application"),
            *("-k", "gthread", "--workers", "1", "--threads", "4"),
            *("--bind", f"127.0.0.1:{port}", "--timeout", "60"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL takes master and worker
    )


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "a web process exited"
        try:
            if request(port, "GET", "/healthz").status == 200:
                return
        except OSError:
            time.sleep(0.1)  # polling for readiness
    raise AssertionError("a web process did not answer /healthz within 60 s")


@pytest.fixture
def cluster(bucket, smtp, catalogue, tmp_path) -> Iterator[dict]:
    env = cluster_env(bucket, smtp, tmp_path)
    ports = [free_port(), free_port()]
    # Each web process has a disk of its own, as on two hosts: nothing can pass through it.
    webs = [
        start_web({**env, "PRINTDESK_VAR_DIR": str(tmp_path / f"web{n}")}, port)
        for n, port in enumerate(ports, start=1)
    ]
    workers = [start_worker(env), start_worker(env)]
    processes = [*webs, *workers]
    try:
        for port, web in zip(ports, webs, strict=True):
            wait_until_up(port, web)
        yield {"env": env, "ports": ports, "webs": webs, "workers": workers, "all": processes}
    finally:
        for process in processes:
            if process in webs and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # gunicorn's master and its worker
            elif process.poll() is None:
                process.kill()
            process.wait(timeout=10)


# --- HTTP ---------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes = b"", **headers: str):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def tus_headers(token: str, **extra: str) -> dict[str, str]:
    return {"Tus-Resumable": "1.0.0", "Upload-Token": token, **extra}


def patch(port: int, path: str, token: str, data: bytes, offset: int):
    return request(
        port,
        "PATCH",
        path,
        data,
        **tus_headers(
            token,
            **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        ),
    )


def patch_cut_off(port: int, path: str, token: str, data: bytes, offset: int, kill) -> None:
    """Start a PATCH of `data`, send half of it, then `kill()` the server mid-request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("PATCH", path)
    headers = tus_headers(token, **{"Upload-Offset": str(offset)})
    headers["Content-Type"] = "application/offset+octet-stream"
    headers["Content-Length"] = str(len(data))
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    for start in range(0, len(data) // 2, MIB):
        connection.send(data[start : start + MIB])
    kill()
    with pytest.raises(OSError):  # the connection dies with the server
        for start in range(len(data) // 2, len(data), MIB):
            connection.send(data[start : start + MIB])
        connection.getresponse().read()
    connection.close()


def submit_request_form(port: int, draft: str, material_id: int) -> http.client.HTTPResponse:
    """The request form posted as a browser does, holding a CSRF cookie and its token."""
    csrf = secrets.token_hex(16)  # a 32-character secret: Django accepts it unmasked
    fields = {
        "customer_name": "Scale Tester",
        "customer_email": "scale@example.com",
        "customer_phone": "",
        "customer_company": "",
        "material": str(material_id),
        "colour": "black",
        "quantity": "1",
        "desired_date": "",
        "notes": "",
        "website": "",
        "draft": draft,
        "csrfmiddlewaretoken": csrf,
    }
    return request(
        port,
        "POST",
        reverse("portal:request"),
        urllib.parse.urlencode(fields).encode(),
        **{"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"},
    )


# --- the worker holding a message -----------------------------------------------------------------


def watch_sending_peers(smtp: SMTPServer) -> set:
    """The client addresses whose message is inside the server's DATA handler right now."""
    inside: set = set()
    original = smtp.handler.handle_DATA

    async def handle_DATA(server, session, envelope):
        inside.add(session.peer)
        try:
            return await original(server, session, envelope)
        finally:
            inside.discard(session.peer)

    smtp.handler.handle_DATA = handle_DATA  # type: ignore[method-assign]
    return inside


def pid_with_local_port(port: int, pids: list[int]) -> int:
    """Which of `pids` owns the loopback TCP socket bound to `port` (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds a socket on port {port}")


def held_peer(inside: set) -> tuple:
    """The one client left inside DATA: the held one (another worker's pass in and out)."""
    deadline = time.monotonic() + 30
    while len(snapshot := list(inside)) != 1:
        assert time.monotonic() < deadline, "no message stays held"
        time.sleep(0.01)
    return snapshot[0]


def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# --- the test -------------------------------------------------------------------------------------


def upload_through_a_web_process_killed_midway(cluster, token: str, data: bytes) -> None:
    """Two chunks through web 1, which dies in the middle of the third; the rest through
    web 2: where to resume (HEAD), then the chunks (423 until the dead request's lock ends)."""
    web1, web2 = cluster["ports"]
    metadata = "filename " + base64.b64encode(b"bracket.stl").decode()
    created = request(
        web1,
        "POST",
        "/uploads/",
        **tus_headers(token, **{"Upload-Length": str(len(data)), "Upload-Metadata": metadata}),
    )
    assert created.status == 201
    path = created.getheader("Location")
    for offset in (0, CHUNK):
        assert patch(web1, path, token, data[offset : offset + CHUNK], offset).status == 204
    kill_web1 = partial(os.killpg, cluster["webs"][0].pid, signal.SIGKILL)
    patch_cut_off(web1, path, token, data[2 * CHUNK : 3 * CHUNK], 2 * CHUNK, kill=kill_web1)

    head = request(web2, "HEAD", path, **tus_headers(token))
    assert head.status == 200, head.status  # web 2 finds the upload: nothing was on web 1
    offset = int(head.getheader("Upload-Offset"))
    assert offset == 2 * CHUNK  # only what was durable in the bucket
    while offset < len(data):
        try:
            response = patch(web2, path, token, data[offset : offset + CHUNK], offset)
        except OSError:  # a 423 answered before the body was read: the server hangs up
            response = None
        if response is None or response.status == 423:
            time.sleep(0.5)  # as docs/uploads.md tells clients: back off, HEAD, go on
            head = request(web2, "HEAD", path, **tus_headers(token))
            offset = int(head.getheader("Upload-Offset"))
            continue
        assert response.status == 204, response.status
        offset = int(response.getheader("Upload-Offset"))


def kill_the_worker_holding_a_message(cluster, smtp: SMTPServer, job: Job) -> None:
    """200 more rows; the message after 30 more is held inside the SMTP server, and the worker
    sending it (mid-batch) is killed before the server accepts it; then started again."""
    inside = watch_sending_peers(smtp)
    smtp.hold(after=30)
    _queue_rows(job, 100)
    smtp.wait_until_held()
    _, client_port = held_peer(inside)
    workers = cluster["workers"]
    holder = pid_with_local_port(client_port, [worker.pid for worker in workers])
    killed = next(worker for worker in workers if worker.pid == holder)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    smtp.release()
    cluster["all"].append(start_worker(cluster["env"]))  # the killed one, started again


def test_uploads_resume_on_another_web_process_and_a_killed_worker_loses_no_mail(
    cluster, bucket, smtp, catalogue
):
    draft = new_draft_token()
    data = binary_stl(34 * MIB)
    client_sha256 = hashlib.sha256(data).hexdigest()

    upload_through_a_web_process_killed_midway(cluster, issue_draft_token(draft), data)

    assert not bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads")
    web2 = cluster["ports"][1]
    assert submit_request_form(web2, draft, catalogue["pla"].pk).status == 302
    version = FileVersion.objects.get()
    assert version.sha256 == client_sha256
    assert bucket.sha256(version.blob.name) == client_sha256
    assert [k for k in bucket.keys() if k.startswith("uploads-partial/")] == []

    kill_the_worker_holding_a_message(cluster, smtp, Job.objects.get())

    total = Notification.objects.count()
    assert total == 202  # the submission's two and the 200 queued
    wait_for(
        lambda: Notification.objects.filter(state=NotificationState.SENT).count() == total,
        f"every notification sent: {states()}",
        timeout=40,
    )
    assert_each_delivered_once(smtp)
