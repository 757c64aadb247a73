"""Django's admin: for admins only; shows jobs and the audit trail but cannot change or delete
them."""

import pytest

from printdesk.catalogue.models import Bureau, Material
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


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/jobs/job/", "/admin/jobs/auditevent/", "/admin/catalogue/material/"]
)
def test_operators_cannot_get_into_django_admin(client, operator, path):
    client.force_login(operator)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_operators_cannot_log_in_to_django_admin(client, operator):
    response = client.post("/admin/login/", {"username": "olga", "password": "pw-olga"})

    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admins_can_log_in_to_django_admin(client, admin):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ada", "password": "pw-ada", "next": "/admin/"}
    )

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_visitors_are_asked_to_log_in(client):
    response = client.get("/admin/jobs/job/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/jobs/printrun/",
        "/admin/jobs/note/",
        "/admin/files/jobfile/",
        "/admin/notifications/notification/",
        "/admin/auth/user/",
        "/admin/accounts/apitoken/",
    ],
)
def test_records_the_desk_owns_are_not_in_django_admin(admin_client, path):
    assert admin_client.get(path).status_code == 404


def test_admin_edits_materials_but_never_deletes_them(admin_client, catalogue):
    pla = catalogue["pla"]
    page = admin_client.get(f"/admin/catalogue/material/{pla.pk}/change/")
    assert page.status_code == 200

    assert (
        admin_client.post(
            f"/admin/catalogue/material/{pla.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            f"/admin/catalogue/printer/{catalogue['mk4'].pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Material.objects.filter(pk=pla.pk).exists()


def test_the_bureau_row_cannot_be_added_or_deleted(admin_client):
    bureau = Bureau.current()

    assert admin_client.get("/admin/catalogue/bureau/add/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/catalogue/bureau/{bureau.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Bureau.objects.filter(pk=bureau.pk).exists()
