"""Benchmark: 1 GiB over tus in 8 MiB chunks against the same bytes as one plain upload.

    .venv/bin/python bench/uploads.py              # 1 GiB, about a minute
    .venv/bin/python bench/uploads.py --mib 256    # a quicker look

It never touches the development or test databases: everything lives in a new temporary
directory (SQLite file, media, the generated file), removed afterwards.

1. A child process migrates and issues a request form's upload token (the tus uploader).
2. A valid binary STL of about 1 GiB (header, triangle count, 50 bytes per triangle) is
   written to the temporary directory.
3. gunicorn serves the project (2 gthread workers of 4 threads, DEBUG off) on loopback, with
   one extra URL: a minimal Django view that streams the request body to a file in 64 KiB
   reads (Django's own upload chunk size) and syncs it (bench/uploads_urls.py), the baseline.
4. The file is uploaded over tus (creation, then 8 MiB PATCHes), timed from the creation to
   the last 204, which includes the completion: content check, sha256 and the move into
   storage (the status endpoint then confirms the sha256). Then the same bytes go as one
   streaming POST to the baseline view, and once more with the view reading in the tus
   server's piece size (256 KiB), so the protocol's own cost shows apart from the buffer size.
   They alternate for --rounds rounds; the speeds are total bytes over total seconds.
5. Meanwhile a thread samples every 100 ms the resident memory (VmRSS) of gunicorn's workers.

The last line printed is one JSON object:
{"tus_mb_s": N, "raw_mb_s": N, "ratio": N, "server_peak_rss_mb": N}
(MB is 10^6 bytes; server_peak_rss_mb is the highest sum of both workers' RSS, idle included;
server_idle_rss_mb, worker_peak_rss_mb, raw_same_reads_mb_s and ratio_same_reads are printed
alongside.)
"""

import stdlib_first  # noqa: F401  (first: bench/email.py must not shadow the stdlib)

# isort: split
import argparse
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from serving import free_port, wait_until_up  # bench/serving.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 8 * 1024 * 1024
SEND_BLOCK = 1024 * 1024  # what http.client hands the socket at a time


# --- the child: database and credentials --------------------------------------------------------


def prepare() -> None:
    """Migrate, and issue the request form's upload token (the customer's usual path)."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command

    from printdesk.files.storage import new_draft_token
    from printdesk.uploads.auth import issue_draft_token

    call_command("migrate", verbosity=0)
    print(json.dumps({"token": issue_draft_token(new_draft_token())}))


# --- the parent: serve and measure -------------------------------------------------------------


def write_stl(path: Path, mib: int) -> str:
    """A binary STL of about `mib` MiB; its sha256."""
    triangles = (mib * 1024 * 1024 - 84) // 50
    block = os.urandom(50 * 20_000)  # 1 MB of triangles, repeated: nothing on the way compresses
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        head = b"printdesk bench".ljust(80, b" ") + struct.pack("<I", triangles)
        out.write(head)
        digest.update(head)
        left = triangles * 50
        while left:
            data = block[: min(len(block), left)]
            out.write(data)
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=300, blocksize=SEND_BLOCK)


def warm_up(port: int) -> None:
    """First requests load Django's URLs and views in each worker: not part of the figures."""
    for _ in range(8):  # separate connections, so both workers get some
        connection = _connection(port)
        connection.request("OPTIONS", "/uploads/")
        connection.getresponse().read()
        connection.request("POST", "/bench/raw-upload/", body=b"x" * 1024)
        connection.getresponse().read()
        connection.close()


def upload_tus(port: int, token: str, path: Path) -> tuple[float, str]:
    """Seconds from creation to the last 204, and the upload's URL."""
    size = path.stat().st_size
    headers = {"Tus-Resumable": "1.0.0", "Upload-Token": token}
    connection = _connection(port)
    started = time.perf_counter()
    connection.request(
        "POST",
        "/uploads/",
        headers={
            **headers,
            "Upload-Length": str(size),
            "Upload-Metadata": "filename " + base64.b64encode(b"bench.stl").decode(),
        },
    )
    response = connection.getresponse()
    response.read()
    if response.status != 201:
        raise SystemExit(f"bench: tus creation answered {response.status}")
    location = response.getheader("Location")
    offset = 0
    with open(path, "rb") as source:
        while offset < size:
            data = source.read(CHUNK)
            connection.request(
                "PATCH",
                location,
                body=data,
                headers={
                    **headers,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            response = connection.getresponse()
            body = response.read()
            if response.status != 204:
                raise SystemExit(f"bench: PATCH at {offset} answered {response.status}: {body!r}")
            offset = int(response.getheader("Upload-Offset"))
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, location


def tus_status(port: int, token: str, location: str) -> dict:
    connection = _connection(port)
    connection.request("GET", location + "status", headers={"Upload-Token": token})
    response = connection.getresponse()
    return json.loads(response.read())


def upload_raw(port: int, path: Path, url: str = "/bench/raw-upload/") -> float:
    size = path.stat().st_size
    connection = _connection(port)
    started = time.perf_counter()
    with open(path, "rb") as source:
        connection.request(
            "POST",
            url,
            body=source,
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        response = connection.getresponse()
        body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 201 or int(body) != size:
        raise SystemExit(f"bench: the baseline answered {response.status}: {body!r}")
    return elapsed


def quiet_disk(media: Path) -> None:
    """Each upload starts from the same disk: earlier uploads' files gone and nothing dirty
    left to write back (which would otherwise slow whichever upload comes next)."""
    shutil.rmtree(media / "files", ignore_errors=True)
    (media / "bench-raw-upload.bin").unlink(missing_ok=True)
    os.sync()


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


class RssSampler(threading.Thread):
    """The highest sum, and the highest single value, of the workers' RSS (KiB)."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.peak_sum = 0
        self.peak_worker = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            sizes = [_rss_kib(pid) for pid in _children(self.master)]
            self.peak_sum = max(self.peak_sum, sum(sizes))
            self.peak_worker = max(self.peak_worker, *sizes, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the file, MiB")
    parser.add_argument("--rounds", type=int, default=2, help="tus and raw uploads, alternated")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return

    var_dir = Path(tempfile.mkdtemp(prefix="printdesk-uploads-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PRINTDESK_STORAGE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="printdesk.settings",
        PRINTDESK_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'bench.sqlite3'}",
        MEDIA_ROOT=str(var_dir / "media"),
        EMAIL_URL=f"file://{var_dir / 'mail'}",
        SITE_URL=f"http://127.0.0.1:{port}",
        DEBUG="0",
        LOG_LEVEL="ERROR",
    )
    server = None
    try:
        prepared = subprocess.run(
            [sys.executable, __file__, "--prepare"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if prepared.returncode != 0:
            raise SystemExit(f"bench: preparing failed\n{prepared.stdout}\n{prepared.stderr}")
        token = json.loads(prepared.stdout.strip().splitlines()[-1])["token"]
        source = var_dir / "bench.stl"
        sha256 = write_stl(source, args.mib)
        size = source.stat().st_size
        print(f"bench: {size} bytes in {source}", flush=True)

        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config=bench/gunicorn_defaults.py",  # not the production gunicorn.conf.py
                "--workers=2",
                "--threads=4",
                "--worker-class=gthread",
                "--timeout=300",
                f"--bind=127.0.0.1:{port}",
                "--pythonpath",
                str(ROOT),
                "--env",
                "DJANGO_SETTINGS_MODULE=bench.uploads_settings",
                "--log-level=warning",
                "printdesk.wsgi:application",
            ],
            env=env,
            cwd=ROOT,
        )
        wait_until_up(port, server)
        warm_up(port)
        idle = sum(_rss_kib(pid) for pid in _children(server.pid))
        sampler = RssSampler(server.pid)
        sampler.start()
        tus_seconds, raw_seconds, same_reads_seconds = 0.0, 0.0, 0.0
        for round_ in range(args.rounds):  # alternated, so drift on a noisy disk hits both alike
            quiet_disk(var_dir / "media")
            seconds, location = upload_tus(port, token, source)
            status = tus_status(port, token, location)
            if status.get("state") != "complete" or status.get("sha256") != sha256:
                raise SystemExit(f"bench: the tus upload did not arrive intact: {status}")
            tus_seconds += seconds
            quiet_disk(var_dir / "media")
            raw = upload_raw(port, source)
            raw_seconds += raw
            quiet_disk(var_dir / "media")
            same = upload_raw(port, source, "/bench/raw-upload/?reads=tus")
            same_reads_seconds += same
            print(
                f"bench: round {round_ + 1}: tus {seconds:.2f} s, raw {raw:.2f} s, "
                f"raw with tus's reads {same:.2f} s",
                flush=True,
            )
        sampler.stopped.set()
        sampler.join()
        tus_mb_s = size * args.rounds / tus_seconds / 1e6
        raw_mb_s = size * args.rounds / raw_seconds / 1e6
        same_reads_mb_s = size * args.rounds / same_reads_seconds / 1e6
        figures = {
            "tus_mb_s": round(tus_mb_s, 1),
            "raw_mb_s": round(raw_mb_s, 1),
            "ratio": round(tus_mb_s / raw_mb_s, 2),
            "raw_same_reads_mb_s": round(same_reads_mb_s, 1),
            "ratio_same_reads": round(tus_mb_s / same_reads_mb_s, 2),
            "server_peak_rss_mb": round(sampler.peak_sum * 1024 / 1e6, 1),
            "server_idle_rss_mb": round(idle * 1024 / 1e6, 1),
            "worker_peak_rss_mb": round(sampler.peak_worker * 1024 / 1e6, 1),
            "bytes": size,
            "rounds": args.rounds,
        }
        print(json.dumps(figures))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
