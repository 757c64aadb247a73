"""The public forms' rate limits hold across web processes (issue 6).

Two gunicorn servers, separate processes over the test's own database (transaction=True, so
what they write is committed and each sees the other's counts), take turns answering one
client. A limit counted in a process's memory would let each of them allow the full count;
counted in the database, the limit trips at the configured count in total. The request form
and the API's POST /requests share one count per client IP, whichever process serves each.
"""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from bench.serving import free_port, wait_until_up
from printdesk.catalogue.models import Material
from printdesk.lib.demo import box_stl

ROOT = Path(__file__).resolve().parent.parent.parent
PER_ADDRESS = 3  # PRINTDESK_LINK_RECOVERY_RATE_LIMIT in the servers
PER_IP = 6  # PRINTDESK_PUBLIC_IP_RATE_LIMIT in the servers
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    """The test database, as the servers' DATABASE_URL."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory) -> Iterator[list[str]]:
    """Two web servers over the test database, for the whole module (each test's flush
    empties the counters); their base URLs."""
    tmp_path = tmp_path_factory.mktemp("servers")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PRINTDESK_VAR_DIR": str(tmp_path),
        "EMAIL_URL": f"file://{tmp_path / 'mail'}",
        "PRINTDESK_HTTPS": "0",  # plain http on loopback: cookies without Secure
        "PRINTDESK_LINK_RECOVERY_RATE_LIMIT": str(PER_ADDRESS),
        "PRINTDESK_PUBLIC_IP_RATE_LIMIT": str(PER_IP),
        "PRINTDESK_REQUEST_RATE_LIMIT": "100",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers=1",
                f"--bind=127.0.0.1:{port}",
                "--log-level=warning",
                "printdesk.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_until_up(port, process)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def _post_form(browser: requests.Session, url: str, data: dict) -> int:
    """GET the form (its CSRF token), then POST it; the status of the POST."""
    page = browser.get(url, timeout=30)
    assert page.status_code == 200
    token = CSRF_RE.search(page.text)
    assert token, "the form has a CSRF token"
    posted = browser.post(
        url, data={**data, "csrfmiddlewaretoken": token.group(1)}, allow_redirects=False, timeout=30
    )
    return posted.status_code


def test_link_recovery_per_address_trips_at_the_limit_in_total(servers):
    browser = requests.Session()
    answers = [
        _post_form(browser, f"{servers[n % 2]}/lost-link/", {"email": "cara@example.com"})
        for n in range(PER_ADDRESS + 2)
    ]

    # 3 allowed in all (302 back to the form), not 3 per server.
    assert answers == [302] * PER_ADDRESS + [429, 429]
    # Another address is its own count (the per-IP limit is not reached yet).
    other = _post_form(browser, f"{servers[1]}/lost-link/", {"email": "dan@example.com"})
    assert other == 302


def test_the_request_form_per_ip_trips_at_the_limit_in_total(servers):
    Material.objects.create(name="PLA", process="fdm", colours=["black"])
    browser = requests.Session()

    # An incomplete form counts (422: it comes back with its errors) and costs a request.
    answers = [_post_form(browser, f"{servers[n % 2]}/", {}) for n in range(PER_IP + 2)]

    assert answers == [422] * PER_IP + [429, 429]


def test_the_api_and_the_request_form_count_together_across_processes(servers):
    pla = Material.objects.create(name="PLA", process="fdm", colours=["black"])
    browser = requests.Session()
    request = {
        "customer_name": "Rhea Requester",
        "customer_email": "rhea@example.com",
        "material_id": str(pla.pk),
        "colour": "black",
        "quantity": "1",
    }

    def api_request(base: str) -> int:
        files = {"files": ("part.stl", box_stl("part.stl"), "model/stl")}
        answer = requests.post(f"{base}/api/v1/requests", data=request, files=files, timeout=30)
        return answer.status_code

    answers = []
    for n in range(PER_IP + 2):
        if n % 2:
            answers.append(api_request(servers[1]))
        else:
            answers.append(_post_form(browser, f"{servers[0]}/", {}))

    assert answers == [422, 201] * (PER_IP // 2) + [429, 429]
