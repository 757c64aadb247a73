"""Benchmark: drain 10,000 queued notifications into a local SMTP server, with one worker and
then two.

    .venv/bin/python bench/email.py                # SQLite in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printdesk .venv/bin/python bench/email.py
    .venv/bin/python bench/email.py --count 2000   # a quicker look

It never touches the development or test databases: SQLite is a file in a new temporary
directory (removed afterwards); with a PostgreSQL DATABASE_URL, a database `printdesk_bench_email`
on that server is dropped and created before and dropped after.

1. A child process migrates and takes one job through its whole lifecycle with the real actions
   (submitted → dispatched), so its audit trail holds one event of each kind a customer hears
   about. It then queues --count notifications: copies of those events (bulk inserted audit
   rows), one customer notification each, in the order the events happened.
2. An SMTP server (aiosmtpd, this script with --smtp) runs in its own process on loopback; it
   accepts every message and counts them, and the distinct Message-IDs, until stopped.
3. `manage.py worker --once` drains the outbox: the time is from starting the process (Django's
   start-up included) to its exit, when nothing is left to send. The server must then report
   exactly --count messages with --count distinct Message-IDs, and every row must be `sent`.
4. The rows are put back to `queued` (attempts, snapshot and sent time cleared, so the second
   run renders again), a fresh server starts, and two workers drain them at once.

The last line printed is one JSON object:
{"msgs_per_s_1_worker": N, "drain_10k_s_1_worker": N, "drain_10k_s_2_workers": N}
"""

import sys
from pathlib import Path

# This script shares its name with the standard library's `email` package, and Python puts the
# script's folder first on the path: take it off before anything (smtplib, Django) imports
# `email`, and put it back last, for bench/serving.py.
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH_DIR]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

sys.path.append(str(BENCH_DIR))
from serving import free_port  # noqa: E402  (bench/serving.py, beside this script)

ROOT = BENCH_DIR.parent
BENCH_DB = "printdesk_bench_email"


# --- the SMTP server process -------------------------------------------------------------------


def serve_smtp(port: int) -> None:
    """Accept everything; on SIGTERM print {"messages": N, "distinct": N} and exit."""
    import email.parser
    import email.policy

    from aiosmtpd.controller import Controller

    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    lock = threading.Lock()
    seen: dict[str, int] = {}

    class Counting:
        async def handle_DATA(self, server, session, envelope) -> str:
            message_id = str(parser.parsebytes(envelope.content)["Message-ID"])
            with lock:
                seen[message_id] = seen.get(message_id, 0) + 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port, server_hostname="bench")
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("ready", flush=True)
    stopped.wait()
    controller.stop()
    with lock:
        print(json.dumps({"messages": sum(seen.values()), "distinct": len(seen)}), flush=True)


class SMTPProcess:
    def __init__(self, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--smtp", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("bench: the SMTP server did not start")

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=30)
        return json.loads(output.strip().splitlines()[-1])


# --- the child: database and queue -------------------------------------------------------------


def prepare(count: int) -> None:
    """Migrate, drive one job through its lifecycle, queue `count` customer notifications."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from printdesk.catalogue.models import Material
    from printdesk.jobs import actions, lifecycle
    from printdesk.jobs.actions import Actor
    from printdesk.jobs.models import AuditEvent
    from printdesk.lib.demo import drive_to, stl_upload
    from printdesk.notifications.models import Notification

    call_command("migrate", verbosity=0)
    operator = get_user_model().objects.create_user("bench", "bench@bureau.test", is_staff=True)
    material = Material.objects.create(name="PLA", process="fdm", colours=["black"])
    job, _ = actions.submit_request(
        customer_name="Cara Customer",
        customer_email="cara@example.com",
        material_id=material.pk,
        colour="black",
        quantity=2,
        files=[stl_upload()],
    )
    job = drive_to(job, lifecycle.JobState.DISPATCHED, Actor.staff(operator))
    # The events of the job's lifecycle its customer was emailed about.
    events = list(job.audit_events.filter(notifications__audience="customer").order_by("id"))
    Notification.objects.all().delete()  # the job's own mail: the bench queues its own
    copies = AuditEvent.objects.bulk_create(
        AuditEvent(
            job=job,
            event=source.event,
            actor_kind=source.actor_kind,
            actor_user_id=source.actor_user_id,
            from_state=source.from_state,
            to_state=source.to_state,
            details=source.details,
        )
        for source in (events[i % len(events)] for i in range(count))
    )
    now = timezone.now()
    Notification.objects.bulk_create(
        (
            Notification(
                job=job,
                audit_event=audit,
                event=audit.event,
                audience=lifecycle.Audience.CUSTOMER,
                recipient=job.customer_email,
                next_attempt_at=now,
            )
            for audit in copies
        ),
        batch_size=1000,
    )
    print(json.dumps({"queued": Notification.objects.count(), "events": len(events)}))


def requeue() -> None:
    """Every row back to queued, as if new: no attempts, no snapshot, not sent."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.utils import timezone

    from printdesk.notifications.models import Notification

    Notification.objects.update(
        state="queued",
        attempts=0,
        next_attempt_at=timezone.now(),
        sent_at=None,
        rendered_at=None,
        subject="",
        body_text="",
        body_html="",
        provider_message_id="",
    )


def check(count: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from printdesk.notifications.models import Notification

    states = dict.fromkeys(["queued", "sending", "sent", "failed", "dead"], 0)
    for state in Notification.objects.values_list("state", flat=True):
        states[state] += 1
    print(json.dumps(states))
    if states["sent"] != count:
        raise SystemExit(f"bench: not every row was sent: {states}")


# --- the parent ------------------------------------------------------------------------------


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql)


def _child(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: {args[0]} failed\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def drain(env: dict[str, str], workers: int, count: int) -> float:
    """Seconds for `workers` worker processes to drain the outbox into a fresh server."""
    port = free_port()
    server = SMTPProcess(port)
    run_env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
    try:
        load = os.getloadavg()[0]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", "worker", "--once"],
                env=run_env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        codes = [process.wait() for process in processes]
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        received = server.stop()
    if codes != [0] * workers:
        raise SystemExit(f"bench: a worker failed: {codes}")
    # The workers' own CPU time (start-up included): what the figure costs, whatever else
    # the machine is doing; the load average says how much else that was.
    cpu = sum(
        getattr(cpu_after, field) - getattr(cpu_before, field) for field in ("ru_utime", "ru_stime")
    )
    print(
        f"bench: {workers} worker(s): {seconds:.2f} s, worker CPU {cpu * 1000 / count:.2f} ms "
        f"per message, load average {load:.1f} → {os.getloadavg()[0]:.1f}; "
        f"server got {received}",
        flush=True,
    )
    if received != {"messages": count, "distinct": count}:
        raise SystemExit(f"bench: expected {count} messages once each, the server got {received}")
    print(f"bench: rows {_child(env, '--check', str(count))}", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="notifications to queue")
    parser.add_argument("--smtp", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requeue", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp:
        return serve_smtp(args.smtp)
    if args.prepare:
        return prepare(args.prepare)
    if args.requeue:
        return requeue()
    if args.check:
        return check(args.check)

    var_dir = Path(tempfile.mkdtemp(prefix="printdesk-email-"))
    database = os.environ.get("DATABASE_URL", "")
    postgres = database.startswith(("postgres://", "postgresql://"))
    if postgres:
        _postgres_admin(database, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        _postgres_admin(database, f"CREATE DATABASE {BENCH_DB}")
        database = urlunsplit(urlsplit(database)._replace(path=f"/{BENCH_DB}"))
    else:
        database = f"sqlite:///{var_dir / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "ANYMAIL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="printdesk.settings",
        PRINTDESK_VAR_DIR=str(var_dir),
        DATABASE_URL=database,
        MEDIA_ROOT=str(var_dir / "media"),
        DEBUG="0",
        LOG_LEVEL="ERROR",
    )
    try:
        print(f"bench: queueing {args.count} notifications ({database})", flush=True)
        print(f"bench: {_child(env, '--prepare', str(args.count))}", flush=True)
        one = drain(env, 1, args.count)
        _child(env, "--requeue")
        two = drain(env, 2, args.count)
        figures = {
            "msgs_per_s_1_worker": round(args.count / one),
            "drain_10k_s_1_worker": round(one * 10_000 / args.count, 2),
            "drain_10k_s_2_workers": round(two * 10_000 / args.count, 2),
        }
        print(json.dumps(figures))
    finally:
        if postgres:
            _postgres_admin(os.environ["DATABASE_URL"], f"DROP DATABASE IF EXISTS {BENCH_DB}")
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
