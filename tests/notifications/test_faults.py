"""Faults on the way to a real SMTP server (tests/smtp.py), each ending with every message
delivered once: nothing lost, nothing twice (counted by Message-ID at the server).

- the server down while 100 actions queue mail, then back;
- the server answering 4xx, then 2xx;
- the server answering 5xx: the row is dead, shown as such, and staff can send it again;
- a worker process killed (SIGKILL) mid-batch, then started again;
- the one window where a duplicate is possible (docs/email.md), shown for what it is;
- two worker processes racing over 500 queued rows (PostgreSQL).
"""

import random
import re
import signal
import time
from datetime import timedelta

import pytest
from django.db import connection

from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications import actions as email_actions
from printdesk.notifications import render, sender
from printdesk.notifications.models import Notification, NotificationState
from printdesk.notifications.outbox import queue_for_event
from tests.notifications.test_delivery import Walk, assert_well_formed, drain_all
from tests.notifications.test_worker import start_worker, states, worker_env
from tests.smtp import SMTPServer

LEASE = 2  # seconds: short, so the killed worker's rows come back within the test


def assert_each_delivered_once(smtp: SMTPServer) -> None:
    rows = {render.message_id(row): row for row in Notification.objects.all()}
    assert smtp.message_ids() == dict.fromkeys(rows, 1)
    assert states() == {NotificationState.SENT: len(rows)}
    for message in smtp.messages:
        assert message.to == [rows[message.message_id].recipient]


def test_mail_queued_while_the_server_is_down_all_arrives_once_it_is_back(
    catalogue, operator, smtp
):
    smtp.stop()
    walk = Walk(random.Random(5), Actor.staff(operator), catalogue["pla"].pk)
    while walk.calls < 100:
        walk.step()
        if walk.calls % 10 == 0:
            batch = sender.drain()
            assert batch.unreachable and batch.sent == 0
    queued = Notification.objects.count()
    assert queued > 50
    assert set(Notification.objects.values_list("attempts", flat=True)) == {0}  # none spent
    assert Notification.objects.filter(state=NotificationState.FAILED).exists()  # and shown

    smtp.start()
    assert drain_all() == queued
    assert_each_delivered_once(smtp)
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_a_4xx_answer_then_2xx_delivers_each_message_once(make_job, smtp, clock):
    for _ in range(5):
        make_job(JobState.QUOTED)  # 15 messages
    smtp.fail_temporarily(7)
    drain_all()
    assert states() == {NotificationState.SENT: 8, NotificationState.FAILED: 7}
    assert len(smtp.messages) == 8

    clock.offset += timedelta(seconds=31)  # past the first backoff
    drain_all()
    assert_each_delivered_once(smtp)
    retried = Notification.objects.filter(attempts=2)
    assert retried.count() == 7
    assert all(row.last_error == "" for row in retried)


def test_a_5xx_answer_is_dead_visible_and_can_be_sent_again(make_job, smtp, operator, admin):
    job, _ = make_job(JobState.QUOTED)
    smtp.refuse()
    drain_all()
    dead = list(Notification.objects.filter(job=job))
    assert {row.state for row in dead} == {NotificationState.DEAD}
    assert all("554" in row.last_error and row.attempts == 1 for row in dead)
    assert smtp.messages == []

    smtp.accept()
    quote_mail = next(row for row in dead if row.event == EventType.QUOTE_SENT)
    copy = email_actions.resend(notification=quote_mail, actor=Actor.staff(operator))
    retried = email_actions.retry(
        notifications=[row for row in dead if row != quote_mail], actor=Actor.staff(admin)
    )
    assert len(retried) == len(dead) - 1
    drain_all()

    by_id = smtp.message_ids()
    assert by_id[render.message_id(copy)] == 1
    assert all(by_id[render.message_id(Notification.objects.get(pk=pk))] == 1 for pk in retried)
    assert len(smtp.messages) == len(dead)
    message = next(m for m in smtp.messages if m.message_id == render.message_id(copy))
    assert_well_formed(message, Notification.objects.get(pk=copy.pk))
    assert Notification.objects.get(pk=quote_mail.pk).state == NotificationState.DEAD


def _queue_rows(job: Job, occurrences: int) -> None:
    """Outbox rows as the actions write them (one per audience of an event occurrence),
    without driving hundreds of jobs: `occurrences` submission events on one job."""
    audits = AuditEvent.objects.bulk_create(
        AuditEvent(
            job=job,
            event=EventType.SUBMITTED,
            actor_kind="customer",
            from_state="",
            to_state=JobState.SUBMITTED,
            details={},
        )
        for _ in range(occurrences)
    )
    for audit in audits:
        queue_for_event(job=job, audit=audit, actor_kind=Actor.customer().kind)


def _wait_for_state(state: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Notification.objects.filter(state=state).count() < count:
        assert time.monotonic() < deadline, states()
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)  # worker processes must see the rows
def test_a_worker_killed_mid_batch_and_restarted_delivers_each_message_once(make_job, smtp):
    for _ in range(5):
        make_job(JobState.SUBMITTED)  # ten rows: one batch
    smtp.hold(after=3)  # the fourth message waits, not accepted yet: the kill lands there
    env = worker_env(smtp.port, NOTIFICATION_LEASE_SECONDS=str(LEASE))
    worker = start_worker(env)
    try:
        smtp.wait_until_held()
        _wait_for_state(NotificationState.SENT, 3)  # each row is marked right after its send
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    smtp.release()
    assert len(smtp.messages) == 3
    assert states() == {NotificationState.SENT: 3, NotificationState.SENDING: 7}

    time.sleep(LEASE + 0.5)  # the lease runs out: the rows are anyone's again
    restarted = start_worker(env, "--once")
    output, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, output

    assert_each_delivered_once(smtp)
    attempts = sorted(Notification.objects.values_list("attempts", flat=True))
    assert attempts == [1] * 3 + [2] * 7  # the killed worker's claim counted once


@pytest.mark.django_db(transaction=True)
def test_the_one_duplicate_window_repeats_the_same_message_id(make_job, smtp):
    """Killed after the server accepted a message but before the row was marked sent: the
    message goes again, with the same Message-ID. docs/email.md describes this window."""
    make_job(JobState.SUBMITTED)  # two rows
    smtp.hold(accept_first=True)  # accepted and recorded, the 250 answer not yet given
    env = worker_env(smtp.port, NOTIFICATION_LEASE_SECONDS=str(LEASE))
    worker = start_worker(env)
    try:
        smtp.wait_until_held()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    smtp.release()
    [accepted] = smtp.messages

    time.sleep(LEASE + 0.5)
    restarted = start_worker(env, "--once")
    output, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, output

    rows = {render.message_id(row) for row in Notification.objects.all()}
    counts = smtp.message_ids()
    assert set(counts) == rows  # nothing lost
    assert counts[accepted.message_id] == 2  # the repeat, recognisable by its Message-ID
    assert sum(counts.values()) == 3
    assert states() == {NotificationState.SENT: 2}


needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="several workers at once run on PostgreSQL"
)


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_over_500_rows_send_each_exactly_once(make_job, smtp):
    job, _ = make_job(JobState.SUBMITTED)
    _queue_rows(job, 249)  # with the submission's own two: 500 rows
    assert Notification.objects.count() == 500
    smtp.hold()  # the first message waits until both workers are sending
    env = worker_env(smtp.port)
    workers = [start_worker(env, "--once") for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        while smtp.sessions < 2:  # each worker opens its connection once it holds a batch
            assert time.monotonic() < deadline, "the second worker never started sending"
            time.sleep(0.02)
        smtp.release()
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert_each_delivered_once(smtp)
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
    sent_by = [sum(map(int, re.findall(r"worker: (\d+) sent", output))) for output in outputs]
    assert sum(sent_by) == 500 and min(sent_by) > 0, sent_by  # both took part
