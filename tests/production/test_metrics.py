"""GET /metrics: Prometheus text read from the database, for the bearer of
PRINTDESK_METRICS_TOKEN only; without the token set, or without the right bearer, no page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification, NotificationState

TOKEN = "m" * 40


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_it_counts_jobs_emails_and_analyses_by_state(client, make_job, metrics_on):
    make_job(JobState.SUBMITTED)
    make_job(JobState.QUOTED)
    Notification.objects.filter(pk=Notification.objects.order_by("id")[0].pk).update(
        state=NotificationState.DEAD
    )

    samples = scrape(client)

    assert samples['printdesk_jobs{state="submitted"}'] == 1
    assert samples['printdesk_jobs{state="quoted"}'] == 1
    assert samples['printdesk_jobs{state="dispatched"}'] == 0
    assert samples['printdesk_notifications{state="dead"}'] == 1
    assert sum(v for k, v in samples.items() if k.startswith("printdesk_notifications{")) == (
        Notification.objects.count()
    )
    assert samples['printdesk_analyses{state="pending"}'] == 2
    assert samples['printdesk_uploads{state="uploading"}'] == 0


def test_it_says_how_long_the_oldest_due_email_has_waited(client, make_job, metrics_on):
    make_job(JobState.SUBMITTED)
    Notification.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    waited = scrape(client)["printdesk_notifications_oldest_due_seconds"]

    assert 295 <= waited < 330


def test_every_line_is_prometheus_text(client, make_job, metrics_on):
    make_job(JobState.SUBMITTED)
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()

    sample = re.compile(r'[a-z_]+(\{state="[a-z_]+"\})? \d+(\.\d+)?(e[+-]\d+)?')
    for line in body.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or sample.fullmatch(line), line
    assert body.endswith("\n")


def test_without_a_token_set_there_is_no_page(client, db, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    ["", f"Bearer {TOKEN[:-1]}", f"bearer {TOKEN}", TOKEN, f"Bearer {TOKEN} ", "Bearer \u00e9"],
)
def test_a_wrong_or_missing_bearer_gets_no_page(client, db, metrics_on, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    assert client.get("/metrics", headers=headers).status_code == 404


def test_only_get_answers_the_bearer(client, db, metrics_on):
    headers = {"Authorization": f"Bearer {TOKEN}"}

    assert client.post("/metrics", headers=headers).status_code == 405
    assert client.post("/metrics").status_code == 404  # no token: no page, whatever the method
