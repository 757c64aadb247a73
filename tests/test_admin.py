"""Django's admin shows jobs and the audit trail but cannot change or delete them."""

import pytest

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def test_admin_lists_jobs_and_audit_events(admin_client, make_job):
    job, _ = make_job(JobState.QUOTED)
    assert admin_client.get("/admin/jobs/job/").status_code == 200
    page = admin_client.get("/admin/jobs/auditevent/")
    assert page.status_code == 200
    assert job.reference in page.content.decode()


@pytest.mark.parametrize("model", ["job", "auditevent", "quote"])
def test_admin_cannot_change_or_delete_lifecycle_records(admin_client, make_job, model):
    job, _ = make_job(JobState.QUOTED)
    obj = {"job": job, "auditevent": job.audit_events.first(), "quote": job.quotes.first()}[model]
    base = f"/admin/jobs/{model}/{obj.pk}"
    audit_before = AuditEvent.objects.count()

    assert admin_client.get(f"{base}/delete/").status_code == 403
    assert admin_client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"{base}/change/", {"state": "cancelled"}).status_code == 403
    assert admin_client.get(f"/admin/jobs/{model}/add/").status_code == 403

    assert AuditEvent.objects.count() == audit_before
    assert Job.objects.get(pk=job.pk).state == JobState.QUOTED


def test_admin_never_shows_the_link_hash(admin_client, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    page = admin_client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert page.status_code == 200
    assert job.link_hash not in page.content.decode()
