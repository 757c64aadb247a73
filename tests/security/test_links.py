"""The private job link (issue 6): entropy, hashing at rest, 404 for a link that never opened a
job, 410 for one replaced or expired (pages, customer API, tus), and "Lost your link?" sending
the current link rather than breaking it.

The permission matrix (test_permission_matrix.py) calls every URL with a revoked link; here
each kind of failing link is followed through, with what the customer reads.
"""

import base64
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from printdesk.api.api import api
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import Conflict, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, RevokedLink, hash_link_secret, link_secret
from printdesk.lib.demo import box_stl
from printdesk.notifications.models import Notification
from tests.conftest import stl_upload
from tests.links import emailed_secret

pytestmark = pytest.mark.django_db
S = JobState
PART = box_stl("part.stl")


def page(secret: str, name: str = "status", *extra) -> str:
    return reverse(f"portal:{name}", args=[secret, *extra])


def customer_job(secret: str):
    return Client().get("/api/v1/customer/job", headers={"X-Job-Link": secret})


def tus_create(secret: str):
    headers = {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": str(len(PART)),
        "Upload-Metadata": "filename " + base64.b64encode(b"part.stl").decode(),
        "X-Job-Link": secret,
    }
    return Client().post("/uploads/", headers=headers)


@pytest.fixture
def rotated(make_job, operator):
    """A quoted job whose first link was replaced: (job, old secret, current secret)."""
    job, old = make_job(S.QUOTED)
    actions.rotate_link(job=job, actor=Actor.staff(operator))
    job = Job.objects.get(pk=job.pk)
    return job, old, link_secret(job)


# --- entropy and hashing at rest --------------------------------------------------------------


def test_links_carry_256_bits_and_only_their_hash_is_stored(make_job, rotated):
    job, old, current = rotated
    for secret in (old, current):
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)  # 32 bytes, urlsafe, no padding
        assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert job.link_hash == hash_link_secret(current)
    assert RevokedLink.objects.get(job=job).link_hash == hash_link_secret(old)
    # No column of any table holds either secret.
    with connection.cursor() as cursor:
        for table in ("jobs_job", "jobs_revokedlink", "jobs_auditevent"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            dump = repr(cursor.fetchall())
            assert old not in dump and current not in dump, table


# --- 404 for what never opened a job, 410 for a link replaced --------------------------------


def test_an_unknown_link_is_404_and_a_replaced_one_410_saying_so(client, rotated):
    job, old, current = rotated

    unknown = client.get(page("x" * 43))
    gone = client.get(page(old))

    assert unknown.status_code == 404
    assert gone.status_code == 410
    text = gone.content.decode()
    assert "This link no longer works" in text
    assert "replaced by a newer one" in text
    assert f'action="{reverse("portal:lost_link")}"' in text  # "Lost your link?" right there
    assert 'name="csrfmiddlewaretoken"' in text
    for private in (job.reference, job.customer_name, job.customer_email, current):
        assert private not in text
    assert gone["Referrer-Policy"] == "no-referrer"
    assert gone["Cache-Control"] == "no-store"
    assert client.get(page(current)).status_code == 200


@pytest.mark.parametrize("name", ["accept", "decline", "cancel", "revise"])
def test_every_action_through_a_replaced_link_is_410_and_changes_nothing(client, rotated, name):
    job, old, _ = rotated
    data = {"expected_version": job.version, "quote_version": 1, "reason": "No"}
    if name == "revise":
        data["file"] = stl_upload("rev.stl")

    response = client.post(page(old, name), data)

    assert response.status_code == 410
    assert response["Cache-Control"] == "no-store"
    assert job.reference not in response.content.decode()
    assert Job.objects.get(pk=job.pk).version == job.version


def test_a_download_through_a_replaced_link_is_410(client, rotated):
    job, old, current = rotated
    version = job.files.first().versions.first()

    assert client.get(page(old, "download", version.pk)).status_code == 410
    assert client.get(page(current, "download", version.pk)).status_code == 200


def test_every_replaced_link_stays_410_and_a_refused_rotation_revokes_nothing(
    client, rotated, operator
):
    job, old, current = rotated
    staff = Actor.staff(operator)
    with pytest.raises(JobChanged):
        actions.rotate_link(job=job, actor=staff, expected_version=job.version - 1)
    assert RevokedLink.objects.filter(job=job).count() == 1
    assert client.get(page(current)).status_code == 200

    actions.rotate_link(job=job, actor=staff)

    assert client.get(page(old)).status_code == 410
    assert client.get(page(current)).status_code == 410
    row = RevokedLink.objects.get(link_hash=hash_link_secret(current))
    assert (row.job, row.reason) == (job, "rotated by operator")


# --- expiry --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.CANCELLED, S.DISPATCHED, S.DECLINED])
def test_a_link_expires_the_set_number_of_days_after_its_job_ended(
    client, make_job, clock, settings, state
):
    settings.LINK_EXPIRY_DAYS = 30
    job, secret = make_job(state)
    clock.advance(days=29)
    assert client.get(page(secret)).status_code == 200

    clock.advance(days=2)
    response = client.get(page(secret))

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert job.reference not in response.content.decode()
    gone = customer_job(secret)
    assert (gone.status_code, gone.json()["code"]) == (410, "link_expired")


def test_an_open_jobs_link_never_expires(client, make_job, clock, settings):
    settings.LINK_EXPIRY_DAYS = 30
    _, secret = make_job(S.IN_PRODUCTION)
    clock.advance(days=400)
    assert client.get(page(secret)).status_code == 200


# --- the customer API and tus ----------------------------------------------------------------


def test_the_api_says_401_without_a_link_404_unknown_410_replaced(rotated):
    job, old, current = rotated

    missing = Client().get("/api/v1/customer/job")
    unknown = customer_job("y" * 43)
    gone = customer_job(old)

    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "link_unknown")
    assert (gone.status_code, gone.json()["code"]) == (410, "link_revoked")
    assert "replaced" in gone.json()["message"]
    assert job.reference not in gone.content.decode()
    assert customer_job(current).json()["reference"] == job.reference


def test_a_replaced_link_cannot_act_through_the_api(rotated):
    job, old, _ = rotated
    response = Client().post(
        "/api/v1/customer/job/cancel",
        {"reason": "No", "expected_version": job.version},
        content_type="application/json",
        headers={"X-Job-Link": old},
    )
    assert response.status_code == 410
    assert Job.objects.get(pk=job.pk).state == S.QUOTED


def test_the_openapi_description_lists_404_and_410_for_customer_operations():
    paths = api.get_openapi_schema()["paths"]
    customer = {p: ops for p, ops in paths.items() if p.startswith("/api/v1/customer/")}
    assert customer
    for ops in customer.values():
        for operation in ops.values():
            assert {401, 404, 410} <= {int(code) for code in operation["responses"]}


def test_tus_says_404_for_an_unknown_link_and_410_for_a_replaced_one(rotated):
    _, old, current = rotated

    assert tus_create("z" * 43).status_code == 404
    gone = tus_create(old)
    assert gone.status_code == 410
    assert "replaced" in gone.content.decode()
    created = tus_create(current)
    assert created.status_code == 201

    url = created["Location"]
    tus = {"Tus-Resumable": "1.0.0", "X-Job-Link": old}
    assert Client().head(url, headers=tus).status_code == 410
    status = Client().get(url + "status", headers={"X-Job-Link": old})
    assert status.status_code == 410
    assert "replaced" in status.json()["error"]


# --- "Lost your link?" sends the current link --------------------------------------------------


def test_lost_link_emails_the_current_link_which_keeps_working(client, make_job):
    job, secret = make_job(S.QUOTED)

    client.post(reverse("portal:lost_link"), {"email": "cara@example.com"})

    email = Notification.objects.get(job=job, event="link_sent", audience="customer")
    assert emailed_secret(email) == secret
    assert client.get(page(secret)).status_code == 200
    assert not RevokedLink.objects.exists()


def test_a_link_that_cannot_be_derived_cannot_be_sent_again(make_job):
    job, _ = make_job(S.QUOTED)
    Job.objects.filter(pk=job.pk).update(link_nonce="")
    job = Job.objects.get(pk=job.pk)

    with pytest.raises(Conflict):
        actions.send_link(job=job, actor=Actor.system())

    assert not Notification.objects.filter(job=job, event="link_sent").exists()


def test_only_the_system_sends_a_link_again(make_job, operator):
    job, _ = make_job(S.QUOTED)
    for actor in (Actor.customer(), Actor.staff(operator)):
        with pytest.raises(NotAllowed):
            actions.send_link(job=job, actor=actor)


def test_lost_link_never_sends_a_link_that_has_expired(client, make_job, clock, settings):
    settings.LINK_EXPIRY_DAYS = 10
    job, _ = make_job(S.DISPATCHED)
    clock.advance(days=11)

    client.post(reverse("portal:lost_link"), {"email": "cara@example.com"})

    assert not Notification.objects.filter(job=job, event__in=["link_sent", "link_rotated"])
