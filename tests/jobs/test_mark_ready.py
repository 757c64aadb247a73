import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import Job, RunState
from tests.jobs.helpers import applies, assert_audit, refused


@pytest.fixture
def printed(make_job, staff):
    """A job in production whose runs are all done."""
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=3)
    run = actions.add_run(job=job, actor=staff, quantity=3)
    actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)
    return job


@pytest.mark.parametrize("who", ["staff", "admin_staff"])
def test_staff_mark_a_printed_job_ready(printed, request, who):
    actor = request.getfixturevalue(who)
    with applies(printed) as result:
        actions.mark_ready(job=printed, actor=actor)
    assert result.job.state == JobState.READY
    assert_audit(
        result.audit,
        event=EventType.READY,
        actor=actor,
        from_state=JobState.IN_PRODUCTION,
        to_state=JobState.READY,
        details={"done": 3},
    )
    assert result.sent_to == {"customer": "cara@example.com"}


def test_it_refuses_ready_before_anything_is_printed(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    with refused(job, Conflict):
        actions.mark_ready(job=job, actor=staff)


def test_it_refuses_ready_while_runs_are_still_printing(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=2)
    run = actions.add_run(job=job, actor=staff, quantity=2)
    actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.PRINTING)
    with refused(job, Conflict):
        actions.mark_ready(job=job, actor=staff)


def test_it_refuses_ready_from_the_customer(printed, customer):
    with refused(printed, NotAllowed):
        actions.mark_ready(job=printed, actor=customer)


def test_it_refuses_ready_on_a_stale_version(printed, staff):
    # The operator's page was loaded before the last run was marked done.
    with refused(printed, JobChanged):
        actions.mark_ready(job=printed, actor=staff, expected_version=printed.version - 1)


def test_it_refuses_ready_through_a_stale_copy_of_the_job(printed, staff):
    stale = Job.objects.get(pk=printed.pk)
    actions.add_note(job=printed, actor=staff, body="Parts bagged")
    with refused(stale, JobChanged):
        actions.mark_ready(job=stale, actor=staff)


@pytest.mark.parametrize("state", [JobState.ACCEPTED, JobState.READY, JobState.DISPATCHED])
def test_it_refuses_ready_outside_production(make_job, staff, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.mark_ready(job=job, actor=staff)
