import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import QuoteStatus
from tests.jobs.helpers import applies, assert_audit, quote_kwargs, quote_statuses, refused


def test_the_customer_declines_the_quote(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with applies(job) as result:
        actions.decline_quote(job=job, actor=customer, quote_version=1, reason="  Too dear ")

    assert result.job.state == JobState.QUOTE_DECLINED
    assert quote_statuses(job) == {1: QuoteStatus.DECLINED}
    assert_audit(
        result.audit,
        event=EventType.QUOTE_DECLINED,
        actor=customer,
        from_state=JobState.QUOTED,
        to_state=JobState.QUOTE_DECLINED,
        details={"quote_version": 1, "reason": "Too dear"},
    )
    assert set(result.sent_to) == {"staff"}


@pytest.mark.parametrize("who", ["staff", "admin_staff"])
def test_only_the_customer_declines_a_quote(make_job, request, who):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, NotAllowed):
        actions.decline_quote(
            job=job, actor=request.getfixturevalue(who), quote_version=1, reason="No"
        )


@pytest.mark.parametrize("reason", ["", "   ", "x" * (actions.MAX_REASON + 1)])
def test_it_refuses_a_decline_without_a_proper_reason(make_job, customer, reason):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, InvalidInput) as caught:
        actions.decline_quote(job=job, actor=customer, quote_version=1, reason=reason)
    assert caught.value.field == "reason"


def test_it_refuses_to_decline_a_superseded_quote(make_job, staff, customer):
    job, _ = make_job(JobState.QUOTED)
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    with refused(job, Conflict):
        actions.decline_quote(job=job, actor=customer, quote_version=1, reason="No")


def test_it_refuses_a_decline_on_a_stale_version(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, JobChanged):
        actions.decline_quote(
            job=job, actor=customer, quote_version=1, reason="No", expected_version=1
        )


@pytest.mark.parametrize("state", [JobState.SUBMITTED, JobState.QUOTE_DECLINED, JobState.ACCEPTED])
def test_it_refuses_a_decline_when_no_quote_is_open(make_job, customer, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.decline_quote(job=job, actor=customer, quote_version=1, reason="No")


def test_a_declined_quote_cannot_be_accepted_later(make_job, customer):
    job, _ = make_job(JobState.QUOTE_DECLINED)
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)
