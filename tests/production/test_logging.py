"""Structured logs (LOG_FORMAT=json): one JSON object per line; request lines with method,
redacted path, status, duration, the request id (echoed in X-Request-ID, the proxy's when it
is well-formed) and the job the request concerned; the link secret never written.

The gunicorn server of tests/production/conftest.py writes them; the in-process tests check
the pieces gunicorn cannot show (a client with no proxy in front, the worker's job)."""

import io
import json
import logging
import re
import uuid

import pytest
import requests
from django.core.files.storage import default_storage

from printdesk.files import analysis
from printdesk.files.models import FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.lib.logs import JsonFormatter, RequestContext, job_context
from printdesk.lib.redact import RedactLinks
from printdesk.notifications import sender

GENERATED = re.compile(r"[0-9a-f]{32}")


def _get(gunicorn, path: str, **headers: str) -> requests.Response:
    response = requests.get(f"{gunicorn.base}{path}", headers=headers, timeout=30)
    assert response.status_code == 200, (path, response.status_code)
    return response


def test_every_line_gunicorn_and_django_write_is_one_json_object(gunicorn):
    _get(gunicorn, "/")

    records = gunicorn.records()  # fails on any line that is not JSON

    assert {"time", "level", "logger", "message", "request_id", "job"} <= set(records[0])
    assert any(record["logger"] == "gunicorn.error" for record in records)


def test_a_request_line_has_method_path_status_duration_and_its_id(gunicorn):
    response = _get(gunicorn, "/lost-link/")
    request_id = response.headers["X-Request-ID"]

    line = gunicorn.access(request_id)

    assert GENERATED.fullmatch(request_id)
    assert line["method"] == "GET"
    assert line["path"] == "/lost-link/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["job"] is None


def test_the_status_page_line_names_the_job_and_never_the_link(gunicorn):
    secret = gunicorn.seed["secret"]

    response = _get(gunicorn, f"/j/{secret}/")
    line = gunicorn.access(response.headers["X-Request-ID"])

    assert line["path"] == "/j/[redacted]/"
    assert line["job"] == gunicorn.seed["reference"]
    assert secret not in gunicorn.log.read_text()


def test_the_customer_api_line_names_the_job_and_never_the_header(gunicorn):
    secret = gunicorn.seed["secret"]

    response = _get(gunicorn, "/api/v1/customer/job", **{"X-Job-Link": secret})
    line = gunicorn.access(response.headers["X-Request-ID"])

    assert line["job"] == gunicorn.seed["reference"]
    assert secret not in gunicorn.log.read_text()


def test_the_staff_api_and_the_desk_job_page_name_the_job(gunicorn):
    reference = gunicorn.seed["reference"]
    bearer = {"Authorization": f"Bearer {gunicorn.seed['token']}"}

    api = _get(gunicorn, f"/api/v1/jobs/{reference}", **bearer)
    desk = _get(
        gunicorn, f"/desk/jobs/{reference}/", Cookie=f"sessionid={gunicorn.seed['session']}"
    )

    assert gunicorn.access(api.headers["X-Request-ID"])["job"] == reference
    assert gunicorn.access(desk.headers["X-Request-ID"])["job"] == reference


def test_the_proxys_well_formed_request_id_is_kept(gunicorn):
    proxy_id = uuid.uuid4().hex

    response = _get(gunicorn, "/", **{"X-Request-ID": proxy_id})

    assert response.headers["X-Request-ID"] == proxy_id
    assert gunicorn.access(proxy_id)["path"] == "/"


@pytest.mark.parametrize("sent", ["short", "has spaces in it", "x" * 200, "<script>alert</script>"])
def test_a_malformed_request_id_is_replaced(gunicorn, sent):
    response = _get(gunicorn, "/", **{"X-Request-ID": sent})

    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
    assert sent not in gunicorn.log.read_text()


# --- in process -------------------------------------------------------------------------------


def test_without_a_trusted_proxy_the_clients_request_id_is_ignored(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    chosen = "chosen-by-the-client-1234"

    response = client.get("/healthz", headers={"X-Request-ID": chosen})

    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_each_request_gets_its_own_id(client, db):
    ids = {client.get("/healthz")["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


@pytest.fixture
def json_log():
    """What the root logger writes through a handler configured as settings.LOGGING's."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactLinks())
    handler.addFilter(RequestContext())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_record_during_a_request_carries_its_id_and_job(client, operator, json_log):
    client.force_login(operator)

    response = client.get("/desk/jobs/PD-98765/")  # no such job: django.request says so

    [record] = [r for r in json_log() if r["logger"] == "django.request"]
    assert response.status_code == 404
    assert record["request_id"] == response["X-Request-ID"]
    assert record["job"] == "PD-98765"


def test_a_gone_link_is_logged_redacted_with_no_job(client, make_job, operator, json_log):
    from printdesk.jobs import actions
    from printdesk.jobs.actions import Actor

    job, secret = make_job(JobState.QUOTED)
    actions.rotate_link(job=job, actor=Actor.staff(operator))

    assert client.get(f"/j/{secret}/").status_code == 410

    [record] = [r for r in json_log() if r["logger"] == "django.request"]
    assert record["message"] == "Gone: /j/[redacted]/"
    assert record["job"] is None
    assert secret not in json.dumps(json_log())


def test_the_worker_names_the_job_of_the_file_it_analyses(make_job, json_log):
    job, _ = make_job(JobState.SUBMITTED)
    version = FileVersion.objects.get(job_file__job=job)
    default_storage.delete(version.blob.name)  # the analysis fails, and says so in the log

    analysis.drain()

    [record] = [r for r in json_log() if r["logger"] == "printdesk.files.analysis"]
    assert record["level"] == "ERROR"
    assert record["job"] == job.reference


def test_the_worker_names_the_job_of_the_email_it_could_not_send(make_job, smtp, json_log):
    job, _ = make_job(JobState.SUBMITTED)
    smtp.refuse_recipient("cara@example.com")  # the customer's email is refused for good

    sender.drain()

    [record] = [r for r in json_log() if r["logger"] == "printdesk.notifications.sender"]
    assert "gave up" in record["message"]
    assert record["job"] == job.reference


def test_the_job_context_ends_with_its_block(json_log):
    log = logging.getLogger("printdesk.test")
    with job_context(42):
        log.warning("inside")
    log.warning("after")

    inside, after = json_log()
    assert inside["job"] == "PD-00042"
    assert after["job"] is None
