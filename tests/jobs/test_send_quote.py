from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import QuoteStatus
from tests.jobs.helpers import applies, assert_audit, in_days, quote_kwargs, quote_statuses, refused


def test_it_sends_the_first_quote(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED, quantity=3)
    with applies(job) as result:
        quote = actions.send_quote(
            job=job, actor=staff, **quote_kwargs(job, currency=" eur ", lead_time_days=7)
        )

    assert result.job.state == JobState.QUOTED
    assert (quote.version, quote.status, quote.currency) == (1, QuoteStatus.CURRENT, "EUR")
    assert quote.total == Decimal("37.50")  # 3 x 12.50
    assert quote.lead_time_days == 7
    assert quote.created_by == staff.user
    [line] = quote.lines.all()
    assert (line.description, line.quantity, line.unit_price) == ("Part", 3, Decimal("12.50"))
    assert line.job_file == job.files.get()
    assert_audit(
        result.audit,
        event=EventType.QUOTE_SENT,
        actor=staff,
        from_state=JobState.SUBMITTED,
        to_state=JobState.QUOTED,
        details={"quote_version": 1, "total": "37.50", "currency": "EUR"},
    )
    assert result.sent_to == {"customer": "cara@example.com"}


def test_a_revised_quote_supersedes_the_current_one(make_job, staff, customer):
    job, _ = make_job(JobState.QUOTED)
    with applies(job) as result:
        actions.send_quote(job=job, actor=staff, **quote_kwargs(job))

    assert result.job.state == JobState.QUOTED
    assert quote_statuses(job) == {1: QuoteStatus.SUPERSEDED, 2: QuoteStatus.CURRENT}
    assert result.audit.details["superseded_version"] == 1
    assert result.sent_to == {"customer": "cara@example.com"}
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)


def test_it_sends_a_revised_quote_after_the_customer_declined(make_job, staff, customer):
    job, _ = make_job(JobState.QUOTE_DECLINED)
    with applies(job) as result:
        actions.send_quote(job=job, actor=staff, **quote_kwargs(job))

    assert result.job.state == JobState.QUOTED
    assert quote_statuses(job) == {1: QuoteStatus.DECLINED, 2: QuoteStatus.CURRENT}
    assert "superseded_version" not in result.audit.details
    actions.accept_quote(job=job, actor=customer, quote_version=2)


def test_admins_send_quotes_too(make_job, admin_staff):
    job, _ = make_job(JobState.SUBMITTED)
    with applies(job) as result:
        actions.send_quote(job=job, actor=admin_staff, **quote_kwargs(job))
    assert result.audit.actor_kind == "admin"
    assert result.audit.actor_user == admin_staff.user


def test_it_refuses_a_quote_from_the_customer(make_job, customer):
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, NotAllowed):
        actions.send_quote(job=job, actor=customer, **quote_kwargs(job))


@pytest.mark.parametrize(
    "state", [JobState.ACCEPTED, JobState.IN_PRODUCTION, JobState.READY, JobState.DECLINED]
)
def test_it_refuses_a_quote_once_accepted_or_over(make_job, staff, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.send_quote(job=job, actor=staff, **quote_kwargs(job))


def test_it_refuses_a_quote_on_a_stale_version(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, JobChanged):
        actions.send_quote(
            job=job, actor=staff, expected_version=job.version - 1, **quote_kwargs(job)
        )


def test_it_accepts_the_version_the_operator_saw(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    with applies(job):
        actions.send_quote(job=job, actor=staff, expected_version=job.version, **quote_kwargs(job))


def _line(job, **changes):
    [line] = quote_kwargs(job)["lines"]
    return [replace(line, **changes)]


BAD_QUOTES = {
    "no lines": lambda job, other: {"lines": []},
    "currency too long": lambda job, other: {"currency": "EURO"},
    "currency not letters": lambda job, other: {"currency": "E1R"},
    "negative lead time": lambda job, other: {"lead_time_days": -1},
    "lead time over a year": lambda job, other: {"lead_time_days": 366},
    "already expired": lambda job, other: {"valid_until": in_days(-1)},
    "zero quantity": lambda job, other: {"lines": _line(job, quantity=0)},
    "negative price": lambda job, other: {"lines": _line(job, unit_price=Decimal("-1"))},
    "price too big": lambda job, other: {"lines": _line(job, unit_price=Decimal("1e8"))},
    "blank description": lambda job, other: {"lines": _line(job, description="  ")},
    "unknown material": lambda job, other: {"lines": _line(job, material_id=0)},
    "colour not offered": lambda job, other: {"lines": _line(job, colour="purple")},
    "file of another job": lambda job, other: {
        "lines": _line(job, job_file_id=other.files.get().pk)
    },
}


@pytest.mark.parametrize("case", BAD_QUOTES)
def test_it_refuses_a_bad_quote(make_job, staff, case):
    job, _ = make_job(JobState.SUBMITTED)
    other, _ = make_job(JobState.SUBMITTED)
    bad = BAD_QUOTES[case](job, other)
    with refused(job, InvalidInput):
        actions.send_quote(job=job, actor=staff, **quote_kwargs(job, **bad))


def test_a_quote_valid_until_today_can_be_sent(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    with applies(job):
        actions.send_quote(
            job=job, actor=staff, **quote_kwargs(job, valid_until=timezone.localdate())
        )


def test_a_sent_quote_keeps_its_lines_when_revised(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    first = actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    actions.send_quote(
        job=job,
        actor=staff,
        **quote_kwargs(job, valid_until=in_days(30), lines=_line(job, unit_price=Decimal("9"))),
    )
    first.refresh_from_db()
    assert first.total == Decimal("37.50")
    assert first.valid_until == timezone.localdate() + timedelta(days=14)
    assert [line.unit_price for line in first.lines.all()] == [Decimal("12.50")]
