"""“Lost your link?”: the same answer for any address; each open job's link emailed to it."""

import pytest
from django.urls import reverse

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job, hash_link_secret
from printdesk.notifications.models import Notification
from printdesk.portal.lost_link import MAX_JOBS, recoverable_jobs
from tests.links import emailed_link
from tests.portal.conftest import csrf_token, status_url

URL = reverse("portal:lost_link")
LINK_EMAILS = ("link_sent", "link_rotated")  # the current link again, or a new one


def ask(client, email: str):
    return client.post(URL, {"email": email}, follow=True)


def new_links() -> dict[int, str]:
    """Job id -> the link in the email "Lost your link?" queued for it."""
    rows = Notification.objects.filter(event__in=LINK_EMAILS, audience="customer")
    return {row.job_id: emailed_link(row) for row in rows}


def secret_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def test_the_page_says_links_you_have_keep_working(client, db):
    page = client.get(URL).content.decode()
    assert 'label for="id_email">Email address' in page
    assert "Links you already have keep working" in page


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(client, make_job):
    make_job(JobState.QUOTED)

    known = ask(client, "cara@example.com")
    unknown = ask(client, "nobody@example.com")

    def message(response) -> str:
        text = response.content.decode()
        start = text.index('<div class="messages"')
        return text[start : text.index("</div>", start)]

    assert known.status_code == unknown.status_code == 200
    assert message(known).replace("cara@", "X@") == message(unknown).replace("nobody@", "X@")
    assert "we have emailed the private link" in message(known)


def test_each_open_job_gets_its_current_link_by_email_and_it_keeps_working(client, make_job):
    quoted, secret = make_job(JobState.QUOTED, customer_email="Cara@Example.com")
    production, _ = make_job(JobState.IN_PRODUCTION)

    ask(client, "cara@EXAMPLE.com")

    links = new_links()
    assert set(links) == {quoted.pk, production.pk}
    assert secret_of(links[quoted.pk]) == secret  # the same link, sent again
    assert client.get(status_url(secret)).status_code == 200
    assert Job.objects.get(pk=quoted.pk).link_hash == quoted.link_hash
    email = Notification.objects.get(job=quoted, event="link_sent")
    assert email.recipient == "Cara@Example.com"
    assert "You asked for the link to your job" in email.body_text
    audit = AuditEvent.objects.get(job=quoted, event="link_sent")
    assert audit.actor_kind == "system"
    assert audit.details == {}  # no secret in the audit trail


def test_a_link_that_cannot_be_derived_is_replaced_and_the_old_one_answers_410(client, make_job):
    job, old_secret = make_job(JobState.QUOTED)
    # A link from before derivation: only its hash is known, so it cannot be sent again.
    Job.objects.filter(pk=job.pk).update(link_nonce="")

    ask(client, "cara@example.com")

    email = Notification.objects.get(job=job, event="link_rotated")
    new_secret = secret_of(emailed_link(email))
    assert new_secret != old_secret
    assert client.get(status_url(old_secret)).status_code == 410
    assert client.get(status_url(new_secret)).status_code == 200
    assert not Notification.objects.filter(job=job, event="link_sent").exists()


def test_finished_jobs_are_left_alone_except_recent_dispatches(client, make_job, clock):
    cancelled, cancelled_secret = make_job(JobState.CANCELLED)
    old_dispatch, _ = make_job(JobState.DISPATCHED)
    clock.advance(days=31)
    recent_dispatch, _ = make_job(JobState.DISPATCHED)

    ask(client, "cara@example.com")

    assert set(new_links()) == {recent_dispatch.pk}
    assert Job.objects.get(pk=cancelled.pk).link_hash == hash_link_secret(cancelled_secret)
    assert old_dispatch.pk not in new_links()


def test_other_addresses_jobs_are_left_alone(client, make_job):
    _, secret = make_job(JobState.QUOTED, customer_email="dan@example.com")
    ask(client, "cara@example.com")
    assert not new_links()
    assert client.get(status_url(secret)).status_code == 200


def test_one_request_handles_at_most_the_cap(client, make_job, settings):
    settings.MAX_FILES_PER_JOB = 20
    jobs = [make_job(JobState.SUBMITTED)[0] for _ in range(MAX_JOBS + 1)]
    ask(client, "cara@example.com")
    links = new_links()
    assert len(links) == MAX_JOBS
    assert jobs[0].pk not in links  # the oldest waits for the next request


def test_requests_per_address_are_limited(client, make_job, settings):
    settings.LINK_RECOVERY_RATE_LIMIT = 2
    make_job(JobState.QUOTED)
    for _ in range(2):
        assert ask(client, "cara@example.com").status_code == 200

    response = client.post(URL, {"email": "CARA@example.com"})

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert 'value="CARA@example.com"' in response.content.decode()
    assert len(Notification.objects.filter(event="link_sent")) == 2


def test_requests_per_client_ip_are_limited(client, db, settings):
    settings.PUBLIC_IP_RATE_LIMIT = 2
    for n in range(2):
        assert ask(client, f"person{n}@example.com").status_code == 200
    assert client.post(URL, {"email": "person9@example.com"}).status_code == 429


@pytest.mark.parametrize("email", ["", "not an address"])
def test_a_wrong_address_is_pointed_out(client, db, email):
    response = client.post(URL, {"email": email})
    assert response.status_code == 422
    assert 'id="id_email-error"' in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()


def test_it_needs_a_csrf_token(csrf_client, make_job):
    make_job(JobState.QUOTED)
    assert csrf_client.post(URL, {"email": "cara@example.com"}).status_code == 403
    assert not new_links()
    token = csrf_token(csrf_client, URL)
    response = csrf_client.post(URL, {"email": "cara@example.com", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert len(new_links()) == 1


def test_get_changes_nothing_and_other_methods_are_refused(client, make_job):
    make_job(JobState.QUOTED)
    client.get(URL, {"email": "cara@example.com"})
    assert not new_links()
    assert client.put(URL).status_code == 405


def test_a_dispatched_job_stays_recoverable_for_thirty_days(make_job, clock):
    job, _ = make_job(JobState.DISPATCHED)
    clock.advance(days=29)
    assert list(recoverable_jobs("cara@example.com")) == [Job.objects.get(pk=job.pk)]
    clock.advance(days=2)
    assert list(recoverable_jobs("cara@example.com")) == []
