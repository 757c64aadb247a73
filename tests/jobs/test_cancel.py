import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from tests.jobs.helpers import applies, assert_audit, refused

BEFORE_PRODUCTION = [
    JobState.SUBMITTED,
    JobState.QUOTED,
    JobState.QUOTE_DECLINED,
    JobState.ACCEPTED,
]
IN_THE_WORKSHOP = [JobState.IN_PRODUCTION, JobState.READY]


@pytest.mark.parametrize("state", BEFORE_PRODUCTION)
def test_the_customer_cancels_before_production(make_job, customer, state):
    job, _ = make_job(state)
    with applies(job) as result:
        actions.cancel(job=job, actor=customer, reason=" Found another bureau ")

    assert result.job.state == JobState.CANCELLED
    assert_audit(
        result.audit,
        event=EventType.CANCELLED,
        actor=customer,
        from_state=state,
        to_state=JobState.CANCELLED,
        details={"reason": "Found another bureau"},
    )
    assert set(result.sent_to) == {"customer", "staff"}


@pytest.mark.parametrize("state", IN_THE_WORKSHOP)
def test_customer_cancel_after_production_started_is_refused(make_job, customer, state):
    job, _ = make_job(state)
    with refused(job, NotAllowed):
        actions.cancel(job=job, actor=customer, reason="Changed my mind")


@pytest.mark.parametrize("state", BEFORE_PRODUCTION + IN_THE_WORKSHOP)
@pytest.mark.parametrize("who", ["staff", "admin_staff"])
def test_the_bureau_cancels_until_dispatch(make_job, request, who, state):
    actor = request.getfixturevalue(who)
    job, _ = make_job(state)
    with applies(job) as result:
        actions.cancel(job=job, actor=actor, reason="Printer down for weeks")
    assert result.job.state == JobState.CANCELLED
    assert result.audit.actor_user == actor.user
    assert result.sent_to == {"customer": "cara@example.com"}


@pytest.mark.parametrize("state", [JobState.DECLINED, JobState.CANCELLED, JobState.DISPATCHED])
def test_it_refuses_to_cancel_a_job_that_is_over(make_job, staff, customer, state):
    job, _ = make_job(state)
    for actor in (customer, staff):
        with refused(job, Conflict):
            actions.cancel(job=job, actor=actor, reason="Again")


@pytest.mark.parametrize("reason", ["", "   ", "x" * (actions.MAX_REASON + 1)])
def test_it_refuses_a_cancel_without_a_proper_reason(make_job, customer, reason):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, InvalidInput):
        actions.cancel(job=job, actor=customer, reason=reason)


def test_it_refuses_a_cancel_on_a_stale_version(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, JobChanged):
        actions.cancel(job=job, actor=customer, reason="No", expected_version=job.version - 1)


def test_a_customer_who_lost_the_race_to_production_is_told_the_job_changed(
    make_job, staff, customer
):
    job, _ = make_job(JobState.ACCEPTED)
    seen = job.version
    actions.start_production(job=job, actor=staff)
    with refused(job, JobChanged) as caught:
        actions.cancel(job=job, actor=customer, reason="Too late", expected_version=seen)
    assert caught.value.message.endswith("it is now In production.")
