"""The job page's emails: every notification with its state, what it said, and Resend."""

import re

from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import Audience, EventType, JobState
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications import actions as emails
from printdesk.notifications import sender
from printdesk.notifications.models import Notification, NotificationState

S = NotificationState


def page_url(job: Job) -> str:
    return reverse("desk:job", args=[job.reference])


def resend_url(job: Job, notification: Notification) -> str:
    return reverse("desk:job_resend_email", args=[job.reference, notification.pk])


def fresh(job: Job) -> Job:
    return Job.objects.get(pk=job.pk)


def sent_job(make_job, state=JobState.QUOTED) -> Job:
    job, _ = make_job(state)
    while sender.drain().claimed:
        pass
    return fresh(job)


def quote_email(job: Job) -> Notification:
    return Notification.objects.get(job=job, event=EventType.QUOTE_SENT, resend_of=None)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def resend_buttons(html: str) -> set[int]:
    """The emails the page offers to resend, by id."""
    return {int(pk) for pk in re.findall(r"/emails/(\d+)/resend/", html)}


# --- what the panel shows ---------------------------------------------------------------------


def test_it_lists_every_email_with_its_state_attempts_and_error(desk, make_job):
    job, _ = make_job(JobState.QUOTED)
    rows = {n.event: n for n in Notification.objects.filter(job=job, audience="customer")}
    next_try = timezone.now()
    Notification.objects.filter(pk=rows[EventType.QUOTE_SENT].pk).update(
        state=S.FAILED, attempts=3, last_error="421 mailbox busy", next_attempt_at=next_try
    )
    Notification.objects.filter(pk=rows[EventType.SUBMITTED].pk).update(
        state=S.SENT, attempts=1, sent_at=next_try, provider_message_id="<abc@provider.test>"
    )

    html = desk.get(page_url(job)).content.decode()

    for n in Notification.objects.filter(job=job):
        assert f'id="email-{n.pk}"' in html
    assert '<span class="badge notification-failed">Failed, will retry</span>' in html
    assert '<span class="badge notification-sent">Sent</span>' in html
    assert '<span class="badge notification-queued">Queued</span>' in html  # the staff's
    assert "421 mailbox busy" in html
    assert '<span class="attempts">3</span>' in html
    assert "&lt;abc@provider.test&gt;" in html
    assert "cara@example.com" in html
    assert "Staff" in html  # the bureau's own email about the new request


def test_it_shows_what_an_email_said_but_never_the_customers_link(desk, make_job):
    job, secret = make_job(JobState.SUBMITTED)
    while sender.drain().claimed:
        pass
    email = Notification.objects.get(job=job, audience=Audience.CUSTOMER)
    assert email.subject

    html = desk.get(page_url(job)).content.decode()

    assert f"Read email #{email.pk}" in html
    assert email.subject in html
    assert "[private link]" in html
    assert secret not in html


def test_an_email_not_yet_written_says_so(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    email = Notification.objects.get(job=job, audience=Audience.CUSTOMER)
    html = desk.get(page_url(job)).content.decode()
    assert f"Email #{email.pk} is written when it is first sent." in html


def test_it_offers_resend_for_emails_sent_or_dead_only(desk, make_job):
    job, _ = make_job(JobState.QUOTED)
    submitted, quoted, staff = (
        Notification.objects.get(job=job, event=EventType.SUBMITTED, audience="customer"),
        quote_email(job),
        Notification.objects.get(job=job, audience="staff"),
    )
    Notification.objects.filter(pk=submitted.pk).update(state=S.SENT)
    Notification.objects.filter(pk=quoted.pk).update(state=S.DEAD)
    Notification.objects.filter(pk=staff.pk).update(state=S.FAILED)

    html = desk.get(page_url(job)).content.decode()

    assert resend_buttons(html) == {submitted.pk, quoted.pk}
    assert f'Resend<span class="visually-hidden"> email #{quoted.pk}</span>' in html


def test_a_resend_says_what_it_is_a_copy_of(desk, make_job, operator):
    job = sent_job(make_job)
    original = quote_email(job)
    copy = emails.resend(notification=original, actor=Actor.staff(operator))

    html = desk.get(page_url(job)).content.decode()

    assert f"resend of #{original.pk}" in html
    assert f"resent as #{copy.pk}" in html
    assert f"Email #{original.pk} (Quote sent) to cara@example.com" in html  # the audit trail


def test_it_loads_in_the_same_number_of_queries_however_many_emails(desk, make_job, operator):
    few = sent_job(make_job, JobState.SUBMITTED)
    many = sent_job(make_job, JobState.DISPATCHED)
    for n in list(Notification.objects.filter(job=many, state=S.SENT)):
        emails.resend(notification=n, actor=Actor.staff(operator))
    Notification.objects.filter(job=many, resend_of__isnull=False).update(
        state=S.DEAD, last_error="550 no"
    )
    desk.get(page_url(few))

    counts = []
    for job in (few, many):
        with CaptureQueriesContext(connection) as queries:
            response = desk.get(page_url(job))
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert Notification.objects.filter(job=many).count() > 10


# --- Resend -----------------------------------------------------------------------------------


def test_resend_queues_one_copy_and_one_audit_entry(desk, make_job):
    job = sent_job(make_job)
    original = quote_email(job)
    audits = AuditEvent.objects.filter(job=job).count()

    response = desk.post(resend_url(job, original), {"expected_version": job.version})

    assert response.status_code == 302
    assert response["Location"] == page_url(job)
    copy = Notification.objects.get(resend_of=original)
    assert copy.state == S.QUEUED
    assert Notification.objects.filter(job=job).count() == 4  # 3 sent, and the copy
    assert AuditEvent.objects.filter(job=job).count() == audits + 1
    entry = AuditEvent.objects.filter(job=job).latest("id")
    assert (entry.event, entry.actor_user.get_username()) == (EventType.EMAIL_RESENT, "olga")
    assert said(response) == [
        f"Email #{original.pk} will be sent again to cara@example.com (as #{copy.pk})."
    ]


def test_a_double_submit_resends_once(desk, make_job):
    job = sent_job(make_job)
    original = quote_email(job)
    form = {"expected_version": job.version}

    desk.post(resend_url(job, original), form)
    second = desk.post(resend_url(job, original), form)

    assert second.status_code == 302
    assert Notification.objects.filter(resend_of=original).count() == 1
    assert said(second)[-1] == f"{job.reference} changed since you loaded it; it is now Quoted."


def test_resending_an_email_on_its_way_is_refused_with_a_message(desk, make_job):
    job, _ = make_job(JobState.QUOTED)
    original = quote_email(job)  # still queued

    response = desk.post(resend_url(job, original), {"expected_version": job.version})

    assert response.status_code == 302
    assert not Notification.objects.filter(resend_of=original).exists()
    assert "still on its way" in said(response)[0]
    assert fresh(job).version == job.version


def test_an_admin_may_resend(client, admin, make_job):
    job = sent_job(make_job)
    client.force_login(admin)
    client.post(resend_url(job, quote_email(job)), {"expected_version": job.version})
    assert Notification.objects.filter(resend_of=quote_email(job)).count() == 1


def test_an_anonymous_visitor_is_sent_to_log_in(client, make_job):
    job = sent_job(make_job)
    response = client.post(resend_url(job, quote_email(job)), {"expected_version": job.version})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))
    assert not Notification.objects.filter(resend_of__isnull=False).exists()


def test_a_customer_with_an_account_but_no_staff_role_is_refused(client, stranger_user, make_job):
    job = sent_job(make_job)
    client.force_login(stranger_user)
    response = client.post(resend_url(job, quote_email(job)), {"expected_version": job.version})
    assert response.status_code == 403
    assert not Notification.objects.filter(resend_of__isnull=False).exists()


def test_an_email_of_another_job_is_404(desk, make_job):
    job = sent_job(make_job)
    other = sent_job(make_job)
    url = reverse("desk:job_resend_email", args=[job.reference, quote_email(other).pk])
    assert desk.post(url, {"expected_version": job.version}).status_code == 404
    missing = reverse("desk:job_resend_email", args=[job.reference, 999_999])
    assert desk.post(missing, {"expected_version": job.version}).status_code == 404


def test_resend_needs_the_version_and_a_post(desk, make_job):
    job = sent_job(make_job)
    url = resend_url(job, quote_email(job))
    assert desk.post(url, {}).status_code == 400
    assert desk.get(url).status_code == 405
    assert not Notification.objects.filter(resend_of__isnull=False).exists()


def test_resend_needs_the_csrf_token(operator, make_job):
    job = sent_job(make_job)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    url = resend_url(job, quote_email(job))
    assert browser.post(url, {"expected_version": job.version}).status_code == 403

    page = browser.get(page_url(job)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(url, {"expected_version": job.version, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Notification.objects.filter(resend_of__isnull=False).count() == 1
