"""A newcomer's first run, against real processes: the demo set-up, the web server and the
worker as `make run` starts them, reached over HTTP with the operator password it printed."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from printdesk.jobs.lifecycle import JobState

ROOT = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout


def _call(url: str, *, data: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the web server exited"
        try:
            if _call(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("the web server did not answer /healthz within 60 s")


def _installation(var: Path, port: int) -> dict:
    """The environment of a SQLite installation in `var`, as `make run` makes one."""
    env = {
        **os.environ,
        "PRINTDESK_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'printdesk.sqlite3'}",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "EMAIL_URL": f"file://{var / 'mail'}",
        "WORKER_POLL_SECONDS": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A migrated, empty database, made once for the module (`make run` migrates first)."""
    var = tmp_path_factory.mktemp("migrated")
    _manage(_installation(var, port=8000), "migrate", "--noinput", "-v0")
    return var / "printdesk.sqlite3"


@pytest.fixture
def demo(tmp_path, migrated):
    """A fresh installation (a copy of the migrated database) with the demo loaded, served
    with a worker."""
    port = _free_port()
    env = _installation(tmp_path, port)
    shutil.copyfile(migrated, tmp_path / "printdesk.sqlite3")
    printed = _manage(env, "load_demo")
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for args in (["runserver", f"127.0.0.1:{port}", "--noreload"], ["worker"])
    ]
    yield {
        "base": f"http://127.0.0.1:{port}",
        "printed": printed,
        "env": env,
        "server": processes[0],
        "worker": processes[1],
        "var": tmp_path,
    }
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_a_newcomer_logs_in_with_the_printed_password_and_sees_the_demo_jobs(demo):
    base = demo["base"]
    _wait_until_up(base, demo["server"])
    password = re.search(r"operator\s+password:\s+(\S+)", demo["printed"]).group(1)

    status, body = _call(
        f"{base}/api/v1/auth/token", data={"username": "operator", "password": password}
    )
    assert status == 201, body
    token = body["token"]

    status, page = _call(f"{base}/api/v1/jobs?page_size=100", token=token)
    assert status == 200
    assert page["count"] >= 12
    assert {item["state"] for item in page["items"]} == set(JobState.values)

    status, wrong = _call(
        f"{base}/api/v1/auth/token", data={"username": "operator", "password": "not-it"}
    )
    assert status == 401 and wrong["message"]

    # The worker sends the demo's queued emails: every notification ends up sent.
    reference = page["items"][0]["reference"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, job = _call(f"{base}/api/v1/jobs/{reference}", token=token)
        if job["notifications"] and all(n["state"] == "sent" for n in job["notifications"]):
            break
        time.sleep(0.5)
    assert all(n["state"] == "sent" for n in job["notifications"]), job["notifications"]
    assert any((demo["var"] / "mail").iterdir())


def test_the_worker_stops_cleanly_on_sigterm(demo):
    worker = demo["worker"]
    # Running for sure (its signal handlers set) once it has sent some of the demo's emails.
    mail = demo["var"] / "mail"
    deadline = time.monotonic() + 60
    while not (mail.is_dir() and any(mail.iterdir())):
        assert time.monotonic() < deadline and worker.poll() is None, "the worker sent nothing"
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "worker: stopped" in output


def test_loading_the_demo_again_adds_nothing_and_prints_new_passwords(demo):
    base = demo["base"]
    _wait_until_up(base, demo["server"])
    first = re.search(r"operator\s+password:\s+(\S+)", demo["printed"]).group(1)
    again = _manage(demo["env"], "load_demo")
    second = re.search(r"operator\s+password:\s+(\S+)", again).group(1)

    status, body = _call(
        f"{base}/api/v1/auth/token", data={"username": "operator", "password": second}
    )
    assert status == 201
    status, page = _call(f"{base}/api/v1/jobs?page_size=100", token=body["token"])
    assert status == 200 and page["count"] == len({i["reference"] for i in page["items"]})
    count_before = page["count"]
    assert first != second
    _manage(demo["env"], "load_demo")
    status, page = _call(f"{base}/api/v1/jobs?page_size=100", token=body["token"])
    assert page["count"] == count_before
