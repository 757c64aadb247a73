"""Sending an email again (resend, from the job page) and retrying failed ones (the admin's
outbox): each a lifecycle action, audited, that never queues a duplicate."""

import pytest

from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import Conflict, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import Audience, EventType, JobState
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications import actions as emails
from printdesk.notifications import render, sender
from printdesk.notifications.models import Notification, NotificationState
from tests.jobs.helpers import applies, assert_audit, refused

S = NotificationState


@pytest.fixture
def staff(operator):
    return Actor.staff(operator)


@pytest.fixture
def admin_actor(admin):
    return Actor.staff(admin)


def sent_job(make_job, state=JobState.QUOTED) -> Job:
    """A job whose emails all went out (through the worker, so each has its snapshot)."""
    job, _ = make_job(state)
    while sender.drain().claimed:
        pass
    assert set(Notification.objects.filter(job=job).values_list("state", flat=True)) == {S.SENT}
    return Job.objects.get(pk=job.pk)


def customer_email(job: Job, event: str) -> Notification:
    return Notification.objects.get(job=job, event=event, audience=Audience.CUSTOMER)


# --- resend -----------------------------------------------------------------------------------


def test_a_resend_queues_one_copy_with_the_same_words_and_one_audit_entry(make_job, staff):
    job = sent_job(make_job)
    original = customer_email(job, EventType.QUOTE_SENT)

    with applies(job) as result:
        copy = emails.resend(notification=original, actor=staff, expected_version=job.version)

    assert result.job.state == JobState.QUOTED
    assert_audit(
        result.audit,
        event=EventType.EMAIL_RESENT,
        actor=staff,
        from_state=JobState.QUOTED,
        to_state=JobState.QUOTED,
        details={
            "notification_id": original.pk,
            "event": EventType.QUOTE_SENT,
            "recipient": "cara@example.com",
        },
    )
    copy.refresh_from_db()
    assert copy.audit_event == result.audit
    assert copy.resend_of == original
    assert (copy.state, copy.attempts, copy.sent_at) == (S.QUEUED, 0, None)
    assert (copy.event, copy.audience, copy.recipient) == (
        original.event,
        original.audience,
        original.recipient,
    )
    snapshot = ("template", "subject", "body_text", "body_html", "rendered_at")
    assert [getattr(copy, f) for f in snapshot] == [getattr(original, f) for f in snapshot]
    assert copy.subject  # the original had been written, so the copy says the same
    assert result.sent_to == {"customer": "cara@example.com"}  # the copy, and nothing else


def test_a_double_click_resends_once(make_job, staff):
    job = sent_job(make_job)
    original = customer_email(job, EventType.QUOTE_SENT)
    seen = job.version
    emails.resend(notification=original, actor=staff, expected_version=seen)

    with refused(Job.objects.get(pk=job.pk), JobChanged):
        emails.resend(notification=original, actor=staff, expected_version=seen)

    assert Notification.objects.filter(resend_of=original).count() == 1


def test_an_admin_may_resend(make_job, admin_actor):
    job = sent_job(make_job)
    copy = emails.resend(notification=customer_email(job, EventType.SUBMITTED), actor=admin_actor)
    assert copy.audit_event.actor_kind == "admin"


@pytest.mark.parametrize("actor", [Actor.customer(), Actor.system()], ids=["customer", "system"])
def test_only_staff_may_resend(make_job, actor):
    job = sent_job(make_job)
    with refused(job, NotAllowed):
        emails.resend(notification=customer_email(job, EventType.QUOTE_SENT), actor=actor)


@pytest.mark.parametrize("state", [S.QUEUED, S.SENDING, S.FAILED])
def test_an_email_still_on_its_way_is_not_resent(make_job, staff, state):
    job, _ = make_job(JobState.QUOTED)
    original = customer_email(job, EventType.QUOTE_SENT)
    Notification.objects.filter(pk=original.pk).update(state=state)

    with refused(job, Conflict) as caught:
        emails.resend(notification=original, actor=staff)
    assert "still on its way" in caught.value.message


def test_a_dead_email_is_resent_once_and_then_its_copy_is(make_job, staff):
    job, _ = make_job(JobState.QUOTED)
    original = customer_email(job, EventType.QUOTE_SENT)
    Notification.objects.filter(pk=original.pk).update(state=S.DEAD, last_error="550 no")
    copy = emails.resend(notification=original, actor=staff)

    with refused(Job.objects.get(pk=job.pk), Conflict) as caught:
        emails.resend(notification=original, actor=staff)
    assert "resend its copy" in caught.value.message

    Notification.objects.filter(pk=copy.pk).update(state=S.DEAD)
    second = emails.resend(notification=copy, actor=staff)
    assert second.resend_of_id == copy.pk


def test_a_sent_email_may_be_resent_again_later(make_job, staff):
    job = sent_job(make_job)
    original = customer_email(job, EventType.QUOTE_SENT)
    emails.resend(notification=original, actor=staff)
    emails.resend(notification=original, actor=staff)  # the customer lost it twice
    assert original.resends.count() == 2


@pytest.mark.parametrize("state", [JobState.CANCELLED, JobState.DISPATCHED])
def test_an_ended_jobs_emails_can_still_be_resent(make_job, staff, state):
    job = sent_job(make_job, state)
    copy = emails.resend(notification=customer_email(job, EventType.SUBMITTED), actor=staff)
    assert Job.objects.get(pk=job.pk).state == state
    assert copy.state == S.QUEUED


def test_a_dead_email_resent_is_delivered_by_the_worker(make_job, staff, smtp):
    job, _ = make_job(JobState.QUOTED)
    smtp.refuse_recipient("cara@example.com")
    while sender.drain().claimed:
        pass
    dead = Notification.objects.filter(job=job, audience=Audience.CUSTOMER, state=S.DEAD)
    assert dead.count() == 2  # the request received and the quote: refused for good
    assert not [m for m in smtp.messages if m.to == ["cara@example.com"]]
    original = dead.get(event=EventType.QUOTE_SENT)

    smtp.accept()  # the customer fixed their mailbox
    copy = emails.resend(notification=original, actor=staff)
    assert sender.drain().claimed == 1

    copy.refresh_from_db()
    assert copy.state == S.SENT
    delivered = [m for m in smtp.messages if m.to == ["cara@example.com"]]
    assert len(delivered) == 1
    assert delivered[0].subject == original.subject
    assert delivered[0].message_id == render.message_id(copy)  # its own, not the original's
    assert Notification.objects.get(pk=original.pk).state == S.DEAD  # the original stays


# --- retry ------------------------------------------------------------------------------------


def failed_rows(make_job, n: int = 2) -> list[Notification]:
    """n jobs, each with a dead customer email and a failed staff one."""
    rows = []
    for _ in range(n):
        job, _ = make_job(JobState.SUBMITTED)
        Notification.objects.filter(job=job, audience=Audience.CUSTOMER).update(
            state=S.DEAD, attempts=5, last_error="550 mailbox unavailable"
        )
        Notification.objects.filter(job=job, audience=Audience.STAFF).update(
            state=S.FAILED, attempts=2, last_error="421 try later"
        )
        rows += list(Notification.objects.filter(job=job))
    return rows


def test_retry_requeues_the_chosen_rows_now_with_fresh_attempts(make_job, admin_actor):
    rows = failed_rows(make_job)
    chosen = rows[:3]

    requeued = emails.retry(notifications=chosen, actor=admin_actor)

    assert requeued == sorted(n.pk for n in chosen)
    for n in Notification.objects.filter(pk__in=requeued):
        assert (n.state, n.attempts) == (S.QUEUED, 0)
        assert n.last_error  # kept until the next attempt says otherwise
    untouched = Notification.objects.get(pk=rows[3].pk)
    assert (untouched.state, untouched.attempts) == (S.FAILED, 2)


def test_retry_writes_one_audit_entry_per_job_and_moves_its_version(make_job, admin_actor):
    rows = failed_rows(make_job)
    versions = {n.job_id: Job.objects.get(pk=n.job_id).version for n in rows}

    emails.retry(notifications=rows, actor=admin_actor)

    for job_id, version in versions.items():
        entries = AuditEvent.objects.filter(job_id=job_id, event=EventType.EMAIL_RESENT)
        assert entries.count() == 1
        ids = sorted(n.pk for n in rows if n.job_id == job_id)
        assert entries.get().details == {"retried": ids}
        assert entries.get().actor_user.get_username() == "ada"
        assert Job.objects.get(pk=job_id).version == version + 1
    assert Notification.objects.count() == len(rows)  # no email about the retry itself


def test_retrying_twice_requeues_nothing_the_second_time(make_job, admin_actor):
    rows = failed_rows(make_job, 1)
    emails.retry(notifications=rows, actor=admin_actor)
    audits = AuditEvent.objects.count()

    assert emails.retry(notifications=rows, actor=admin_actor) == []
    assert AuditEvent.objects.count() == audits


def test_retry_leaves_rows_that_moved_on(make_job, admin_actor, staff):
    rows = failed_rows(make_job, 1)
    dead, failed = sorted(rows, key=lambda n: n.audience)  # customer, staff
    emails.resend(notification=dead, actor=staff)  # an operator resent it already
    Notification.objects.filter(pk=failed.pk).update(state=S.SENT)  # a worker got it out

    assert emails.retry(notifications=rows, actor=admin_actor) == []
    assert Notification.objects.get(pk=dead.pk).state == S.DEAD


def test_only_an_admin_may_retry(make_job, staff):
    rows = failed_rows(make_job, 1)
    with refused(None, NotAllowed):
        emails.retry(notifications=rows, actor=staff)


def test_a_retried_dead_email_is_sent_by_the_worker(make_job, admin_actor, smtp):
    rows = failed_rows(make_job, 1)
    emails.retry(notifications=rows, actor=admin_actor)

    assert sender.drain().claimed == 2

    assert {n.state for n in Notification.objects.all()} == {S.SENT}
    assert {n.last_error for n in Notification.objects.all()} == {""}
    assert len(smtp.messages) == 2
