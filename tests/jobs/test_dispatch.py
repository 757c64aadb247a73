import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import Dispatch, DispatchMethod
from tests.jobs.helpers import applies, assert_audit, refused


def test_it_dispatches_with_a_carrier_and_tracking(make_job, staff):
    job, _ = make_job(JobState.READY)
    with applies(job) as result:
        actions.dispatch(
            job=job,
            actor=staff,
            method=DispatchMethod.CARRIER,
            carrier=" DHL ",
            tracking_number=" JD014600006281 ",
        )

    assert result.job.state == JobState.DISPATCHED
    sent = Dispatch.objects.get(job=job)
    assert (sent.method, sent.carrier, sent.tracking_number) == ("carrier", "DHL", "JD014600006281")
    assert_audit(
        result.audit,
        event=EventType.DISPATCHED,
        actor=staff,
        from_state=JobState.READY,
        to_state=JobState.DISPATCHED,
        details={"method": "carrier", "carrier": "DHL", "tracking_number": "JD014600006281"},
    )
    assert result.sent_to == {"customer": "cara@example.com"}


def test_tracking_is_optional_for_a_carrier(make_job, admin_staff):
    job, _ = make_job(JobState.READY)
    with applies(job):
        actions.dispatch(job=job, actor=admin_staff, method=DispatchMethod.CARRIER, carrier="UPS")
    assert Dispatch.objects.get(job=job).tracking_number == ""


def test_a_hand_over_keeps_no_carrier(make_job, staff):
    job, _ = make_job(JobState.READY)
    with applies(job) as result:
        actions.dispatch(
            job=job, actor=staff, method=DispatchMethod.HAND_OVER, carrier="x", tracking_number="y"
        )
    assert result.audit.details == {"method": "hand_over", "carrier": "", "tracking_number": ""}


@pytest.mark.parametrize(
    ("method", "carrier"),
    [(DispatchMethod.CARRIER, ""), (DispatchMethod.CARRIER, "  "), ("owl", "")],
)
def test_it_refuses_a_dispatch_it_cannot_record(make_job, staff, method, carrier):
    job, _ = make_job(JobState.READY)
    with refused(job, InvalidInput):
        actions.dispatch(job=job, actor=staff, method=method, carrier=carrier)


def test_it_refuses_a_dispatch_by_the_customer(make_job, customer):
    job, _ = make_job(JobState.READY)
    with refused(job, NotAllowed):
        actions.dispatch(job=job, actor=customer, method=DispatchMethod.HAND_OVER)


@pytest.mark.parametrize("state", [JobState.IN_PRODUCTION, JobState.DISPATCHED, JobState.CANCELLED])
def test_it_refuses_a_dispatch_of_a_job_that_is_not_ready(make_job, staff, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.dispatch(job=job, actor=staff, method=DispatchMethod.HAND_OVER)


def test_it_refuses_a_dispatch_on_a_stale_version(make_job, staff):
    job, _ = make_job(JobState.READY)
    with refused(job, JobChanged):
        actions.dispatch(
            job=job, actor=staff, method=DispatchMethod.HAND_OVER, expected_version=job.version - 1
        )
