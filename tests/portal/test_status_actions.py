"""Accept, decline, cancel and revise through the status page: POST, redirect, message."""

import pytest
from django.urls import reverse

from printdesk.files.models import FileVersion
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, QuoteStatus
from printdesk.lib.demo import send_quote
from tests.conftest import stl_upload
from tests.portal.conftest import csrf_token, status_url

S = JobState


def url(name: str, secret: str) -> str:
    return reverse(f"portal:{name}", args=[secret])


def fresh(job: Job) -> Job:
    return Job.objects.get(pk=job.pk)


def test_the_customer_accepts_the_quote(client, make_job):
    job, secret = make_job(S.QUOTED)

    response = client.post(
        url("accept", secret), {"quote_version": 1, "expected_version": job.version}, follow=True
    )

    assert response.redirect_chain == [(status_url(secret), 302)]
    assert fresh(job).state == S.ACCEPTED
    assert job.quotes.get().status == QuoteStatus.ACCEPTED
    page = response.content.decode()
    assert "you accepted the quote" in page
    assert "You accepted this quote" in page
    assert job.audit_events.last().actor_kind == "customer"


def test_the_customer_declines_the_quote_with_a_reason(client, make_job):
    job, secret = make_job(S.QUOTED)
    data = {"quote_version": 1, "expected_version": job.version, "reason": "Over budget"}

    response = client.post(url("decline", secret), data, follow=True)

    assert fresh(job).state == S.QUOTE_DECLINED
    assert job.audit_events.last().details["reason"] == "Over budget"
    assert "You declined the quote" in response.content.decode()


def test_declining_without_a_reason_asks_for_one_beside_the_field(client, make_job):
    job, secret = make_job(S.QUOTED)
    data = {"quote_version": 1, "expected_version": job.version, "reason": ""}

    response = client.post(url("decline", secret), data)

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="decline_reason-error"><li>Please give a reason.</li>' in page
    assert '<details class="confirm" open>' in page
    assert fresh(job).state == S.QUOTED


def test_a_blank_reason_the_action_refuses_keeps_what_was_typed(client, make_job):
    job, secret = make_job(S.SUBMITTED)

    response = client.post(
        url("cancel", secret), {"expected_version": job.version, "reason": "   "}
    )

    assert response.status_code == 422
    assert "Please give a reason." in response.content.decode()
    assert fresh(job).state == S.SUBMITTED


def test_the_customer_cancels_with_a_reason(client, make_job):
    job, secret = make_job(S.ACCEPTED)

    response = client.post(
        url("cancel", secret),
        {"expected_version": job.version, "reason": "Found another supplier"},
        follow=True,
    )

    assert fresh(job).state == S.CANCELLED
    page = response.content.decode()
    assert "Your job is cancelled." in page
    assert "Reason: Found another supplier" in page
    assert "Cancel the job</button>" not in page


def test_a_stale_page_is_told_the_job_changed_and_shown_fresh(client, make_job, operator):
    job, secret = make_job(S.QUOTED)
    seen = job.version
    send_quote(job, Actor.staff(operator), unit_price="9.00")  # version 2 supersedes what she saw

    response = client.post(
        url("accept", secret), {"quote_version": 1, "expected_version": seen}, follow=True
    )

    assert response.redirect_chain == [(status_url(secret), 302)]
    page = response.content.decode()
    assert "changed since you loaded it" in page
    assert "Here is your job as it is now." in page
    assert "Your quote (version 2)" in page
    assert fresh(job).state == S.QUOTED
    assert job.quotes.get(version=2).status == QuoteStatus.CURRENT


def test_a_late_cancel_after_production_started_is_told_the_job_changed(client, make_job, operator):
    job, secret = make_job(S.ACCEPTED)
    seen = job.version
    actions.start_production(job=job, actor=Actor.staff(operator))

    response = client.post(
        url("cancel", secret), {"expected_version": seen, "reason": "Too late?"}, follow=True
    )

    assert "changed since you loaded it" in response.content.decode()
    assert fresh(job).state == S.IN_PRODUCTION


def test_a_customer_cannot_cancel_in_production_even_with_a_current_page(client, make_job):
    job, secret = make_job(S.IN_PRODUCTION)

    response = client.post(url("cancel", secret), {"expected_version": job.version, "reason": "x"})

    assert response.status_code == 403
    assert fresh(job).state == S.IN_PRODUCTION


def test_acting_on_a_finished_job_is_a_message_not_a_crash(client, make_job):
    job, secret = make_job(S.CANCELLED)

    response = client.post(
        url("cancel", secret), {"expected_version": job.version, "reason": "again"}, follow=True
    )

    assert response.status_code == 200
    assert "is not possible now" in response.content.decode()


def test_a_revised_file_means_a_new_quote(client, make_job):
    job, secret = make_job(S.QUOTED)
    original = job.files.get()

    response = client.post(
        url("revise", secret),
        {
            "expected_version": job.version,
            "file_id": original.pk,
            "file": stl_upload("part-v2.stl"),
        },
        follow=True,
    )

    assert fresh(job).state == S.SUBMITTED
    assert job.quotes.get().status == QuoteStatus.SUPERSEDED
    assert list(original.versions.values_list("number", "original_name")) == [
        (1, "part.stl"),
        (2, "part-v2.stl"),
    ]
    page = response.content.decode()
    assert "We received part-v2.stl (version 2). The bureau will send you a new quote" in page


def test_a_revision_can_be_a_new_file(client, make_job):
    job, secret = make_job(S.SUBMITTED)

    client.post(
        url("revise", secret),
        {"expected_version": job.version, "file_id": "", "file": stl_upload("extra.stl")},
    )

    assert sorted(job.files.values_list("name", flat=True)) == ["extra.stl", "part.stl"]
    assert fresh(job).state == S.SUBMITTED


def test_a_revision_of_the_wrong_kind_is_refused_beside_the_file(client, make_job):
    job, secret = make_job(S.QUOTED)

    response = client.post(
        url("revise", secret),
        {"expected_version": job.version, "file": stl_upload("notes.txt", content=b"hello")},
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="revise_file-error"><li>notes.txt: only .stl' in page
    assert '<details class="revise" open>' in page
    assert fresh(job).state == S.QUOTED
    assert FileVersion.objects.count() == 1


def test_a_revision_naming_another_jobs_file_is_refused(client, make_job):
    job, secret = make_job(S.SUBMITTED)
    other, _ = make_job(S.SUBMITTED)

    response = client.post(
        url("revise", secret),
        {
            "expected_version": job.version,
            "file_id": other.files.get().pk,
            "file": stl_upload("sneaky.stl"),
        },
    )

    assert response.status_code == 422
    assert "That file is not part of this job." in response.content.decode()
    assert other.files.get().versions.count() == 1


def test_a_form_without_its_hidden_versions_is_a_bad_request(client, make_job):
    job, secret = make_job(S.QUOTED)
    assert client.post(url("accept", secret), {}).status_code == 400
    assert fresh(job).state == S.QUOTED


@pytest.mark.parametrize("name", ["accept", "decline", "cancel", "revise"])
def test_an_unknown_link_cannot_act(client, make_job, name):
    job, _ = make_job(S.QUOTED)
    data = {"quote_version": 1, "expected_version": job.version, "reason": "x"}
    response = client.post(url(name, "not-the-secret"), data)
    assert response.status_code == 404
    assert fresh(job).version == job.version


def test_one_jobs_link_cannot_act_on_another(client, make_job):
    mine, my_secret = make_job(S.QUOTED)
    theirs, _ = make_job(S.QUOTED, customer_email="dan@example.com")

    client.post(url("accept", my_secret), {"quote_version": 1, "expected_version": mine.version})

    assert fresh(mine).state == S.ACCEPTED
    assert fresh(theirs).state == S.QUOTED


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("accept", {"quote_version": 1}),
        ("decline", {"quote_version": 1, "reason": "No"}),
        ("cancel", {"reason": "No"}),
    ],
)
def test_every_action_needs_a_csrf_token(csrf_client, make_job, name, data):
    job, secret = make_job(S.QUOTED)
    data = {**data, "expected_version": job.version}

    assert csrf_client.post(url(name, secret), data).status_code == 403
    assert fresh(job).version == job.version

    data["csrfmiddlewaretoken"] = csrf_token(csrf_client, status_url(secret))
    assert csrf_client.post(url(name, secret), data).status_code == 302
    assert fresh(job).version == job.version + 1


def test_a_revision_needs_a_csrf_token(csrf_client, make_job):
    job, secret = make_job(S.SUBMITTED)
    data = {"expected_version": job.version, "file": stl_upload("v2.stl")}
    assert csrf_client.post(url("revise", secret), data).status_code == 403
    assert FileVersion.objects.count() == 1
