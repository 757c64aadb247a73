"""GET /readyz: 200 when the database and storage answer and the workers keep up; 503 naming
the check that failed."""

from datetime import timedelta

from django.db import connection
from django.db.utils import OperationalError
from django.utils import timezone

from printdesk.files.models import Analysis, AnalysisState
from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification, NotificationState


def _all_sent_and_analysed() -> None:
    Notification.objects.update(state=NotificationState.SENT)
    Analysis.objects.update(state=AnalysisState.DONE)


def test_it_answers_ok_when_everything_answers_and_nothing_waits(client, make_job):
    make_job(JobState.QUOTED)
    _all_sent_and_analysed()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": True, "storage": True, "notifications": True, "analysis": True},
        "failed": [],
        "oldest_due_seconds": {"notifications": 0, "analysis": 0},
    }


def test_fresh_work_in_the_queues_is_ready(client, make_job):
    make_job(JobState.SUBMITTED)  # an email and an analysis, due now

    assert client.get("/readyz").status_code == 200


def test_an_email_due_too_long_makes_it_unready(client, make_job, settings):
    settings.READY_MAX_NOTIFICATION_WAIT_S = 600
    make_job(JobState.SUBMITTED)
    Analysis.objects.update(state=AnalysisState.DONE)
    Notification.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=11))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["notifications"]
    assert 650 < response.json()["oldest_due_seconds"]["notifications"] < 700


def test_an_email_waiting_for_its_retry_is_not_overdue(client, make_job):
    make_job(JobState.SUBMITTED)
    Analysis.objects.update(state=AnalysisState.DONE)
    # Failed an hour ago, next try in ten minutes: not due, so nothing waits for a worker.
    Notification.objects.update(
        state=NotificationState.FAILED,
        created_at=timezone.now() - timedelta(hours=1),
        next_attempt_at=timezone.now() + timedelta(minutes=10),
    )

    assert client.get("/readyz").status_code == 200


def test_a_file_due_for_analysis_too_long_makes_it_unready(client, make_job, settings):
    settings.READY_MAX_ANALYSIS_WAIT_S = 1800
    make_job(JobState.SUBMITTED)
    Notification.objects.update(state=NotificationState.SENT)
    Analysis.objects.update(next_attempt_at=timezone.now() - timedelta(hours=1))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["analysis"]


def test_a_limit_of_zero_leaves_the_queue_check_out(client, make_job, settings):
    settings.READY_MAX_NOTIFICATION_WAIT_S = 0
    make_job(JobState.SUBMITTED)
    Analysis.objects.update(state=AnalysisState.DONE)
    Notification.objects.update(next_attempt_at=timezone.now() - timedelta(days=3))

    assert client.get("/readyz").status_code == 200


def test_it_answers_503_when_storage_is_unavailable(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "not-mounted"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_it_answers_503_when_the_database_is_unavailable(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr(connection, "cursor", refuse)
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": False, "storage": True}
    assert response.json()["failed"] == ["database"]


def test_it_answers_with_the_bucket(s3_storage, client, db):
    assert client.get("/readyz").status_code == 200


def test_it_only_answers_get(client, db):
    assert client.post("/readyz").status_code == 405
