from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from printdesk.files.models import FileVersion
from printdesk.jobs import actions
from printdesk.jobs.errors import InvalidInput
from printdesk.jobs.lifecycle import ActorKind, EventType, JobState
from printdesk.jobs.models import hash_link_secret
from printdesk.notifications import render
from tests.conftest import stl_upload
from tests.jobs.helpers import refused
from tests.links import emailed_link


@pytest.fixture
def request_form(catalogue):
    def form(**overrides):
        values = {
            "customer_name": "Cara Customer",
            "customer_email": "cara@example.com",
            "material_id": catalogue["pla"].pk,
            "colour": "white",
            "quantity": 4,
            "files": [stl_upload("bracket.stl"), stl_upload("lid.stl")],
        }
        values.update(overrides)
        return values

    return form


def test_it_creates_a_submitted_job_with_its_files_audit_and_emails(request_form):
    job, secret = actions.submit_request(**request_form(customer_name="  Cara  "))

    assert job.state == JobState.SUBMITTED
    assert job.version == 1
    assert job.customer_name == "Cara"
    assert job.link_hash == hash_link_secret(secret)
    assert secret not in job.link_hash
    versions = FileVersion.objects.filter(job_file__job=job).order_by("original_name")
    assert [(v.original_name, v.number, v.uploaded_by) for v in versions] == [
        ("bracket.stl", 1, "customer"),
        ("lid.stl", 1, "customer"),
    ]

    [audit] = job.audit_events.all()
    assert audit.event == EventType.SUBMITTED
    assert audit.actor_kind == ActorKind.CUSTOMER
    assert audit.actor_user is None
    assert (audit.from_state, audit.to_state) == ("", JobState.SUBMITTED)
    assert audit.details == {"files": ["bracket.stl", "lid.stl"]}

    sent = {n.audience: n for n in audit.notifications.all()}
    assert set(sent) == {"customer", "staff"}
    assert sent["customer"].recipient == "cara@example.com"
    assert sent["staff"].recipient == settings.STAFF_NOTIFICATION_EMAIL
    # The private link is in the customer's email, never in staff's; no row holds it.
    assert emailed_link(sent["customer"]) == actions.customer_link(secret)
    assert sent["customer"].context == sent["staff"].context == {}
    render.take_snapshot(sent["staff"])
    assert secret not in render.to_email(sent["staff"]).body


def test_it_gives_every_job_its_own_link(request_form):
    first, first_secret = actions.submit_request(**request_form())
    second, second_secret = actions.submit_request(**request_form())
    assert first_secret != second_secret
    assert first.link_hash != second.link_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_name", "   "),
        ("customer_email", "not-an-address"),
        ("quantity", 0),
        ("quantity", actions.MAX_QUANTITY + 1),
        ("quantity", True),
        ("quantity", "3"),
        ("colour", "purple"),
        ("files", []),
    ],
)
def test_it_refuses_a_bad_request_and_creates_nothing(request_form, field, value):
    with refused(None, InvalidInput) as caught:
        actions.submit_request(**request_form(**{field: value}))
    assert caught.value.field == field


def test_it_refuses_an_inactive_material(request_form, catalogue):
    catalogue["pla"].active = False
    catalogue["pla"].save()
    with refused(None, InvalidInput) as caught:
        actions.submit_request(**request_form())
    assert caught.value.field == "material"


def test_it_refuses_a_desired_date_in_the_past(request_form):
    yesterday = timezone.localdate() - timedelta(days=1)
    with refused(None, InvalidInput) as caught:
        actions.submit_request(**request_form(desired_date=yesterday))
    assert caught.value.field == "desired_date"


def test_it_refuses_more_files_than_allowed(request_form, settings):
    settings.MAX_FILES_PER_JOB = 2
    files = [stl_upload(f"part{i}.stl") for i in range(3)]
    with refused(None, InvalidInput) as caught:
        actions.submit_request(**request_form(files=files))
    assert caught.value.field == "files"


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", b"solid"), ("empty.stl", b""), ("no-extension", b"solid")],
)
def test_it_refuses_files_it_cannot_print(request_form, name, content):
    files = [stl_upload("ok.stl"), stl_upload(name, content)]
    with refused(None, InvalidInput) as caught:
        actions.submit_request(**request_form(files=files))
    assert caught.value.field == "files"
