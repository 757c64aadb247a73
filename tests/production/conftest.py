"""One production-style installation for the module: its own SQLite database and folder, the
demo data, `collectstatic`, and `gunicorn -c gunicorn.conf.py printdesk.wsgi` on a free port
with LOG_FORMAT=json behind a trusted proxy (the tests play the proxy), its log in a file."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.serving import free_port

ROOT = Path(__file__).resolve().parent.parent.parent

# Run inside `manage.py shell`: the demo data, then what the tests call with.
SEED = """
import json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from printdesk.accounts.models import ApiToken
from printdesk.jobs.models import Job, link_secret
call_command("load_demo", stdout=open("/dev/null", "w"))
operator = get_user_model().objects.get(username="operator")
browser = Client()
browser.force_login(operator)
job = Job.objects.exclude(link_hash="").order_by("id").first()
print(json.dumps({
    "token": ApiToken.issue(operator, "tests")[1],
    "session": browser.cookies["sessionid"].value,
    "reference": job.reference,
    "secret": link_secret(job),
}))
"""


@dataclass
class Gunicorn:
    base: str
    port: int
    log: Path
    seed: dict
    static_root: Path

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def records(self) -> list[dict]:
        """Every line of the log, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.lines() if line.strip()]

    def access(self, request_id: str) -> dict:
        """The access line of one request, waiting a moment for it to be written."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for record in self.records():
                if record["logger"] == "printdesk.access" and record["request_id"] == request_id:
                    return record
            time.sleep(0.05)
        raise AssertionError(f"no access line for request {request_id}")


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer within 60 s")


@pytest.fixture(scope="package")
def gunicorn(tmp_path_factory) -> Iterator[Gunicorn]:
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "EMAIL_"))},
        "PRINTDESK_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'printdesk.sqlite3'}",
        "SITE_URL": base,
        "PRINTDESK_HTTPS": "0",
        "LOG_FORMAT": "json",
        "PRINTDESK_STATIC_MANIFEST": "1",
        "PRINTDESK_TRUSTED_PROXY_COUNT": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    seed = json.loads(manage("shell", "-c", SEED).strip().splitlines()[-1])
    log = var / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "printdesk.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(base, process)
        yield Gunicorn(base, port, log, seed, var / "static")
    finally:
        process.terminate()
        process.wait(timeout=30)
