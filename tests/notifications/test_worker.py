import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from printdesk.jobs.lifecycle import Audience, JobState
from printdesk.notifications import sender
from printdesk.notifications.models import Notification, NotificationState


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    """A real SMTP connection attempt to a port nobody listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    settings.EMAIL_TIMEOUT = 2


def test_it_sends_each_queued_notification_once(make_job):
    job, secret = make_job(JobState.SUBMITTED)
    rows = Notification.objects.filter(job=job)
    assert {n.audience for n in rows} == {Audience.CUSTOMER, Audience.STAFF}

    assert sender.drain() == 2
    assert sender.drain() == 0

    assert len(mail.outbox) == 2
    customer_mail = next(m for m in mail.outbox if m.to == ["cara@example.com"])
    assert secret in customer_mail.body
    assert job.reference in customer_mail.subject
    for row in Notification.objects.filter(job=job):
        assert row.state == NotificationState.SENT
        assert row.sent_at is not None
        assert row.provider_message_id == sender.message_id(row)


def test_staff_mail_does_not_carry_the_customer_link(make_job):
    _job, secret = make_job(JobState.SUBMITTED)
    sender.drain()
    staff_mail = next(m for m in mail.outbox if m.to != ["cara@example.com"])
    assert secret not in staff_mail.body


def test_message_id_is_stable_per_notification(make_job):
    _job, _ = make_job(JobState.SUBMITTED)
    sender.drain()
    ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert len(ids) == 2
    assert all(i.startswith("<printdesk-notification-") for i in ids)


def test_a_claimed_row_cannot_be_claimed_again(make_job):
    make_job(JobState.SUBMITTED)
    first = sender.claim()
    assert len(first) == 2
    assert sender.claim() == []


def test_it_takes_back_rows_whose_lease_ran_out(make_job):
    make_job(JobState.SUBMITTED)
    claimed = sender.claim()
    Notification.objects.filter(pk=claimed[0].pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    retaken = sender.claim()
    assert [n.pk for n in retaken] == [claimed[0].pk]
    assert retaken[0].attempts == 2


def test_the_stale_worker_cannot_overwrite_a_newer_claim(make_job):
    make_job(JobState.SUBMITTED)
    stale = sender.claim(limit=1)[0]
    Notification.objects.filter(pk=stale.pk).update(
        next_attempt_at=timezone.now() - timedelta(days=1)
    )
    fresh = sender.claim(limit=1)[0]
    assert fresh.pk == stale.pk

    sender.send_claimed(fresh)
    sender.send_claimed(stale)  # its attempt number no longer matches: recorded nowhere

    row = Notification.objects.get(pk=stale.pk)
    assert row.state == NotificationState.SENT
    assert row.attempts == 2


def test_a_failed_send_is_retried_later_with_backoff(make_job, smtp_down):
    make_job(JobState.SUBMITTED)
    assert sender.drain() == 2
    for row in Notification.objects.all():
        assert row.state == NotificationState.FAILED
        assert row.attempts == 1
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
        assert row.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert sender.drain() == 0  # not due yet


def test_it_gives_up_after_the_last_attempt(make_job, smtp_down, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    make_job(JobState.SUBMITTED)
    sender.drain()
    Notification.objects.update(next_attempt_at=timezone.now())
    sender.drain()
    assert set(Notification.objects.values_list("state", flat=True)) == {NotificationState.DEAD}
    assert sender.drain() == 0


@pytest.mark.django_db(transaction=True)  # the command closes its connection between batches
def test_worker_command_drains_and_exits_with_once(make_job):
    make_job(JobState.QUOTED)
    call_command("worker", "--once")
    assert not Notification.objects.exclude(state=NotificationState.SENT).exists()
    assert len(mail.outbox) == Notification.objects.count()
