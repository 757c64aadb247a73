"""Benchmark: the operator's queue page and the customer's status page at 100,000 jobs.

    .venv/bin/python bench/pages.py              # SQLite, 100,000 jobs, about two minutes
    .venv/bin/python bench/pages.py --jobs 20000 # a quicker look

It never touches the development or test databases: everything lives in a new temporary
directory (SQLite file, media, mail), removed afterwards.

1. A child process migrates and seeds the jobs with bench/transitions.py's seeder (realistic
   states, customers, three years of dates, an audit row per job, quotes), submits one real
   request through the lifecycle action to get a status link, and counts the queue page's SQL
   queries for several filters, tabs and page sizes through Django's test client.
2. gunicorn serves the project (2 sync workers, DEBUG off) on loopback, with one extra URL:
   a trivial Django view (`baseline`), so the status page's throughput is compared with what
   the same server does for a view that does nothing.
3. Over HTTP: the queue page's latency as an operator uses it (tabs, search, filters, sorting,
   the first pages), sequential requests, p95; then requests per second for the status page and
   for the trivial view, each by several client threads for the same time, alternated twice.

The last line printed is one JSON object:
{"queue_p95_ms": N, "queue_queries": N, "status_rps": N, "baseline_rps": N}
"""

import stdlib_first  # noqa: F401  (first: bench/email.py must not shadow the stdlib)

# isort: split
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from serving import free_port, wait_until_up  # bench/serving.py, beside this script

ROOT = Path(__file__).resolve().parent.parent

# The queue as an operator works it: the default view, tabs, searches, filters, sorting, and
# the first pages (deep offsets are the API's concern and measured in bench/transitions.py).
QUEUE_VARIANTS = [
    {},
    {"state": "submitted"},
    {"state": "quoted"},
    {"state": "in_production"},
    {"state": "all"},
    {"state": "active", "sort": "reference"},
    {"q": "weber"},
    {"q": "robotics"},
    {"q": "PD-01234"},
    {"material": "1"},
    {"created_from": "2026-01-01", "created_to": "2026-06-30"},
    {"sort": "-desired"},
    {"sort": "state_changed"},
    {"page": "2"},
    {"page": "5", "state": "all"},
]
# Measured and reported apart, not in the p95: a term in nearly every job (the seeded email
# addresses are all @example.*), the worst case for the text search's index.
BROAD_SEARCH = {"q": "example"}


# --- the child: seed and count queries ---------------------------------------------------------


def prepare(jobs: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from transitions import seed

    from printdesk.jobs import actions
    from printdesk.lib.demo import stl_upload

    call_command("migrate", verbosity=0)
    seeded = seed(jobs)
    operator = seeded["operator"]
    material = seeded["materials"][0]
    _, secret = actions.submit_request(
        customer_name="Bench Customer",
        customer_email="bench.customer@example.com",
        material_id=material.pk,
        colour=material.colours[0],
        quantity=3,
        files=[stl_upload("bench-part.stl")],
    )
    client = Client()
    client.force_login(operator)
    # The dashboard strip's figures are cached for a minute: the first request computes them
    # (its extra queries are reported apart), every other request of that minute reuses them.
    with CaptureQueriesContext(connection) as captured:
        client.get("/desk/")
    cold = len(captured)
    counts = {}
    for variant in QUEUE_VARIANTS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/desk/", variant)
        assert response.status_code == 200, (variant, response.status_code)
        counts[urlencode(variant) or "default"] = len(captured)
    print(json.dumps({"secret": secret, "queries": counts, "cold": cold}))


# --- the parent: serve and measure -------------------------------------------------------------


def _request(port: int, path: str, cookie: str = "") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _log_in(port: int) -> str:
    """A real login through the form; returns the Cookie header of the operator's session."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/desk/login/")
    response = connection.getresponse()
    page = response.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urlencode(
        {"username": "bench-operator", "password": "bench-password", "csrfmiddlewaretoken": token}
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf_cookie}",
        "Referer": f"http://127.0.0.1:{port}/desk/login/",
    }
    connection.request("POST", "/desk/login/", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie", "") or "")
    if response.status != 302 or session is None:
        raise SystemExit(f"bench: login failed ({response.status})")
    return f"sessionid={session.group(1)}; csrftoken={csrf_cookie}"


def _queue_latencies(port: int, cookie: str, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per request, by variant."""
    timings: dict[str, list[float]] = {urlencode(v) or "default": [] for v in QUEUE_VARIANTS}
    for _ in range(rounds):
        for variant in QUEUE_VARIANTS:
            path = "/desk/?" + urlencode(variant)
            started = time.perf_counter()
            status, _ = _request(port, path, cookie)
            timings[urlencode(variant) or "default"].append((time.perf_counter() - started) * 1000)
            assert status == 200, (path, status)
    return timings


def _throughput(port: int, path: str, seconds: float, threads: int) -> float:
    """Requests per second that `threads` clients get from `path` for `seconds`."""
    done = [0] * threads
    failures: list[int] = []
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        while time.monotonic() < stop:
            status, _ = _request(port, path)
            if status != 200:
                failures.append(status)
            done[index] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise SystemExit(f"bench: {path} answered {failures[:5]}")
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15, help="passes over the queue variants")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput measurement")
    parser.add_argument("--threads", type=int, default=4, help="client threads for throughput")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.jobs)
        return

    var_dir = tempfile.mkdtemp(prefix="printdesk-pages-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="printdesk.settings",
        PRINTDESK_VAR_DIR=var_dir,
        DATABASE_URL=f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}",
        MEDIA_ROOT=str(Path(var_dir) / "media"),
        EMAIL_URL=f"file://{Path(var_dir) / 'mail'}",
        SITE_URL=f"http://127.0.0.1:{port}",
        DEBUG="0",
        LOG_LEVEL="ERROR",
    )
    server = None
    try:
        print(f"bench: seeding {args.jobs} jobs in {var_dir}", flush=True)
        prepared = subprocess.run(
            [sys.executable, __file__, "--prepare", "--jobs", str(args.jobs)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if prepared.returncode != 0:
            raise SystemExit(f"bench: seeding failed\n{prepared.stdout}\n{prepared.stderr}")
        setup = json.loads(prepared.stdout.strip().splitlines()[-1])
        queries = setup["queries"]
        print(f"bench: queue queries per request by variant: {queries}", flush=True)

        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config=bench/gunicorn_defaults.py",  # not the production gunicorn.conf.py
                "--workers=2",
                f"--bind=127.0.0.1:{port}",
                "--pythonpath",
                str(ROOT),
                "--env",
                "DJANGO_SETTINGS_MODULE=bench.pages_settings",
                "--log-level=warning",
                "printdesk.wsgi:application",
            ],
            env=env,
            cwd=ROOT,
        )
        wait_until_up(port, server)
        cookie = _log_in(port)
        _queue_latencies(port, cookie, 1)  # warm both workers' caches and connections
        by_variant = _queue_latencies(port, cookie, args.rounds)
        slowest = {name: round(max(ms), 1) for name, ms in by_variant.items()}
        print(f"bench: queue page, slowest ms by variant: {slowest}", flush=True)
        timings = [ms for variant in by_variant.values() for ms in variant]
        p95 = statistics.quantiles(timings, n=20)[-1]
        broad = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            assert _request(port, "/desk/?" + urlencode(BROAD_SEARCH), cookie)[0] == 200
            broad.append((time.perf_counter() - started) * 1000)
        status_path = f"/j/{setup['secret']}/"
        assert _request(port, status_path)[0] == 200
        status_runs, baseline_runs = [], []
        for _ in range(2):  # alternated, so drift on a noisy machine hits both alike
            baseline_runs.append(_throughput(port, "/bench/baseline/", args.seconds, args.threads))
            status_runs.append(_throughput(port, status_path, args.seconds, args.threads))
        figures = {
            "queue_p95_ms": round(p95, 1),
            "queue_p50_ms": round(statistics.median(timings), 1),
            "queue_queries": max(queries.values()),
            "queue_queries_constant": len(set(queries.values())) == 1,
            "queue_queries_dashboard_uncached": setup["cold"],
            "queue_broad_search_p50_ms": round(statistics.median(broad), 1),
            "status_rps": round(statistics.mean(status_runs)),
            "baseline_rps": round(statistics.mean(baseline_runs)),
            "jobs": args.jobs,
        }
        print(json.dumps(figures))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
