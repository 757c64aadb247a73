"""Benchmark: a busy day on loopback. Two web processes and two workers over PostgreSQL and S3
(a moto server), 50 customers sending 5-50 MB print files over tus and watching their jobs,
5 operators working the queue, for 5 minutes (locust, headless).

    .venv/bin/python bench/load.py                                  # the full run, 5 minutes
    .venv/bin/python bench/load.py --duration 60 --users 5 --operators 1   # a quick check

It needs PostgreSQL: DATABASE_URL names the server (postgres://postgres@127.0.0.1:5432/printdesk
when unset); a database `printdesk_bench_load` on it is dropped and created before and dropped
after. Everything else lives in a new temporary directory, removed afterwards.

1. A moto S3 server (a fresh bucket) and an SMTP server (aiosmtpd, bench/email.py --smtp, which
   counts messages and distinct Message-IDs) start on loopback; a child process migrates, runs
   collectstatic and adds the catalogue (two materials, a printer) and the operators
   `operator0`... .
2. Two gunicorn servers (gunicorn.conf.py: 2 gthread workers of 8 threads each, request lines
   as JSON) and two `manage.py worker` processes start, sharing the database, the bucket and
   MEDIA_ROOT (where tus may keep partial files).
3. locust runs bench/load_locustfile.py headless for --duration, ramping up over --ramp: every
   user sends each request to the two servers in turn (no sticky sessions). Customers: the
   request form, 1-3 binary STL files of 5-50 MB over tus in 5 MiB PATCHes (the client hashes
   what it sends), the form sent, then the status page and the customer API every 2-5 s;
   70 % accept their quote. Operators: the desk's queue and job pages, and the API to quote,
   start production, add and move runs, mark ready and dispatch.
4. Afterwards the workers drain (every analysis finished, every notification sent or given
   up), the web servers, the workers and then the SMTP server stop.
5. Checks: every stored file version's sha256, and the sha256 of its bytes read back from the
   bucket, equal the client's; the SMTP server got as many distinct Message-IDs as the outbox
   has sent rows, and no Message-ID twice.

Figures go to stderr; the last line printed is one JSON object:
{"requests": N, "errors": N, "p95_ms": N, "uploads_verified": N, "notifications_exactly_once": B}
(requests counts every request, errors every failed one and every exception in a user's task;
p95_ms is over pages and API calls, uploads excluded, as locust measured them from the client).
"""

import stdlib_first  # noqa: F401  (first: bench/email.py must not shadow the stdlib)

# isort: split
import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from serving import free_port, wait_until_up  # bench/serving.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BENCH_DB = "printdesk_bench_load"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/printdesk"
OPERATOR_PASSWORD = "load-bench-operator-password"  # noqa: S105  (a throwaway database)
BUCKET = "printdesk-load"
DRAIN_TIMEOUT_S = 900
# Not counted as pages or API calls for the p95.
UPLOAD_PREFIX = "upload:"
WARM_UP = ("/healthz", "/readyz")  # not counted inside the servers either


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- children: the Django side --------------------------------------------------------------------


def _django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()


def prepare(operators: int) -> None:
    """Migrate; a catalogue to choose from; the operators, with the bench's password."""
    _django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from printdesk.catalogue.models import Material, Printer

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)  # as `make serve` does
    Material.objects.create(name="PLA", process="fdm", colours=["black", "white", "red"])
    Material.objects.create(name="PA12", process="sls", colours=[])
    Printer.objects.create(
        name="Prusa XL", process="fdm", build_x_mm=360, build_y_mm=360, build_z_mm=360
    )
    for number in range(operators):
        get_user_model().objects.create_user(
            f"operator{number}",
            f"operator{number}@bureau.test",
            OPERATOR_PASSWORD,
            is_staff=True,
        )


def drain(timeout: float) -> None:
    """Until no analysis is waiting or running and no notification is queued, sending or
    waiting to retry."""
    _django()
    from printdesk.files.models import ANALYSIS_OPEN, Analysis
    from printdesk.notifications.models import Notification

    started = time.monotonic()
    while True:
        analyses = Analysis.objects.filter(state__in=ANALYSIS_OPEN).count()
        mail = Notification.objects.filter(state__in=["queued", "sending", "failed"]).count()
        if not analyses and not mail:
            break
        if time.monotonic() - started > timeout:
            raise SystemExit(f"bench: not drained: {analyses} analyses, {mail} emails open")
        time.sleep(2)
    print(json.dumps({"drain_s": round(time.monotonic() - started, 1)}))


def verify(uploads_file: str) -> None:
    """Each stored file version against what its client computed: the recorded sha256 and
    the bytes in the bucket. Prints the counts, the outbox's states and the analyses'."""
    _django()
    import hashlib

    from django.db.models import Count

    from printdesk.files.models import Analysis, FileVersion
    from printdesk.notifications.models import Notification

    client = {}
    for line in Path(uploads_file).read_text().splitlines():
        record = json.loads(line)
        client[record["name"]] = record["sha256"]
    verified, wrong = 0, []
    for version in FileVersion.objects.order_by("id"):
        digest = hashlib.sha256()
        with version.blob.open("rb") as stored:
            while piece := stored.read(8 * 1024 * 1024):
                digest.update(piece)
        expected = client.get(version.original_name)
        if expected == version.sha256 == digest.hexdigest():
            verified += 1
        else:
            wrong.append(version.original_name)
    outbox = dict(Notification.objects.values_list("state").annotate(n=Count("id")))
    analyses = dict(Analysis.objects.values_list("state").annotate(n=Count("id")))
    result = {
        "client_uploads": len(client),
        "versions": verified + len(wrong),
        "verified": verified,
        "wrong": wrong[:20],
        "outbox": outbox,
        "analyses": analyses,
    }
    print(json.dumps(result))


def _child(env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: {args[0]} failed\n{result.stdout}\n{result.stderr}")
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


# --- the parent: the processes --------------------------------------------------------------------


class Processes:
    """The processes the bench started, stopped in the reverse order (SIGTERM, then SIGKILL)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        self.started.append((name, process))
        return process

    def stop(self, name: str) -> None:
        for started_name, process in self.started:
            if started_name == name and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def stop_all(self) -> None:
        for name, _ in reversed(self.started):
            self.stop(name)

    def tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def gunicorn_command(port: int) -> list[str]:
    """The production configuration (gunicorn.conf.py), on a port of the bench's own."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        f"--config={ROOT / 'gunicorn.conf.py'}",
        f"--bind=127.0.0.1:{port}",
        "printdesk.wsgi:application",
    ]


def start_moto(processes: Processes, env: dict[str, str]) -> str:
    import boto3

    port = free_port()
    server = processes.start(
        "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_until_up(port, server, "/moto-api/")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106  (moto accepts anything)
    )
    s3.create_bucket(Bucket=BUCKET)
    return endpoint


class SMTPServer:
    """bench/email.py's counting server, in its own process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "email.py"), "--smtp", str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("bench: the SMTP server did not start")

    def stop(self) -> dict:
        if self.process.poll() is not None:
            return {}
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=60)
        return json.loads(output.strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float:
    """User and system time of a process, its live children and the children it reaped
    (a worker's analysis child processes)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return own + sum(cpu_seconds(int(child)) for child in children)


def postgres_cpu_seconds() -> float:
    """The CPU time of the PostgreSQL backends serving the bench's database (the web
    processes keep their connections, so most live to the end of the run)."""
    total = 0.0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if BENCH_DB.encode() in cmdline.read_bytes():
                total += cpu_seconds(int(cmdline.parent.name))
        except OSError:
            continue  # gone meanwhile
    return total


# --- the parent: the figures ----------------------------------------------------------------------


def percentile(histogram: dict[int, int], share: float) -> int:
    total = sum(histogram.values())
    seen = 0
    for milliseconds in sorted(histogram):
        seen += histogram[milliseconds]
        if seen >= share * total:
            return milliseconds
    return 0


def summarise(stats: dict) -> dict:
    """Requests, errors and p95 from locust's entries; the slowest names to stderr."""
    merged: dict[int, int] = {}
    rows = []
    for entry in stats["entries"]:
        times = {int(ms): n for ms, n in entry["response_times"].items()}
        rows.append((entry["name"], entry["num_requests"], entry["num_failures"], times))
        if not entry["name"].startswith(UPLOAD_PREFIX):
            for milliseconds, count in times.items():
                merged[milliseconds] = merged.get(milliseconds, 0) + count
    for name, count, failures, times in sorted(rows, key=lambda row: -percentile(row[3], 0.95)):
        log(
            f"  {name:<26} {count:>6} requests, {failures} errors, "
            f"median {percentile(times, 0.5)} ms, p95 {percentile(times, 0.95)} ms, "
            f"max {max(times, default=0)} ms"
        )
    for error in stats["errors"]:
        log(f"  error: {error['method']} {error['name']}: {error['error']} x{error['occurrences']}")
    for raised in stats["exceptions"]:
        log(f"  exception in a task: {raised['msg']} x{raised['count']}")
    return {
        "requests": sum(row[1] for row in rows),
        "errors": sum(row[2] for row in rows)
        + sum(raised["count"] for raised in stats["exceptions"]),
        "p95_ms": percentile(merged, 0.95),
    }


def warm_up(port: int) -> None:
    """First requests load Django's URLs and views in each gunicorn worker: not part of the
    figures. Separate connections, so every worker gets some."""
    for _ in range(8):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for path in ("/readyz", "/"):
            connection.request("GET", path)
            connection.getresponse().read()
        connection.close()


def server_side(web_logs: list[Path]) -> None:
    """The time spent inside gunicorn on pages and API calls (uploads excluded), from its JSON
    request lines: set beside the client's figure, it says whether time went in the server or
    in waiting for it. Then minute by minute, beside the upload PATCHes of that minute: what
    the uploads (and the analyses they bring) cost the pages."""
    overall: dict[int, int] = {}
    minutes: dict[int, tuple[dict[int, int], list[int]]] = {}
    for path in web_logs:
        for line in path.read_text().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("logger") != "printdesk.access" or entry["path"] in WARM_UP:
                continue
            moment = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
            histogram, patches = minutes.setdefault(int(moment // 60), ({}, [0]))
            if entry["path"].startswith("/uploads/"):
                patches[0] += entry["method"] == "PATCH"
            else:
                milliseconds = round(entry["duration_ms"])
                histogram[milliseconds] = histogram.get(milliseconds, 0) + 1
                overall[milliseconds] = overall.get(milliseconds, 0) + 1
    log(
        f"inside the servers: {sum(overall.values())} pages and API calls, "
        f"median {percentile(overall, 0.5)} ms, p95 {percentile(overall, 0.95)} ms"
    )
    for number, minute in enumerate(sorted(minutes)):
        histogram, patches = minutes[minute]
        log(
            f"  clock minute {number + 1}: {sum(histogram.values())} pages and API calls, "
            f"p95 {percentile(histogram, 0.95)} ms inside; {patches[0]} upload PATCHes"
        )


def run_locust(args: argparse.Namespace, env: dict[str, str], ports: list[int], out: Path) -> dict:
    users = args.users + args.operators
    locust_env = {
        **env,
        "LOAD_WEB": ",".join(f"http://127.0.0.1:{port}" for port in ports),
        "LOAD_CUSTOMERS": str(args.users),
        "LOAD_OPERATORS": str(args.operators),
        "LOAD_OPERATOR_PASSWORD": OPERATOR_PASSWORD,
        "LOAD_OUT": str(out),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(BENCH / "load_locustfile.py"),
        "--headless",
        "--only-summary",
        f"--users={users}",
        f"--spawn-rate={users / max(args.ramp, 1):.3f}",
        f"--run-time={args.duration}s",
        "--stop-timeout=120",  # a customer in the middle of an upload finishes it
        "--loglevel=WARNING",
        "--exit-code-on-error=0",  # errors are counted below
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, env=locust_env, cwd=ROOT, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The client's own CPU: on a small machine it competes with the servers it measures.
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    log(f"locust (the client) used {cpu:.0f} CPU seconds")
    if result.returncode != 0 or not (out / "stats.json").exists():
        raise SystemExit(f"bench: locust failed\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return json.loads((out / "stats.json").read_text())


def environment(var_dir: Path, database: str, s3_endpoint: str, smtp_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "ANYMAIL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="printdesk.settings",
        PRINTDESK_VAR_DIR=str(var_dir),
        DATABASE_URL=database,
        MEDIA_ROOT=str(var_dir / "media"),
        PRINTDESK_STORAGE="s3",
        PRINTDESK_S3_BUCKET=BUCKET,
        PRINTDESK_S3_ENDPOINT_URL=s3_endpoint,
        PRINTDESK_S3_REGION="us-east-1",
        PRINTDESK_S3_ADDRESSING_STYLE="path",
        PRINTDESK_S3_ACCESS_KEY_ID="testing",
        PRINTDESK_S3_SECRET_ACCESS_KEY="testing",  # noqa: S106  (moto accepts anything)
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        # The customers' addresses come in X-Forwarded-For, as from one reverse proxy.
        PRINTDESK_TRUSTED_PROXY_COUNT="1",
        SITE_URL="http://127.0.0.1:8000",
        WORKER_POLL_SECONDS="1",
        DEBUG="0",
        # Each web process: 2 gthread workers of 8 threads (gunicorn.conf.py's defaults on 2
        # cores, fixed here so that a bigger machine runs the same set-up).
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="8",
        GUNICORN_LOG_LEVEL="warning",
        # Warnings and up, and the request lines (printdesk.access), as JSON: server_side().
        LOG_LEVEL="WARNING",
        LOG_FORMAT="json",
    )
    return env


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql)


def measure(args: argparse.Namespace, processes: Processes, var_dir: Path, database: str) -> None:
    smtp = SMTPServer()
    try:
        env = environment(var_dir, database, start_moto(processes, os.environ.copy()), smtp.port)
        _child(env, "--prepare", str(args.operators))
        for number in range(2):
            processes.start(f"worker{number}", [sys.executable, "manage.py", "worker"], env)
        ports = [free_port(), free_port()]
        for number, port in enumerate(ports):
            web = processes.start(f"web{number}", gunicorn_command(port), env)
            wait_until_up(port, web)
            warm_up(port)
        log(f"two web processes on {ports}, two workers, PostgreSQL {BENCH_DB}, S3 on moto")
        load_before = os.getloadavg()
        started = time.monotonic()
        stats = run_locust(args, env, ports, var_dir)
        log(
            f"locust ran {time.monotonic() - started:.0f} s; load average {load_before} → "
            f"{os.getloadavg()}"
        )
        figures = summarise(stats)
        server_side([var_dir / "web0.log", var_dir / "web1.log"])
        drained = _child(env, "--drain", str(DRAIN_TIMEOUT_S))
        cpu = {name: cpu_seconds(process.pid) for name, process in processes.started}
        cpu["postgres"] = postgres_cpu_seconds()
        log(
            f"drained in {drained['drain_s']} s; CPU seconds: "
            + ", ".join(f"{name} {seconds:.0f}" for name, seconds in cpu.items())
        )
        for name in ("web0", "web1", "worker0", "worker1"):
            processes.stop(name)
    finally:
        received = smtp.stop()
    uploads = var_dir / "uploads.jsonl"
    uploads.touch()
    checked = _child(env, "--verify", str(uploads))
    log(f"uploads: {checked}")
    log(f"SMTP server: {received}")
    sent = checked["outbox"].get("sent", 0)
    once = received.get("messages") == received.get("distinct") == sent
    print(
        json.dumps(
            {
                **figures,
                "uploads_verified": checked["verified"],
                "notifications_exactly_once": once,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=300, help="seconds of load")
    parser.add_argument("--users", type=int, default=50, help="customers")
    parser.add_argument("--operators", type=int, default=5, help="operators")
    parser.add_argument("--ramp", type=int, default=60, help="seconds until every user is in")
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--drain", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--verify", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare is not None:
        return prepare(args.prepare)
    if args.drain is not None:
        return drain(args.drain)
    if args.verify:
        return verify(args.verify)

    server = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    if not server.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench: needs PostgreSQL; set DATABASE_URL to a postgres:// server")
    database = urlunsplit(urlsplit(server)._replace(path=f"/{BENCH_DB}"))
    var_dir = Path(tempfile.mkdtemp(prefix="printdesk-load-"))
    processes = Processes(var_dir)
    _postgres_admin(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _postgres_admin(server, f"CREATE DATABASE {BENCH_DB}")
    try:
        measure(args, processes, var_dir, database)
    except BaseException:
        for name, _ in processes.started:
            log(f"--- {name} log ---\n{processes.tail(name)}")
        raise
    finally:
        processes.stop_all()
        _postgres_admin(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
