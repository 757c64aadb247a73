"""Two people acting on the same job at once: exactly one wins, the other is told it changed.

Two threads, each with its own database connection, fire conflicting actions at the same job,
released together by a barrier, for ROUNDS jobs. These need committed data and real
transactions, hence `transactional_db`. On PostgreSQL the claim (a conditional update on state
and version under READ COMMITTED) is what decides; on SQLite, BEGIN IMMEDIATE serialises the
two transactions and the loser sees the winner's change when it reads the job.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from printdesk.notifications.models import Notification
from tests.conftest import stl_upload
from tests.jobs.helpers import expected_audiences

ROUNDS = 200

pytestmark = pytest.mark.django_db(transaction=True)

Act = Callable[[Job], object]


def race(jobs: list[Job], first: Act, second: Act) -> list[tuple[object, object]]:
    """Run `first(job)` and `second(job)` at the same moment in two threads, for each job.

    Returns, per job, what each side got: "applied", or the exception it raised.
    """
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[list[object]] = [[], []]

    def side(number: int, act: Act) -> None:
        try:
            for job in jobs:
                mine = Job.objects.get(pk=job.pk)  # each person loads the job for themselves
                barrier.wait()
                try:
                    act(mine)
                    outcomes[number].append("applied")
                except Exception as error:  # judged by the test, whatever it is
                    outcomes[number].append(error)
        finally:
            connection.close()  # each thread has its own connection; close it here

    threads = [
        threading.Thread(target=side, args=(n, act)) for n, act in enumerate((first, second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes[0]) == len(outcomes[1]) == len(jobs), "a thread died"
    return list(zip(*outcomes, strict=True))


def assert_exactly_one_applied(jobs, results, winners: dict[str, JobState]) -> None:
    """One side applied and the other got a Conflict, for every job; the job shows only the
    winner's change. `winners` maps "first"/"second" to the state the job is in if it won."""
    for job, (first, second) in zip(jobs, results, strict=True):
        applied = [side for side, got in (("first", first), ("second", second)) if got == "applied"]
        assert len(applied) == 1, f"{job.reference}: {first!r} / {second!r}"
        loser = second if applied == ["first"] else first
        assert isinstance(loser, Conflict), f"{job.reference}: the loser got {loser!r}"

        fresh = Job.objects.get(pk=job.pk)
        assert fresh.state == winners[applied[0]]
        assert fresh.version == job.version + 1
        # The loser left no audit entry and queued no email.
        trail = list(fresh.audit_events.all())
        assert len(trail) == fresh.version
        emails = sum(len(expected_audiences(audit.event, audit.actor_kind)) for audit in trail)
        assert Notification.objects.filter(job=fresh).count() == emails


@pytest.fixture
def jobs_in(make_job):
    def make(state: JobState) -> list[Job]:
        return [make_job(state)[0] for _ in range(ROUNDS)]

    return make


def test_accept_and_a_file_revision_at_once_apply_one_of_them(jobs_in, staff, customer):
    jobs = jobs_in(JobState.QUOTED)

    def accept(job):  # the customer accepts the quote they were shown
        actions.accept_quote(job=job, actor=customer, quote_version=1, expected_version=job.version)

    def revise(job):  # while the operator uploads a fixed file, from the same page version
        actions.revise_file(job=job, actor=staff, upload=stl_upload(), expected_version=job.version)

    results = race(jobs, accept, revise)

    assert_exactly_one_applied(
        jobs, results, {"first": JobState.ACCEPTED, "second": JobState.SUBMITTED}
    )
    for job in jobs:  # whoever won, the quote is never both accepted and superseded
        statuses = set(job.quotes.values_list("status", flat=True))
        assert statuses in ({"accepted"}, {"superseded"})


def test_customer_cancel_and_start_of_production_at_once_apply_one_of_them(
    jobs_in, staff, customer
):
    jobs = jobs_in(JobState.ACCEPTED)

    def cancel(job):
        actions.cancel(job=job, actor=customer, reason="Too late", expected_version=job.version)

    def start(job):
        actions.start_production(job=job, actor=staff, expected_version=job.version)

    results = race(jobs, cancel, start)

    assert_exactly_one_applied(
        jobs, results, {"first": JobState.CANCELLED, "second": JobState.IN_PRODUCTION}
    )


def test_a_double_click_on_accept_applies_once(jobs_in, customer):
    jobs = jobs_in(JobState.QUOTED)

    def accept(job):  # no version sent: the state alone must stop the second
        actions.accept_quote(job=job, actor=customer, quote_version=1)

    results = race(jobs, accept, accept)

    assert_exactly_one_applied(
        jobs, results, {"first": JobState.ACCEPTED, "second": JobState.ACCEPTED}
    )
