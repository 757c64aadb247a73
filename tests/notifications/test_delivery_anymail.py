"""Sending through a provider's API with django-anymail, configured as a deployment would be
(EMAIL_URL=anymail://postmark and ANYMAIL_* variables), against a local HTTP server that
answers as Postmark's documented API does. How each answer is sorted: sent, dead, retried,
or waiting untried."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications import sender
from printdesk.notifications.models import Notification, NotificationState
from printdesk.settings import _email
from tests.smtp import free_port

INACTIVE = (
    "You tried to send to a recipient that has been marked as inactive.\n"
    "Found inactive addresses: {to}.\n"
    "Inactive recipients are ones that have generated a hard bounce or a spam complaint."
)


class Postmark(ThreadingHTTPServer):
    """POST /email answered with `status` and Postmark's body for it; requests recorded."""

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), PostmarkHandler)
        self.status = 200
        self.received: list[dict] = []


class PostmarkHandler(BaseHTTPRequestHandler):
    server: Postmark

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append(payload)
        status, to = self.server.status, payload["To"]
        body = {
            200: {"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{len(self.server.received)}"},
            422: {"ErrorCode": 406, "Message": INACTIVE.format(to=to)},
        }.get(status, {"ErrorCode": 100, "Message": "Error"})
        if status == 200:
            body["To"] = to
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:  # quiet
        pass


@pytest.fixture
def postmark(settings, monkeypatch) -> Iterator[Postmark]:
    server = Postmark(free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ANYMAIL_POSTMARK_SERVER_TOKEN", "server-token")
    monkeypatch.setenv("ANYMAIL_POSTMARK_API_URL", f"http://127.0.0.1:{server.server_port}/")
    for name, value in _email("anymail://postmark").items():
        setattr(settings, name, value)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_email_url_names_a_provider_and_its_keys_come_from_anymail_variables(monkeypatch):
    monkeypatch.setenv("ANYMAIL_MAILGUN_API_KEY", "key-1")
    monkeypatch.setenv("ANYMAIL_MAILGUN_SENDER_DOMAIN", "mg.example.com")
    config = _email("anymail://mailgun")
    assert config["EMAIL_BACKEND"] == "anymail.backends.mailgun.EmailBackend"
    assert config["ANYMAIL"]["MAILGUN_API_KEY"] == "key-1"
    assert config["ANYMAIL"]["MAILGUN_SENDER_DOMAIN"] == "mg.example.com"


def test_an_unknown_provider_stops_the_site_at_startup():
    with pytest.raises(ImproperlyConfigured, match="carrier_pigeon"):
        _email("anymail://carrier_pigeon")


def test_a_provider_that_accepts_gives_its_message_id(make_job, postmark):
    job, secret = make_job(JobState.SUBMITTED)
    assert sender.drain().sent == 2
    assert len(postmark.received) == 2
    customer = next(p for p in postmark.received if p["To"] == "cara@example.com")
    assert job.reference in customer["Subject"]
    assert secret in customer["TextBody"] and secret in customer["HtmlBody"]
    ids = set(Notification.objects.values_list("provider_message_id", flat=True))
    assert ids == {"pm-1", "pm-2"}


def test_an_inactive_recipient_is_dead_at_once(make_job, postmark):
    make_job(JobState.SUBMITTED)
    postmark.status = 422
    assert sender.drain().dead == 2
    row = Notification.objects.get(recipient="cara@example.com")
    assert (row.state, row.attempts) == (NotificationState.DEAD, 1)
    assert "AnymailRecipientsRefused" in row.last_error


@pytest.mark.parametrize(("status", "state"), [(401, "dead"), (429, "failed"), (500, "failed")])
def test_api_errors_are_sorted_into_permanent_and_passing(make_job, postmark, status, state):
    make_job(JobState.SUBMITTED)
    postmark.status = status
    sender.drain()
    assert set(Notification.objects.values_list("state", "attempts")) == {(state, 1)}
    assert all(str(status) in e for e in Notification.objects.values_list("last_error", flat=True))


def test_a_provider_that_cannot_be_reached_costs_no_attempt(make_job, postmark, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_API_URL": f"http://127.0.0.1:{free_port()}/"}
    make_job(JobState.SUBMITTED)
    result = sender.drain()
    assert result.unreachable and result.released == 2
    assert set(Notification.objects.values_list("state", "attempts")) == {("failed", 0)}
