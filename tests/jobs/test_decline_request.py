import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from tests.jobs.helpers import applies, assert_audit, refused


def test_the_bureau_declines_a_request_before_quoting(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    with applies(job) as result:
        actions.decline_request(job=job, actor=staff, reason=" We cannot print this size. ")

    assert result.job.state == JobState.DECLINED
    assert_audit(
        result.audit,
        event=EventType.REQUEST_DECLINED,
        actor=staff,
        from_state=JobState.SUBMITTED,
        to_state=JobState.DECLINED,
        details={"reason": "We cannot print this size."},
    )
    assert result.sent_to == {"customer": "cara@example.com"}


def test_admins_decline_requests_too(make_job, admin_staff):
    job, _ = make_job(JobState.SUBMITTED)
    with applies(job) as result:
        actions.decline_request(job=job, actor=admin_staff, reason="No")
    assert result.job.state == JobState.DECLINED


def test_it_refuses_a_decline_by_the_customer(make_job, customer):
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, NotAllowed):
        actions.decline_request(job=job, actor=customer, reason="No")


@pytest.mark.parametrize(
    "state", [JobState.QUOTED, JobState.QUOTE_DECLINED, JobState.ACCEPTED, JobState.DECLINED]
)
def test_it_refuses_a_decline_once_quoted(make_job, staff, state):
    # After a quote the bureau cancels instead: the customer has something to decide on.
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.decline_request(job=job, actor=staff, reason="No")


@pytest.mark.parametrize("reason", ["", "  \n ", None, "x" * (actions.MAX_REASON + 1)])
def test_it_refuses_a_decline_without_a_proper_reason(make_job, staff, reason):
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, InvalidInput):
        actions.decline_request(job=job, actor=staff, reason=reason)


def test_it_refuses_a_decline_on_a_stale_version(make_job, staff, customer):
    job, _ = make_job(JobState.SUBMITTED)
    seen = job.version
    actions.add_note(job=job, actor=staff, body="Checking with the workshop")
    with refused(job, JobChanged):
        actions.decline_request(job=job, actor=staff, reason="No", expected_version=seen)
