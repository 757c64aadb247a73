"""Resend and retry at the same moment, in two threads with their own connections (real
transactions; run on PostgreSQL too): an email is never sent again twice over."""

import pytest

from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import Conflict
from printdesk.jobs.lifecycle import Audience, EventType, JobState
from printdesk.jobs.models import Job
from printdesk.notifications import actions as emails
from printdesk.notifications.models import Notification, NotificationState
from tests.jobs.test_concurrency import race

ROUNDS = 30

pytestmark = pytest.mark.django_db(transaction=True)


def dead_jobs(make_job, n: int = ROUNDS) -> list[Job]:
    jobs = []
    for _ in range(n):
        job, _ = make_job(JobState.SUBMITTED)
        Notification.objects.filter(job=job).update(state=NotificationState.DEAD)
        jobs.append(Job.objects.get(pk=job.pk))
    return jobs


def dead_email(job: Job) -> Notification:
    return Notification.objects.get(job=job, audience=Audience.CUSTOMER, resend_of=None)


def test_two_operators_resending_one_email_at_once_queue_one_copy(make_job, operator, admin):
    jobs = dead_jobs(make_job)
    seen = {job.pk: job.version for job in jobs}

    def resend_as(user):
        def act(job: Job) -> None:
            emails.resend(
                notification=dead_email(job),
                actor=Actor.staff(user),
                expected_version=seen[job.pk],
            )

        return act

    results = race(jobs, resend_as(operator), resend_as(admin))

    for job, outcome in zip(jobs, results, strict=True):
        assert sorted(map(str, outcome)).count("applied") == 1, outcome
        assert any(isinstance(got, Conflict) for got in outcome)
        assert Notification.objects.filter(resend_of=dead_email(job)).count() == 1
        assert job.audit_events.filter(event=EventType.EMAIL_RESENT).count() == 1


def test_a_resend_and_a_retry_of_one_dead_email_never_both_apply(make_job, operator, admin):
    jobs = dead_jobs(make_job)

    def resend(job: Job) -> None:
        emails.resend(notification=dead_email(job), actor=Actor.staff(operator))

    def retry(job: Job) -> None:
        if not emails.retry(notifications=[dead_email(job)], actor=Actor.staff(admin)):
            raise Conflict("nothing retried")

    results = race(jobs, resend, retry)

    for job, outcome in zip(jobs, results, strict=True):
        original = dead_email(job)
        copied = Notification.objects.filter(resend_of=original).count()
        requeued = original.state == NotificationState.QUEUED
        assert copied + requeued == 1, (job.reference, outcome)
        assert outcome.count("applied") == 1, outcome
