"""The link secret never reaches a log (issue 6): django.request's lines for real requests
through the test client, runserver's request lines from Django's own request handler serving
over a socket, and the X-Job-Link header, all say `/j/[redacted]/` (printdesk/lib/redact.py).
"""

import io
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.test import Client
from django.urls import reverse

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.lib.redact import RedactLinks, redact

REDACTED_PATH = "/j/[redacted]/"


@pytest.fixture
def replaced(make_job, operator) -> str:
    """The secret of a link that was replaced: it answers 410, which django.request logs."""
    job, secret = make_job(JobState.QUOTED)
    actions.rotate_link(job=job, actor=Actor.staff(operator))
    return secret


@pytest.fixture
def server_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, also for django.server (it does not propagate to the root logger)."""
    logger = logging.getLogger("django.server")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_request_log_lines_for_real_requests_never_hold_the_secret(client, replaced, caplog):
    caplog.set_level(logging.INFO)
    made_up = "m" * 43

    assert client.get(reverse("portal:status", args=[replaced])).status_code == 410
    assert client.get(reverse("portal:status", args=[made_up])).status_code == 404
    assert client.post(reverse("portal:cancel", args=[replaced]), {}).status_code == 410
    api = Client().get("/api/v1/customer/job", headers={"X-Job-Link": replaced})
    assert api.status_code == 410

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("django.")]
    assert f"Gone: {REDACTED_PATH}" in lines
    assert f"Not Found: {REDACTED_PATH}" in lines
    assert replaced not in caplog.text and made_up not in caplog.text


def test_the_x_job_link_value_is_redacted_wherever_a_record_carries_it(client, replaced, caplog):
    response = Client().get("/api/v1/customer/job", headers={"X-Job-Link": replaced})
    request = response.wsgi_request
    logger = logging.getLogger("django.request")

    with caplog.at_level(logging.INFO):
        # What a careless log call might write: the header dict, or the value on its own.
        logger.warning("headers %s", dict(request.headers), extra={"request": request})
        logger.warning("link was %s", replaced, extra={"request": request})
        logger.warning("X-Job-Link: %s", replaced)

    assert replaced not in caplog.text
    assert "'X-Job-Link': '[redacted]'" in caplog.text
    assert "link was [redacted]" in caplog.text
    assert "X-Job-Link: [redacted]" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_runserver_request_lines_never_hold_the_secret(make_job, server_log):
    _, secret = make_job(JobState.QUOTED)
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)  # runserver's handler, logging
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/j/{secret}/", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/j/{'q' * 43}/?from=email", timeout=10)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    served = [r for r in server_log.records if r.name == "django.server"]
    assert len(served) == 2
    assert f'"GET {REDACTED_PATH} HTTP/1.1" 200' in served[0].getMessage()
    assert f'"GET {REDACTED_PATH}?from=email HTTP/1.1" 404' in served[1].getMessage()
    assert secret not in server_log.text and "q" * 43 not in server_log.text


def _stream_handlers(logger_name: str) -> list[logging.StreamHandler]:
    logger = logging.getLogger(logger_name)
    return [h for h in logger.handlers if type(h) is logging.StreamHandler]  # not pytest's


def test_the_configured_handlers_write_redacted_lines(replaced):
    # settings.LOGGING's console (root) and runserver handlers, writing into a buffer instead
    # of stderr for the length of the test: what an operator's terminal or journal receives.
    handlers = _stream_handlers("") + _stream_handlers("django.server")
    assert len(handlers) >= 2
    buffer = io.StringIO()
    streams = [handler.setStream(buffer) for handler in handlers]
    try:
        logging.getLogger("printdesk.anything").warning("opened /j/%s/files/3/", replaced)
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /j/{replaced}/ HTTP/1.1", "200", "5"
        )
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)

    written = buffer.getvalue()
    assert "opened /j/[redacted]/files/3/" in written
    assert f'"GET {REDACTED_PATH} HTTP/1.1" 200 5' in written
    assert replaced not in written


def test_gunicorn_style_atoms_and_tracebacks_are_redacted_too():
    secret = "s" * 43
    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%(h)s "%(r)s" %(s)s %({x-job-link}i)s',
        None,
        None,
    )
    # LogRecord takes a one-dict args tuple as the mapping, as gunicorn's access log passes it.
    record.args = {"h": "10.0.0.1", "r": f"GET /j/{secret}/ HTTP/1.1", "s": "200"}
    record.args["{x-job-link}i"] = f"x-job-link: {secret}"
    try:
        raise ValueError(f"no route for /j/{secret}/accept/")
    except ValueError as error:
        record.exc_info = (ValueError, error, error.__traceback__)

    assert RedactLinks().filter(record) is True

    text = logging.Formatter().format(record)
    assert secret not in text
    assert f'"GET {REDACTED_PATH} HTTP/1.1" 200' in text
    assert "no route for /j/[redacted]/accept/" in text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("/j/abc_DEF-123/", "/j/[redacted]/"),
        (
            "https://print.example.com/j/abc/files/7/",
            "https://print.example.com/j/[redacted]/files/7/",
        ),
        ("GET /j/abc?x=1 HTTP/1.1", "GET /j/[redacted]?x=1 HTTP/1.1"),
        ("HTTP_X_JOB_LINK': 'abc'", "HTTP_X_JOB_LINK': '[redacted]'"),
        ("/jobs/PD-00042/", "/jobs/PD-00042/"),  # the desk's pages are not links
        ("/api/v1/customer/job", "/api/v1/customer/job"),
    ],
)
def test_what_is_redacted_and_what_is_not(raw, clean):
    assert redact(raw) == clean


def test_error_emails_to_the_admins_never_hold_the_secret(make_job, settings, monkeypatch):
    """A 500 on a private page: Django emails the traceback, the request and every frame's
    variables (the view's own `secret` among them) to PRINTDESK_ERROR_EMAILS."""
    settings.ADMINS = [("ops@bureau.example", "ops@bureau.example")]
    _, secret = make_job()

    def broken(*args, **kwargs):
        raise RuntimeError("the page broke")

    monkeypatch.setattr("printdesk.portal.status.file_check.file_check", broken)
    client = Client(raise_request_exception=False)
    assert client.get(reverse("portal:status", args=[secret])).status_code == 500
    api = Client(raise_request_exception=False)
    monkeypatch.setattr("printdesk.api.customer._view", broken)
    assert api.get("/api/v1/customer/job", headers={"X-Job-Link": secret}).status_code == 500

    sent = [m for m in mail.outbox if m.to == ["ops@bureau.example"]]
    assert len(sent) == 2
    for message in sent:
        assert "the page broke" in message.body and not message.alternatives  # text only
        assert secret not in message.subject and secret not in message.body
    assert REDACTED_PATH in sent[0].subject
