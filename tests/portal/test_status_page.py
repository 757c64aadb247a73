"""The status page behind the private link: what the customer reads and may do, per state."""

import pytest
from django.urls import reverse

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job
from printdesk.lib.demo import send_quote
from printdesk.notifications.models import Notification
from printdesk.portal.wording import STATE_TEXT
from tests.conftest import stl_upload
from tests.portal.conftest import status_url

S = JobState
BUTTONS = {
    "accept": "Accept quote</button>",
    "decline": "Decline quote</button>",
    "revise": "Upload revised file</button>",
    "cancel": "Cancel the job</button>",
}
# Which buttons the customer is offered in each state (lifecycle.available for the customer).
OFFERED = {
    S.SUBMITTED: {"revise", "cancel"},
    S.QUOTED: {"accept", "decline", "revise", "cancel"},
    S.ACCEPTED: {"revise", "cancel"},
    S.QUOTE_DECLINED: {"cancel"},
    S.DECLINED: set(),
    S.IN_PRODUCTION: set(),
    S.READY: set(),
    S.DISPATCHED: set(),
    S.CANCELLED: set(),
}


@pytest.mark.parametrize("state", list(JobState))
def test_each_state_is_told_in_plain_words_with_only_the_allowed_buttons(client, make_job, state):
    job, secret = make_job(state)

    response = client.get(status_url(secret))

    assert response.status_code == 200
    page = response.content.decode()
    assert job.reference in page
    assert STATE_TEXT[state].now.replace("'", "&#x27;") in page
    assert "What happens next:" in page
    for name, button in BUTTONS.items():
        assert (button in page) == (name in OFFERED[state]), name
    assert page.count("<h1") == 1


def test_the_quote_shows_its_lines_total_lead_time_validity_and_message(client, make_job, operator):
    job, secret = make_job(S.SUBMITTED)
    send_quote(job, Actor.staff(operator), unit_price="12.50", message="Printed in 0.2 mm layers")
    page = client.get(status_url(secret)).content.decode()

    assert "Your quote (version 1)" in page
    assert '<td>Part<span class="line-material">PLA, black</span></td>' in page
    assert "12.50" in page
    assert "EUR 37.50" in page
    assert "5 days after you accept" in page
    assert "Printed in 0.2 mm layers" in page
    assert 'name="quote_version" value="1"' in page
    assert f'name="expected_version" value="{Job.objects.get(pk=job.pk).version}"' in page
    assert "A revised file means a new quote" in page


def test_an_expired_quote_says_so_and_cannot_be_accepted(client, make_job, clock):
    _, secret = make_job(S.QUOTED)
    clock.advance(days=15)

    page = client.get(status_url(secret)).content.decode()

    assert "(expired)" in page
    assert "can no longer be accepted" in page
    assert BUTTONS["accept"] not in page
    assert BUTTONS["decline"] in page


def test_the_timeline_shows_the_customers_steps_with_their_reasons(client, make_job):
    job, secret = make_job(S.QUOTE_DECLINED)
    actions.add_note(job=job, actor=Actor.staff(job.quotes.get().created_by), body="Secret note")

    page = client.get(status_url(secret)).content.decode()

    assert "You sent the request" in page
    assert "Quote sent to you" in page
    assert "You declined the quote" in page
    assert "Reason: Too dear" in page
    assert "Secret note" not in page
    assert "Internal note" not in page
    assert "olga" not in page  # staff names stay on the desk


def test_the_files_and_their_versions_are_listed_with_download_links(client, make_job):
    job, secret = make_job(S.SUBMITTED, files=[stl_upload("bracket.stl")])
    first = job.files.get()
    actions.revise_file(
        job=job, actor=Actor.customer(), upload=stl_upload("bracket-v2.stl"), job_file_id=first.pk
    )

    page = client.get(status_url(secret)).content.decode()

    for version in first.versions.all():
        assert reverse("portal:download", args=[secret, version.pk]) in page
    assert "bracket-v2.stl" in page
    assert f'<option value="{first.pk}"' in page  # the revision can replace it


def test_dispatch_shows_carrier_and_tracking(client, make_job):
    _, secret = make_job(S.DISPATCHED)
    page = client.get(status_url(secret)).content.decode()
    assert "DHL" in page
    assert "JD0001" in page
    assert "Tracking number" in page


def test_an_unknown_link_is_a_friendly_404_pointing_to_lost_link(client, catalogue):
    response = client.get(status_url("no-such-secret"))
    assert response.status_code == 404
    assert reverse("portal:lost_link") in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_replaced_link_no_longer_opens_the_job(client, make_job):
    job, secret = make_job(S.SUBMITTED)
    actions.rotate_link(job=job, actor=Actor.system())
    assert client.get(status_url(secret)).status_code == 410  # tests/security/test_links.py


def test_private_pages_send_the_privacy_headers(client, make_job):
    _, secret = make_job(S.QUOTED)
    responses = [
        client.get(status_url(secret)),
        client.post(reverse("portal:cancel", args=[secret]), {"expected_version": 1}),
        client.get(reverse("portal:accept", args=[secret])),  # 405
        client.get(status_url("unknown")),
    ]
    for response in responses:
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "no-store"
        assert response["X-Robots-Tag"] == "noindex"


def test_get_changes_nothing(client, make_job):
    job, secret = make_job(S.QUOTED)
    before = (Job.objects.get(pk=job.pk).version, AuditEvent.objects.count())
    notifications = Notification.objects.count()

    client.get(status_url(secret))
    for name in ("accept", "decline", "cancel", "revise"):
        assert client.get(reverse(f"portal:{name}", args=[secret])).status_code == 405

    assert (Job.objects.get(pk=job.pk).version, AuditEvent.objects.count()) == before
    assert Notification.objects.count() == notifications


def test_the_page_costs_the_same_queries_however_much_history(
    client, make_job, operator, django_assert_max_num_queries
):
    job, secret = make_job(S.QUOTED)
    with django_assert_max_num_queries(12) as small:
        client.get(status_url(secret))
    staff = Actor.staff(operator)
    for i in range(4):
        actions.revise_file(job=job, actor=Actor.customer(), upload=stl_upload(f"extra{i}.stl"))
        job = send_quote(Job.objects.get(pk=job.pk), staff)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(status_url(secret))
