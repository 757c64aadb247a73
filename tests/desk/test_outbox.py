"""The admins' outbox: failed and dead emails across jobs, and the bulk retry."""

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import Audience, EventType, JobState
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications import actions as emails
from printdesk.notifications.models import Notification, NotificationState

S = NotificationState
OUTBOX = "/desk/admin/outbox/"
RETRY = "/desk/admin/outbox/retry/"


@pytest.fixture
def desk_admin(client, admin):
    client.force_login(admin)
    return client


def stuck_job(make_job, customer_state=S.DEAD, staff_state=S.FAILED) -> Job:
    """A new request whose customer and staff emails are in the states given."""
    job, _ = make_job(JobState.SUBMITTED)
    Notification.objects.filter(job=job, audience=Audience.CUSTOMER).update(
        state=customer_state, attempts=5, last_error="550 mailbox unavailable"
    )
    Notification.objects.filter(job=job, audience=Audience.STAFF).update(
        state=staff_state, attempts=2, last_error="421 try again later"
    )
    return job


def listed(response) -> list[int]:
    """The emails the page lists (each has a retry checkbox), in page order."""
    return [
        int(pk)
        for pk in re.findall(r'name="notification" value="(\d+)"', response.content.decode())
    ]


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def email(job: Job, audience: str) -> Notification:
    return Notification.objects.get(job=job, audience=audience, resend_of=None)


# --- who may open it --------------------------------------------------------------------------


def test_the_urls_are_the_desks():
    assert reverse("desk:admin_outbox") == OUTBOX
    assert reverse("desk:admin_outbox_retry") == RETRY


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    for response in (client.get(OUTBOX), client.post(RETRY, {"notification": ["1"]})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:login"))


def test_an_operator_is_refused(client, operator, make_job):
    job = stuck_job(make_job)
    client.force_login(operator)
    assert client.get(OUTBOX).status_code == 403
    response = client.post(RETRY, {"notification": [str(email(job, "customer").pk)]})
    assert response.status_code == 403
    assert email(job, "customer").state == S.DEAD


def test_a_non_staff_user_is_refused(client, stranger_user):
    client.force_login(stranger_user)
    assert client.get(OUTBOX).status_code == 403


def test_it_is_in_the_admin_navigation(desk_admin):
    html = desk_admin.get(reverse("desk:admin_home")).content.decode()
    assert f'href="{OUTBOX}"' in html


# --- what it lists ----------------------------------------------------------------------------


def test_it_lists_failed_and_dead_emails_only_newest_first(desk_admin, make_job, operator):
    old = stuck_job(make_job)
    sent = stuck_job(make_job, customer_state=S.SENT, staff_state=S.QUEUED)
    resent = stuck_job(make_job, staff_state=S.SENDING)
    emails.resend(notification=email(resent, "customer"), actor=Actor.staff(operator))
    new = stuck_job(make_job)

    response = desk_admin.get(OUTBOX)

    assert response.status_code == 200
    expected = [email(j, a).pk for j in (new, old) for a in ("staff", "customer")]
    assert listed(response) == sorted(expected, reverse=True)
    html = response.content.decode()
    assert f'href="/desk/jobs/{old.reference}/#email-{email(old, "customer").pk}"' in html
    assert "550 mailbox unavailable" in html and "421 try again later" in html
    assert '<span class="badge notification-dead">Gave up</span>' in html
    assert sent.reference not in html


def test_it_counts_queued_failed_and_dead(desk_admin, make_job):
    stuck_job(make_job)
    stuck_job(make_job, customer_state=S.DEAD, staff_state=S.DEAD)
    stuck_job(make_job, customer_state=S.QUEUED, staff_state=S.QUEUED)

    html = desk_admin.get(OUTBOX).content.decode()

    assert "<strong>2</strong> queued to send" in html
    assert "<strong>1</strong> failed" in html
    assert "<strong>3</strong> dead" in html


@pytest.mark.parametrize("state", ["failed", "dead"])
def test_it_filters_by_state(desk_admin, make_job, state):
    job = stuck_job(make_job)
    response = desk_admin.get(OUTBOX, {"state": state})
    audience = "staff" if state == "failed" else "customer"
    assert listed(response) == [email(job, audience).pk]


def test_an_unknown_filter_lists_both(desk_admin, make_job):
    stuck_job(make_job)
    assert len(listed(desk_admin.get(OUTBOX, {"state": "sent"}))) == 2


def test_it_pages_fifty_at_a_time(desk_admin, make_job):
    for _ in range(26):
        stuck_job(make_job)
    first = listed(desk_admin.get(OUTBOX))
    second = listed(desk_admin.get(OUTBOX, {"page": "2"}))
    assert (len(first), len(second)) == (50, 2)
    assert max(second) < min(first)
    assert 'rel="next"' in desk_admin.get(OUTBOX).content.decode()


def test_it_says_when_nothing_is_stuck(desk_admin):
    assert "Nothing failed or gave up" in desk_admin.get(OUTBOX).content.decode()


def test_it_loads_in_the_same_number_of_queries_however_many_rows(desk_admin, make_job):
    stuck_job(make_job)
    desk_admin.get(OUTBOX)
    counts = []
    for more in (0, 10):
        for _ in range(more):
            stuck_job(make_job)
        with CaptureQueriesContext(connection) as queries:
            desk_admin.get(OUTBOX)
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- retry ------------------------------------------------------------------------------------


def test_retry_requeues_exactly_the_selected_rows_and_is_audited(desk_admin, make_job):
    one, two = stuck_job(make_job), stuck_job(make_job)
    chosen = [email(one, "customer"), email(one, "staff"), email(two, "customer")]

    response = desk_admin.post(RETRY, {"notification": [str(n.pk) for n in chosen]})

    assert response.status_code == 302
    assert response["Location"] == OUTBOX
    for n in chosen:
        n.refresh_from_db()
        assert (n.state, n.attempts) == (S.QUEUED, 0)
    assert email(two, "staff").state == S.FAILED
    assert said(response) == ["3 email(s) queued again: the worker sends them now."]
    for job, retried in ((one, chosen[:2]), (two, chosen[2:])):
        entry = AuditEvent.objects.get(job=job, event=EventType.EMAIL_RESENT)
        assert entry.details == {"retried": sorted(n.pk for n in retried)}
        assert entry.actor_user.get_username() == "ada"
    assert listed(desk_admin.get(OUTBOX)) == [email(two, "staff").pk]


def test_the_audit_trail_on_the_job_page_says_what_was_retried(desk_admin, make_job):
    job = stuck_job(make_job)
    row = email(job, "customer")
    desk_admin.post(RETRY, {"notification": [str(row.pk)]})
    html = desk_admin.get(f"/desk/jobs/{job.reference}/").content.decode()
    assert f"Retried email #{row.pk}" in html


def test_a_repeated_retry_requeues_nothing_more(desk_admin, make_job):
    job = stuck_job(make_job)
    form = {"notification": [str(email(job, "customer").pk)], "state": "dead"}
    desk_admin.post(RETRY, form)
    audits = AuditEvent.objects.count()

    response = desk_admin.post(RETRY, form)

    assert response["Location"] == OUTBOX + "?state=dead"
    assert AuditEvent.objects.count() == audits
    assert said(response)[-1] == "None of these is failed or dead any more: nothing to retry."


def test_retry_says_which_rows_had_moved_on(desk_admin, make_job):
    job = stuck_job(make_job)
    chosen = [email(job, "customer"), email(job, "staff")]
    Notification.objects.filter(pk=chosen[1].pk).update(state=S.SENT)

    response = desk_admin.post(RETRY, {"notification": [str(n.pk) for n in chosen]})

    assert said(response) == [
        "1 email(s) queued again: the worker sends them now. "
        "1 had moved on meanwhile (sent, queued or resent) and were left."
    ]


def test_retry_with_nothing_ticked_asks_to_tick(desk_admin):
    response = desk_admin.post(RETRY, {})
    assert response.status_code == 302
    assert said(response) == ["Tick the emails to retry first."]


def test_retry_refuses_ids_that_are_not_numbers(desk_admin):
    assert desk_admin.post(RETRY, {"notification": ["1; drop"]}).status_code == 400


def test_retry_is_post_only(desk_admin):
    assert desk_admin.get(RETRY).status_code == 405
    assert desk_admin.post(OUTBOX).status_code == 405
