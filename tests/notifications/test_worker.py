"""The sender and `manage.py worker` against a real SMTP server (tests/smtp.py): claiming,
leases, the fence on a stale claim, sorting failures, one connection per batch, SIGTERM."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from printdesk.jobs.lifecycle import Audience, JobState
from printdesk.notifications import render, sender
from printdesk.notifications.models import Notification, NotificationState
from tests.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def states() -> dict[str, int]:
    found: dict[str, int] = {}
    for state in Notification.objects.values_list("state", flat=True):
        found[state] = found.get(state, 0) + 1
    return found


def test_it_sends_each_queued_notification_once(make_job, smtp):
    job, secret = make_job(JobState.SUBMITTED)
    rows = Notification.objects.filter(job=job)
    assert {n.audience for n in rows} == {Audience.CUSTOMER, Audience.STAFF}

    assert sender.drain().sent == 2
    assert sender.drain().claimed == 0

    assert len(smtp.messages) == 2
    customer_mail = next(m for m in smtp.messages if m.to == ["cara@example.com"])
    assert secret in customer_mail.text
    assert job.reference in customer_mail.subject
    for row in Notification.objects.filter(job=job):
        assert row.state == NotificationState.SENT
        assert row.sent_at is not None
        assert row.attempts == 1
        assert row.provider_message_id == render.message_id(row)


def test_staff_mail_does_not_carry_the_customer_link(make_job, smtp):
    _job, secret = make_job(JobState.SUBMITTED)
    sender.drain()
    staff_mail = next(m for m in smtp.messages if m.to != ["cara@example.com"])
    assert secret not in staff_mail.text
    assert secret not in staff_mail.html


def test_message_id_is_stable_per_notification(make_job, smtp):
    make_job(JobState.SUBMITTED)
    sender.drain()
    rows = Notification.objects.all()
    assert set(smtp.message_ids()) == {render.message_id(row) for row in rows}
    assert all(i.startswith("<printdesk-notification-") for i in smtp.message_ids())


def test_a_batch_goes_over_one_connection(make_job, smtp):
    for _ in range(4):
        make_job(JobState.SUBMITTED)
    before = smtp.sessions
    assert sender.drain().sent == 8
    assert smtp.sessions - before == 1


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


def test_the_stale_worker_cannot_overwrite_a_newer_claim(make_job, smtp):
    make_job(JobState.SUBMITTED)
    stale = sender.claim(limit=1)[0]
    Notification.objects.filter(pk=stale.pk).update(
        next_attempt_at=timezone.now() - timedelta(days=1)
    )
    fresh = sender.claim(limit=1)[0]
    assert fresh.pk == stale.pk

    smtp.refuse()
    sender.send_batch([fresh])  # the newer claim fails: failed, attempt 2
    smtp.accept()
    sender.send_batch([stale])  # its attempt number no longer matches: recorded nowhere

    row = Notification.objects.get(pk=stale.pk)
    assert row.state == NotificationState.DEAD
    assert row.attempts == 2


def test_a_worker_near_the_end_of_its_lease_hands_rows_back_unsent(make_job, smtp):
    make_job(JobState.SUBMITTED)
    batch = sender.claim()
    Notification.objects.update(next_attempt_at=timezone.now() + timedelta(seconds=1))
    for row in batch:
        row.next_attempt_at = timezone.now() + timedelta(seconds=1)

    result = sender.send_batch(batch)

    assert result.released == 2
    assert smtp.messages == []
    assert states() == {NotificationState.QUEUED: 2}
    assert set(Notification.objects.values_list("attempts", flat=True)) == {0}


def test_a_4xx_answer_is_retried_later_with_backoff(make_job, smtp):
    make_job(JobState.SUBMITTED)
    smtp.fail_temporarily(2)
    result = sender.drain()
    assert (result.failed, result.sent) == (2, 0)
    for row in Notification.objects.all():
        assert row.state == NotificationState.FAILED
        assert row.attempts == 1
        assert "451" in row.last_error
        assert row.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert sender.drain().claimed == 0  # not due yet


def test_backoff_doubles_up_to_an_hour():
    assert [sender.backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]


def test_it_gives_up_after_the_last_attempt(make_job, smtp, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    make_job(JobState.SUBMITTED)
    smtp.fail_temporarily(100)
    sender.drain()
    Notification.objects.update(next_attempt_at=timezone.now())
    sender.drain()
    assert states() == {NotificationState.DEAD: 2}
    assert sender.drain().claimed == 0


def test_a_refused_recipient_is_dead_at_once(make_job, smtp):
    make_job(JobState.SUBMITTED)
    smtp.refuse_recipient("cara@example.com")
    result = sender.drain()
    assert (result.sent, result.dead) == (1, 1)
    dead = Notification.objects.get(state=NotificationState.DEAD)
    assert dead.recipient == "cara@example.com"
    assert dead.attempts == 1
    assert "550" in dead.last_error


def test_a_server_that_refuses_connections_costs_no_attempt(make_job, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    make_job(JobState.SUBMITTED)
    for _ in range(20):  # however long the outage lasts
        result = sender.drain()
        assert result.unreachable and result.released == 2
    for row in Notification.objects.all():
        assert row.state == NotificationState.FAILED
        assert row.attempts == 0
        assert "could not be reached" in row.last_error
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
        assert row.next_attempt_at <= timezone.now()


@pytest.mark.django_db(transaction=True)  # the command closes its connection between batches
def test_worker_command_drains_and_exits_with_once(make_job, smtp):
    make_job(JobState.QUOTED)
    call_command("worker", "--once")
    assert states() == {NotificationState.SENT: Notification.objects.count()}
    assert len(smtp.messages) == Notification.objects.count()


@pytest.mark.django_db(transaction=True)
def test_worker_command_with_once_stops_while_the_server_is_down(make_job, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    make_job(JobState.SUBMITTED)
    call_command("worker", "--once")
    assert states() == {NotificationState.FAILED: 2}
    assert set(Notification.objects.values_list("attempts", flat=True)) == {0}


def test_the_default_demo_backend_writes_files_to_var_mail():
    """`make run` sets no EMAIL_URL: mail goes to files under var/mail, no server needed."""
    from printdesk.settings import VAR_DIR, _email

    config = _email(f"file://{VAR_DIR / 'mail'}")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert config["EMAIL_FILE_PATH"] == str(VAR_DIR / "mail")


def test_the_file_backend_writes_one_file_per_batch(make_job, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    job, _ = make_job(JobState.SUBMITTED)
    assert sender.drain().sent == 2
    [written] = (tmp_path / "mail").iterdir()
    content = written.read_text()
    assert content.count("Message-ID: <printdesk-notification-") == 2
    assert job.reference in content
    assert mail.outbox == []


def worker_env(smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment a worker process needs to see this test's database and SMTP server."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings['NAME']}"
    else:
        url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
        url += settings["NAME"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DATABASE_"))}
    env.update(
        DATABASE_URL=url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_TIMEOUT="5",
        WORKER_POLL_SECONDS="1",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.django_db(transaction=True)  # the worker process must see the rows
def test_sigterm_finishes_the_message_in_hand_and_hands_the_rest_back(make_job, smtp):
    for _ in range(3):
        make_job(JobState.SUBMITTED)  # six rows: one batch
    smtp.hold()  # the first message waits, not yet accepted, until released
    worker = start_worker(worker_env(smtp.port))
    try:
        smtp.wait_until_held()
        worker.send_signal(signal.SIGTERM)
        smtp.release()
        output, _ = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, output
    assert "worker: stopped" in output
    assert len(smtp.messages) == 1
    sent = Notification.objects.get(state=NotificationState.SENT)
    assert smtp.message_ids() == {render.message_id(sent): 1}
    assert states() == {NotificationState.SENT: 1, NotificationState.QUEUED: 5}
    assert set(Notification.objects.exclude(pk=sent.pk).values_list("attempts", flat=True)) == {0}


def test_a_message_the_backend_did_not_send_is_not_marked_sent(make_job, smtp, settings):
    settings.STAFF_NOTIFICATION_EMAIL = ""  # a deployment that left it blank
    make_job(JobState.SUBMITTED)
    result = sender.drain()
    assert (result.sent, result.dead) == (1, 1)
    staff = Notification.objects.get(audience=Audience.STAFF)
    assert staff.state == NotificationState.DEAD
    assert "no valid recipient" in staff.last_error
