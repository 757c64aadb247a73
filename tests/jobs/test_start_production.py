import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import QuoteStatus
from tests.jobs.helpers import applies, assert_audit, quote_statuses, refused


@pytest.mark.parametrize("who", ["staff", "admin_staff"])
def test_staff_start_production_of_an_accepted_job(make_job, request, who):
    actor = request.getfixturevalue(who)
    job, _ = make_job(JobState.ACCEPTED)
    with applies(job) as result:
        actions.start_production(job=job, actor=actor)

    assert result.job.state == JobState.IN_PRODUCTION
    assert quote_statuses(job) == {1: QuoteStatus.ACCEPTED}
    assert_audit(
        result.audit,
        event=EventType.PRODUCTION_STARTED,
        actor=actor,
        from_state=JobState.ACCEPTED,
        to_state=JobState.IN_PRODUCTION,
        details={},
    )
    assert result.sent_to == {"customer": "cara@example.com"}


def test_it_refuses_production_started_by_the_customer(make_job, customer):
    job, _ = make_job(JobState.ACCEPTED)
    with refused(job, NotAllowed):
        actions.start_production(job=job, actor=customer)


@pytest.mark.parametrize(
    "state", [JobState.SUBMITTED, JobState.QUOTED, JobState.IN_PRODUCTION, JobState.CANCELLED]
)
def test_it_refuses_production_without_an_accepted_quote(make_job, staff, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.start_production(job=job, actor=staff)


def test_it_refuses_production_on_a_stale_version(make_job, staff):
    job, _ = make_job(JobState.ACCEPTED)
    with refused(job, JobChanged):
        actions.start_production(job=job, actor=staff, expected_version=job.version - 1)
