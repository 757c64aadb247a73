"""Benchmark: lifecycle actions per second and the job-list API at 100,000 jobs.

    .venv/bin/python bench/transitions.py                # SQLite only
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printdesk .venv/bin/python bench/transitions.py

Each database is measured in a child process of its own with its own database, so the
development and test databases are never touched:
- SQLite: a file in a new temporary directory, with the project's SQLite settings (WAL,
  IMMEDIATE transactions, busy timeout) since DATABASE_URL is a sqlite URL;
- PostgreSQL (only when DATABASE_URL names one): a database `printdesk_bench` on that server,
  dropped and created before, dropped after.

Each child migrates, seeds jobs with bulk inserts (realistic states, materials, customers and
creation dates over three years, one audit row per job, quotes for quoted and accepted jobs),
then measures:
(a) real lifecycle actions from printdesk.jobs.actions on seeded jobs in the right states, each
    with its audit row and outbox rows: one at a time in one process, then shared by --workers
    processes at once (the headline figure: what the machine's two cores sustain);
(b) GET /api/v1/jobs through django.test.Client with an operator's bearer token: p50/p95
    latency and SQL queries per request, for first pages, random deep pages, a state filter
    and a text search.
The last line printed is one JSON object with the headline figures.
"""

import stdlib_first  # noqa: F401  (first: bench/email.py must not shadow the stdlib)

# isort: split
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "printdesk_bench"
SEED = 20260101

# --- the parent: one child per database -------------------------------------------------------


def _child(phase: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--jobs",
        str(args.jobs),
        "--actions",
        str(args.actions),
        "--requests",
        str(args.requests),
        "--workers",
        str(args.workers),
    ]
    if args.explain:
        command.append("--explain")
    result = None
    # Runs this very script with our own arguments: nothing untrusted reaches the command.
    with subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            else:
                print(f"[{phase}] {line}", end="", flush=True)
    if child.returncode != 0 or result is None:
        raise SystemExit(f"The {phase} benchmark failed (exit {child.returncode}).")
    return result


def _base_env(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="printdesk.settings",
        PRINTDESK_VAR_DIR=var_dir,
        MEDIA_ROOT=str(Path(var_dir) / "media"),
        EMAIL_URL=f"file://{Path(var_dir) / 'mail'}",
        DEBUG="0",
        LOG_LEVEL="ERROR",
    )
    return env


def _run_sqlite(args: argparse.Namespace) -> dict:
    var_dir = tempfile.mkdtemp(prefix="printdesk-bench-")
    try:
        env = _base_env(var_dir)
        env["DATABASE_URL"] = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
        return _child("sqlite", env, args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql)


def _run_postgres(url: str, args: argparse.Namespace) -> dict:
    bench_url = urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DB}"))
    _postgres_admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _postgres_admin(url, f"CREATE DATABASE {BENCH_DB}")
    var_dir = tempfile.mkdtemp(prefix="printdesk-bench-")
    try:
        env = _base_env(var_dir)
        env["DATABASE_URL"] = bench_url
        return _child("postgres", env, args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
        _postgres_admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _throughput(results: dict, vendor: str) -> int | None:
    return results[vendor]["parallel"]["actions_per_s"] if vendor in results else None


def orchestrate(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    url = os.environ.get("DATABASE_URL", "")
    postgres = url if urlsplit(url).scheme in ("postgres", "postgresql", "pgsql") else None
    if url and not postgres and not url.startswith("sqlite"):
        raise SystemExit(f"DATABASE_URL must be a sqlite or postgres URL, got {url!r}")
    if args.only == "postgres" and not postgres:
        raise SystemExit("--only postgres needs DATABASE_URL to name a PostgreSQL server.")
    results = {}
    if args.only != "postgres":
        results["sqlite"] = _run_sqlite(args)
    if postgres and args.only != "sqlite":
        results["postgres"] = _run_postgres(postgres, args)
    # The job list is reported for the database the deployment runs on: PostgreSQL when
    # DATABASE_URL names it, else SQLite. Headline p95 is the worst of the request kinds.
    main = results.get("postgres") or results["sqlite"]
    print(f"total time {time.perf_counter() - started:.0f} s")
    summary = {
        # Throughput on the machine's cores: --workers processes at once (2 by default, as
        # many as these machines have cores), the way the portal runs (web processes and a
        # worker). One process alone is latency-bound on PostgreSQL; it is printed above.
        "actions_per_s_sqlite": _throughput(results, "sqlite"),
        "actions_per_s_postgres": _throughput(results, "postgres"),
        "job_list_p95_ms": main["job_list_p95_ms"],
        "job_list_queries": main["job_list_queries"],
    }
    print(json.dumps(summary))


# --- the child: seed and measure one database -------------------------------------------------

STATE_WEIGHTS_OLD = {  # jobs older than two months: nearly all finished
    "dispatched": 72,
    "cancelled": 10,
    "declined": 7,
    "quote_declined": 9,
    "quoted": 2,
}
STATE_WEIGHTS_RECENT = {  # the live queue
    "submitted": 16,
    "quoted": 18,
    "accepted": 10,
    "quote_declined": 6,
    "declined": 4,
    "in_production": 18,
    "ready": 8,
    "dispatched": 14,
    "cancelled": 6,
}
EVENT_FOR_STATE = {
    "submitted": ("", "submitted"),
    "quoted": ("submitted", "quote_sent"),
    "accepted": ("quoted", "quote_accepted"),
    "quote_declined": ("quoted", "quote_declined"),
    "declined": ("submitted", "request_declined"),
    "in_production": ("accepted", "production_started"),
    "ready": ("in_production", "ready"),
    "dispatched": ("ready", "dispatched"),
    "cancelled": ("quoted", "cancelled"),
}
FIRST = (
    "Anna Ben Carla David Elif Farid Greta Hugo Ines Jakub Kofi Lena Marco Nadia Oskar Paula "
    "Quentin Rosa Samir Tanja Umar Vera Wim Xenia Yusuf Zoe Lars Mei Pablo Sven"
).split()
LAST = (
    "Andersen Bauer Costa Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Kowalski Larsen "
    "Moreau Novak Olsen Petrov Quinn Rossi Schmidt Tanaka Uddin Varga Weber Xu Yilmaz Zielinski "
    "Brandt Lindqvist Okafor Marin"
).split()
COMPANIES = [
    "",
    "",
    "",
    "Nordlicht Robotics",
    "Weber Maschinenbau",
    "Raman Dental Lab",
    "Studio Costa",
    "Grant Audio",
    "Brandt Drone Works",
    "Lakeside University",
    "Southside Makerspace",
    "Duarte Orthotics",
    "Helix Medical",
    "Fjord Marine",
    "Alpine Optics",
    "Kestrel Aerospace",
    "Copperleaf Design",
    "Northgate Motors",
]
MATERIAL_WEIGHTS = [40, 22, 10, 8, 8, 12]  # in load_demo's MATERIALS order
SEARCH_TERMS = ["weber", "ines", "robotics", "marin", "kowalski", "dental", "PD-01234", "audio"]


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "printdesk.settings")
    import django

    django.setup()


def _say(text: str) -> None:
    print(text, flush=True)


@contextmanager
def _explicit_timestamps(*models):
    """Let bulk inserts set created_at and friends: auto_now(_add) would overwrite them."""
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _customers(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    domains = ["example.com", "example.org", "example.net", "mail.example.com"]
    people = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANIES)
        email = f"{first}.{last}{n}@{rng.choice(domains)}".lower()
        people.append((f"{first} {last}", email, company))
    return people


def _weighted(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


def seed(total: int, batch: int = 5000) -> dict:
    """Bulk-insert `total` jobs; returns the catalogue and the operator for the measurements."""
    import hashlib

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from printdesk.catalogue.management.commands.load_demo import MATERIALS, PRINTERS
    from printdesk.catalogue.models import Material, Printer
    from printdesk.jobs.models import AuditEvent, Job, Quote

    rng = random.Random(SEED)
    materials = [Material.objects.create(**spec) for spec in MATERIALS]
    for name, process, (x, y, z) in PRINTERS:
        Printer.objects.create(name=name, process=process, build_x_mm=x, build_y_mm=y, build_z_mm=z)
    operator = get_user_model().objects.create_user(
        "bench-operator", "bench@printdesk.invalid", "bench-password", is_staff=True
    )
    people = _customers(rng, 8000)

    now = timezone.now()
    span = timedelta(days=3 * 365).total_seconds()
    recent = timedelta(days=60).total_seconds()
    # A growing bureau: more jobs lately (about a tenth in the last 60 days, the live queue).
    # Oldest first, so ids follow creation dates as they do in real life.
    ages = sorted((rng.random() ** 1.3 * span for _ in range(total)), reverse=True)
    valid_until = timezone.localdate() + timedelta(days=30)
    inserted = 0
    with _explicit_timestamps(Job, AuditEvent, Quote):
        for start in range(0, total, batch):
            jobs, ages_here = [], ages[start : start + batch]
            for age in ages_here:
                weights = STATE_WEIGHTS_RECENT if age < recent else STATE_WEIGHTS_OLD
                state = _weighted(rng, weights, 1)[0]
                name, email, company = rng.choice(people)
                material = rng.choices(materials, weights=MATERIAL_WEIGHTS)[0]
                created = now - timedelta(seconds=age)
                changed = min(now, created + timedelta(days=rng.uniform(0, 20)))
                jobs.append(
                    Job(
                        customer_name=name,
                        customer_email=email,
                        customer_company=company,
                        material=material,
                        colour=rng.choice(material.colours),
                        quantity=rng.choice([1, 1, 2, 4, 5, 10, 12, 25, 50, 100]),
                        notes="",
                        state=state,
                        version=1,
                        link_hash=hashlib.sha256(rng.randbytes(32)).hexdigest(),
                        created_at=created,
                        updated_at=changed,
                        state_changed_at=changed,
                    )
                )
            with transaction.atomic():
                Job.objects.bulk_create(jobs)
                AuditEvent.objects.bulk_create(
                    AuditEvent(
                        job=job,
                        event=EVENT_FOR_STATE[job.state][1],
                        actor_kind="customer" if job.state == "submitted" else "operator",
                        actor_user=None if job.state == "submitted" else operator,
                        from_state=EVENT_FOR_STATE[job.state][0],
                        to_state=job.state,
                        details={},
                        created_at=job.state_changed_at,
                    )
                    for job in jobs
                )
                Quote.objects.bulk_create(
                    Quote(
                        job=job,
                        version=1,
                        status="current" if job.state == "quoted" else "accepted",
                        currency="EUR",
                        total=Decimal("12.50") * job.quantity,
                        lead_time_days=5,
                        valid_until=valid_until,
                        created_by=operator,
                        created_at=job.state_changed_at,
                    )
                    for job in jobs
                    if job.state in ("quoted", "accepted")
                )
            inserted += len(jobs)
    return {"materials": materials, "operator": operator, "jobs": inserted}


# (name, actions in it, the thunk that runs them)
Task = tuple[str, int, Callable[[], object]]


def _state_counts() -> str:
    from django.db.models import Count

    from printdesk.jobs.models import Job

    rows = Job.objects.values_list("state").annotate(n=Count("id")).order_by("-n")
    return ", ".join(f"{state} {n}" for state, n in rows)


def _pick(state: str, count: int) -> list:
    from printdesk.jobs.models import Job

    jobs = list(Job.objects.filter(state=state).order_by("?")[:count])
    if len(jobs) < count:
        raise SystemExit(f"Only {len(jobs)} seeded jobs are {state}; need {count}.")
    return jobs


def _plan(total: int, operator) -> list[Task]:
    """A shuffled mix of real actions over seeded jobs in the right states.

    Each task is (name, actions in it, thunk); a chain on one job counts each of its steps.
    """
    from django.utils import timezone

    from printdesk.jobs import actions
    from printdesk.jobs.actions import Actor, QuoteLineInput
    from printdesk.jobs.models import DispatchMethod, RunState

    staff, customer = Actor.staff(operator), Actor.customer()
    valid_until = timezone.localdate() + timedelta(days=14)

    def send_quote(job):
        line = QuoteLineInput(
            description="Part",
            material_id=job.material_id,
            colour=job.colour,
            quantity=job.quantity,
            unit_price=Decimal("9.90"),
        )
        return lambda: actions.send_quote(
            job=job,
            actor=staff,
            lines=[line],
            currency="EUR",
            lead_time_days=7,
            valid_until=valid_until,
        )

    def print_and_ready(job):
        def chain():
            run = actions.add_run(job=job, actor=staff, quantity=job.quantity)
            actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)
            actions.mark_ready(job=job, actor=staff)

        return chain

    share = {  # (state, fraction of tasks, actions per task, name, task maker)
        "send_quote": ("submitted", 0.22, 1, send_quote),
        "decline_request": (
            "submitted",
            0.05,
            1,
            lambda j: lambda: actions.decline_request(job=j, actor=staff, reason="Not printable"),
        ),
        "accept_quote": (
            "quoted",
            0.20,
            1,
            lambda j: lambda: actions.accept_quote(job=j, actor=customer, quote_version=1),
        ),
        "cancel": (
            "quoted",
            0.08,
            1,
            lambda j: lambda: actions.cancel(job=j, actor=customer, reason="Changed my mind"),
        ),
        "start_production": (
            "accepted",
            0.15,
            1,
            lambda j: lambda: actions.start_production(job=j, actor=staff),
        ),
        "add_run+update_run+mark_ready": ("in_production", 0.08, 3, print_and_ready),
        "dispatch": (
            "ready",
            0.12,
            1,
            lambda j: (
                lambda: actions.dispatch(
                    job=j, actor=staff, method=DispatchMethod.CARRIER, carrier="DHL"
                )
            ),
        ),
    }
    scale = total / sum(fraction * steps for _, fraction, steps, _ in share.values())
    counts = {name: round(scale * fraction) for name, (_, fraction, _, _) in share.items()}
    # One draw per state, so two kinds of action never get the same job.
    pools: dict[str, list] = {}
    for name, (state, *_) in share.items():
        pools[state] = pools.get(state, []) + [None] * counts[name]
    for state, slots in pools.items():
        pools[state] = _pick(state, len(slots))
    tasks: list[Task] = []
    for name, (state, _, steps, make) in share.items():
        jobs, pools[state] = pools[state][: counts[name]], pools[state][counts[name] :]
        tasks += [(name, steps, make(job)) for job in jobs]
    random.Random(SEED).shuffle(tasks)
    return tasks


def measure_actions(total: int, operator) -> dict:
    from django.db import connection

    from printdesk.jobs.models import AuditEvent
    from printdesk.notifications.models import Notification

    tasks = _plan(total, operator)
    audits, outbox = AuditEvent.objects.count(), Notification.objects.count()
    timings: dict[str, list[float]] = {}
    statements: dict[str, int] = {}
    counter = [0]

    def count_statement(execute, sql, params, many, context):
        counter[0] += 1
        return execute(sql, params, many, context)

    count = 0
    started = time.perf_counter()
    with connection.execute_wrapper(count_statement):  # a counter: negligible overhead
        for name, steps, thunk in tasks:
            t0, before = time.perf_counter(), counter[0]
            thunk()
            timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000 / steps)
            statements[name] = statements.get(name, 0) + counter[0] - before
            count += steps
    elapsed = time.perf_counter() - started
    new_audits = AuditEvent.objects.count() - audits
    if new_audits != count:
        raise SystemExit(f"{count} actions wrote {new_audits} audit rows")
    steps_of = {name: steps for name, steps, _ in tasks}
    return {
        "actions": count,
        "seconds": round(elapsed, 2),
        "actions_per_s": round(count / elapsed),
        "audit_rows": new_audits,
        "notification_rows": Notification.objects.count() - outbox,
        "ms_per_action": {
            name: {
                "n": len(ms),
                "p50": _pct(ms, 50),
                "p95": _pct(ms, 95),
                # SQL statements per action, BEGIN/COMMIT not included
                "sql": round(statements[name] / len(ms) / steps_of[name], 1),
            }
            for name, ms in timings.items()
        },
    }


def _work(tasks: list[Task], barrier, results) -> None:
    """One worker process: wait for the others, then run its share of the tasks."""
    from django.db import connections

    try:
        barrier.wait()
        done = 0
        for _, steps, thunk in tasks:
            thunk()
            done += steps
        results.put(done)
    except Exception as exc:  # reported by the parent, which then fails the run
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        connections.close_all()


def measure_actions_parallel(total: int, operator, workers: int) -> dict:
    """The same mix over other jobs, shared by `workers` processes with a connection each."""
    import multiprocessing

    from django.db import connections

    tasks = _plan(total, operator)
    connections.close_all()  # each forked worker opens its own connection
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(workers + 1), context.Queue()
    processes = [
        context.Process(target=_work, args=(tasks[i::workers], barrier, results))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    outcomes = [results.get() for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:
        raise SystemExit(f"a worker failed: {failures[0]}")
    count = sum(outcomes)
    return {"workers": workers, "actions": count, "actions_per_s": round(count / elapsed)}


def _pct(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[pct - 1], 2)


def measure_job_list(requests: int, operator, explain: bool) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from printdesk.accounts.models import ApiToken
    from printdesk.jobs.models import Job

    _, secret = ApiToken.issue(operator, "bench")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    rng = random.Random(SEED)
    pages = -(-Job.objects.count() // 50)
    in_production_pages = -(-Job.objects.filter(state="in_production").count() // 50)
    kinds: dict[str, Callable[[], dict]] = {
        "first pages": lambda: {"page": rng.randint(1, 5), "page_size": 50},
        "any page": lambda: {"page": rng.randint(1, pages), "page_size": 50},
        "state filter": lambda: {
            "state": "in_production",
            "page": rng.randint(1, in_production_pages),
            "page_size": 50,
        },
        "text search": lambda: {"q": rng.choice(SEARCH_TERMS), "page": 1, "page_size": 50},
    }
    for _ in range(10):  # warm up: connection, URL resolver, token touch
        client.get("/api/v1/jobs", {"page": 1})
    results = {}
    for kind, params in kinds.items():
        latencies, queries = [], []
        for _ in range(requests):
            query = params()
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                response = client.get("/api/v1/jobs", query)
                latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET /api/v1/jobs {query}: {response.status_code}")
            queries.append(len(captured))
            items = response.json()["items"]
            if len(items) == 0 and kind != "text search":
                raise SystemExit(f"GET /api/v1/jobs {query} returned no items")
        results[kind] = {
            "p50_ms": _pct(latencies, 50),
            "p95_ms": _pct(latencies, 95),
            "queries": max(queries),
        }
        if explain:
            _explain(client, params(), connection)
    return {
        "job_list": results,
        "job_list_p95_ms": max(r["p95_ms"] for r in results.values()),
        "job_list_queries": max(r["queries"] for r in results.values()),
    }


def _explain(client, query: dict, connection) -> None:
    """Print each SQL statement of one request with the database's plan for it."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/jobs", query)
    _say(f"  EXPLAIN for {query}:")
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    for item in captured.captured_queries:
        sql = item["sql"]
        _say(f"    {item['time']}s  {sql[:300]}")
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            for row in cursor.fetchall():
                _say(f"        {row[-1]}")


def run_phase(args: argparse.Namespace) -> None:
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    _say("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    _say(f"{connection.vendor}: migrated in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    seeded = seed(args.jobs)
    with connection.cursor() as cursor:
        # What autovacuum does to a freshly filled table: planner statistics and, on
        # PostgreSQL, the visibility map that lets COUNT(*) read an index only.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    _say(f"seeded {seeded['jobs']} jobs in {time.perf_counter() - t0:.1f} s: {_state_counts()}")

    acted = measure_actions(args.actions, seeded["operator"])
    _say(
        f"actions: {acted['actions']} in {acted['seconds']} s = {acted['actions_per_s']}/s "
        f"({acted['audit_rows']} audit rows, {acted['notification_rows']} outbox rows)"
    )
    for name, figures in acted["ms_per_action"].items():
        _say(
            f"  {name:32} n={figures['n']:5}  p50 {figures['p50']:6} ms  "
            f"p95 {figures['p95']:6} ms  {figures['sql']} SQL statements"
        )

    parallel = measure_actions_parallel(args.actions, seeded["operator"], args.workers)
    _say(
        f"actions with {parallel['workers']} processes at once: {parallel['actions']} "
        f"= {parallel['actions_per_s']}/s"
    )

    listed = measure_job_list(args.requests, seeded["operator"], args.explain)
    _say(f"GET /api/v1/jobs at {seeded['jobs']} jobs, {args.requests} requests each:")
    for kind, figures in listed["job_list"].items():
        _say(
            f"  {kind:14} p50 {figures['p50_ms']:7} ms  p95 {figures['p95_ms']:7} ms  "
            f"{figures['queries']} queries"
        )
    _say("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    result = {**acted, **listed, "parallel": parallel, "vendor": connection.vendor}
    print("RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to seed")
    parser.add_argument("--actions", type=int, default=3000, help="lifecycle actions to time")
    parser.add_argument("--requests", type=int, default=200, help="job-list requests per kind")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes for the parallel actions measurement"
    )
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="measure one database")
    parser.add_argument("--phase", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
