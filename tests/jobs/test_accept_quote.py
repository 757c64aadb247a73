import pytest
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import Quote, QuoteStatus
from tests.conftest import stl_upload
from tests.jobs.helpers import applies, assert_audit, in_days, quote_kwargs, quote_statuses, refused


def test_the_customer_accepts_the_current_quote(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with applies(job) as result:
        actions.accept_quote(job=job, actor=customer, quote_version=1)

    assert result.job.state == JobState.ACCEPTED
    quote = Quote.objects.get(job=job)
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.decided_at is not None
    assert_audit(
        result.audit,
        event=EventType.QUOTE_ACCEPTED,
        actor=customer,
        from_state=JobState.QUOTED,
        to_state=JobState.ACCEPTED,
        details={"quote_version": 1},
    )
    assert set(result.sent_to) == {"customer", "staff"}


@pytest.mark.parametrize("who", ["staff", "admin_staff"])
def test_staff_accept_on_the_customers_behalf(make_job, request, who):
    actor = request.getfixturevalue(who)
    job, _ = make_job(JobState.QUOTED)
    with applies(job) as result:
        actions.accept_quote(job=job, actor=actor, quote_version=1)
    assert result.job.state == JobState.ACCEPTED
    assert result.audit.actor_user == actor.user
    # Staff need no email about what staff did; the customer hears of it.
    assert result.sent_to == {"customer": "cara@example.com"}


def test_it_refuses_acceptance_by_the_system(make_job):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, NotAllowed):
        actions.accept_quote(job=job, actor=actions.Actor.system(), quote_version=1)


def test_it_accepts_on_the_last_valid_day(make_job, staff, customer, clock):
    job, _ = make_job(JobState.SUBMITTED)
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job, valid_until=in_days(3)))
    clock.advance(days=3)
    with applies(job):
        actions.accept_quote(job=job, actor=customer, quote_version=1)


def test_it_refuses_accept_after_expiry(make_job, staff, customer, clock):
    job, _ = make_job(JobState.SUBMITTED)
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job, valid_until=in_days(3)))
    clock.advance(days=4)
    with refused(job, Conflict) as caught:
        actions.accept_quote(job=job, actor=customer, quote_version=1)
    assert "expired" in caught.value.message
    # Operators accepting on the customer's behalf are held to the same date.
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=staff, quote_version=1)


def test_it_refuses_a_quote_whose_date_has_passed(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    Quote.objects.filter(job=job).update(valid_until=in_days(-1))
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)


def test_a_fresh_quote_can_be_accepted_after_the_old_one_expired(make_job, staff, customer, clock):
    job, _ = make_job(JobState.QUOTED)
    clock.advance(days=30)
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job, valid_until=in_days(7)))
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)
    with applies(job):
        actions.accept_quote(job=job, actor=customer, quote_version=2)
    assert quote_statuses(job) == {1: QuoteStatus.SUPERSEDED, 2: QuoteStatus.ACCEPTED}


def test_it_refuses_a_superseded_quote(make_job, staff, customer):
    job, _ = make_job(JobState.QUOTED)
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    with refused(job, Conflict) as caught:
        actions.accept_quote(job=job, actor=customer, quote_version=1)
    assert "version 2" in caught.value.message


def test_it_refuses_a_quote_that_was_never_sent(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=2)


def test_it_refuses_the_old_quote_after_a_file_revision(make_job, staff, customer):
    job, _ = make_job(JobState.QUOTED)
    actions.revise_file(job=job, actor=customer, upload=stl_upload("v2.stl"))
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)

    # Re-quoted: the old version stays unacceptable, the new one is the one to accept.
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)
    with applies(job):
        actions.accept_quote(job=job, actor=customer, quote_version=2)
    assert quote_statuses(job) == {1: QuoteStatus.SUPERSEDED, 2: QuoteStatus.ACCEPTED}


def test_it_refuses_an_accept_on_a_stale_version(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, JobChanged) as caught:
        actions.accept_quote(
            job=job, actor=customer, quote_version=1, expected_version=job.version - 1
        )
    assert "Quoted" in caught.value.message  # tells the caller what the job is now


@pytest.mark.parametrize(
    "state",
    [JobState.SUBMITTED, JobState.ACCEPTED, JobState.QUOTE_DECLINED, JobState.CANCELLED],
)
def test_it_refuses_accept_when_no_quote_is_open(make_job, customer, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)


def test_a_second_accept_is_refused_and_changes_nothing(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    actions.accept_quote(job=job, actor=customer, quote_version=1)
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)
    assert Quote.objects.get(job=job).decided_at <= timezone.now()
