"""Through the API: a job's emails in its detail, and resending one."""

import pytest

from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications import sender
from printdesk.notifications.models import Notification, NotificationState

S = NotificationState


def sent_job(make_job) -> tuple[Job, str]:
    job, secret = make_job(JobState.QUOTED)
    while sender.drain().claimed:
        pass
    return Job.objects.get(pk=job.pk), secret


def quote_email(job: Job) -> Notification:
    return Notification.objects.get(job=job, event=EventType.QUOTE_SENT, resend_of=None)


def resend_path(job: Job, notification_id: int) -> str:
    return f"/jobs/{job.reference}/notifications/{notification_id}/resend"


def test_the_detail_lists_each_email_with_its_delivery(make_job, staff_api):
    job, _ = make_job(JobState.QUOTED)
    row = quote_email(job)
    Notification.objects.filter(pk=row.pk).update(state=S.DEAD, attempts=5, last_error="550 no")

    body = staff_api.get(f"/jobs/{job.reference}").json()

    emails = {n["id"]: n for n in body["notifications"]}
    assert set(emails) == set(Notification.objects.filter(job=job).values_list("id", flat=True))
    assert emails[row.pk] | {"created_at": None, "next_attempt_at": None} == {
        "id": row.pk,
        "resend_of": None,
        "event": "quote_sent",
        "audience": "customer",
        "recipient": "cara@example.com",
        "state": "dead",
        "attempts": 5,
        "next_attempt_at": None,
        "last_error": "550 no",
        "provider_message_id": "",
        "created_at": None,
        "sent_at": None,
    }


def test_resend_queues_a_copy_and_answers_with_the_job(make_job, staff_api):
    job, _ = sent_job(make_job)
    original = quote_email(job)

    response = staff_api.post(resend_path(job, original.pk), {"expected_version": job.version})

    assert response.status_code == 201
    body = response.json()
    assert body["version"] == job.version + 1
    assert body["audit"][-1]["event"] == "email_resent"
    copy = Notification.objects.get(resend_of=original)
    listed = {n["id"]: n for n in body["notifications"]}
    assert listed[copy.pk]["resend_of"] == original.pk
    assert listed[copy.pk]["state"] == "queued"


def test_a_repeated_resend_with_the_same_version_is_refused(make_job, staff_api):
    job, _ = sent_job(make_job)
    path, seen = resend_path(job, quote_email(job).pk), {"expected_version": job.version}
    staff_api.post(path, seen)

    response = staff_api.post(path, seen)

    assert response.status_code == 409
    assert response.json()["code"] == "job_changed"
    assert Notification.objects.filter(resend_of__isnull=False).count() == 1


def test_resend_needs_the_version(make_job, staff_api):
    job, _ = sent_job(make_job)
    response = staff_api.post(resend_path(job, quote_email(job).pk), {})
    assert response.status_code == 422
    assert "expected_version" in response.json()["message"]


def test_an_email_on_its_way_is_not_resent(make_job, staff_api):
    job, _ = make_job(JobState.QUOTED)  # nothing sent yet
    response = staff_api.post(
        resend_path(job, quote_email(job).pk), {"expected_version": job.version}
    )
    assert response.status_code == 409
    assert AuditEvent.objects.filter(event=EventType.EMAIL_RESENT).count() == 0


def test_an_admin_may_resend(make_job, admin_api):
    job, _ = sent_job(make_job)
    response = admin_api.post(
        resend_path(job, quote_email(job).pk), {"expected_version": job.version}
    )
    assert response.status_code == 201


def test_the_customer_cannot_resend(make_job, customer_api):
    job, secret = sent_job(make_job)
    response = customer_api(secret).post(
        resend_path(job, quote_email(job).pk), {"expected_version": job.version}
    )
    assert response.status_code == 401
    assert not Notification.objects.filter(resend_of__isnull=False).exists()


@pytest.mark.parametrize("which", ["another job's", "unknown"])
def test_an_email_that_is_not_the_jobs_is_404(make_job, staff_api, which):
    job, _ = sent_job(make_job)
    other, _ = sent_job(make_job)
    notification_id = quote_email(other).pk if which == "another job's" else 999_999
    response = staff_api.post(resend_path(job, notification_id), {"expected_version": job.version})
    assert response.status_code == 404
