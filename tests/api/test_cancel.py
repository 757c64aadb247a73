"""Cancelling: customers until production starts, the bureau until dispatch; terminal jobs stay
as they are."""

import pytest

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification
from tests.api.conftest import snapshot

BEFORE_PRODUCTION = [
    JobState.SUBMITTED,
    JobState.QUOTED,
    JobState.QUOTE_DECLINED,
    JobState.ACCEPTED,
]
IN_THE_WORKSHOP = [JobState.IN_PRODUCTION, JobState.READY]
TERMINAL = [JobState.DECLINED, JobState.CANCELLED, JobState.DISPATCHED]


@pytest.mark.parametrize("state", BEFORE_PRODUCTION + IN_THE_WORKSHOP)
def test_the_bureau_cancels_until_dispatch(staff_api, make_job, state):
    job, _ = make_job(state)

    response = staff_api.post(f"/jobs/{job.reference}/cancel", {"reason": "Printer fire."})

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "cancelled"
    assert body["audit"][-1]["details"] == {"reason": "Printer fire."}
    assert body["actions"] == ["rotate_link"]
    assert Notification.objects.filter(job=job, event="cancelled", audience="customer").exists()


@pytest.mark.parametrize("state", BEFORE_PRODUCTION)
def test_the_customer_cancels_before_production(customer_api, make_job, state):
    job, secret = make_job(state)

    response = customer_api(secret).post("/customer/job/cancel", {"reason": "Not needed now."})

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    staff_told = Notification.objects.filter(job=job, event="cancelled", audience="staff")
    assert staff_told.exists()


@pytest.mark.parametrize("state", IN_THE_WORKSHOP)
def test_the_customer_cannot_cancel_once_production_started(customer_api, make_job, state):
    job, secret = make_job(state)
    before = snapshot(job)

    response = customer_api(secret).post("/customer/job/cancel", {"reason": "Too slow."})

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert snapshot(job) == before


@pytest.mark.parametrize("state", TERMINAL)
def test_a_finished_job_ignores_a_late_cancel_from_anyone(staff_api, customer_api, make_job, state):
    job, secret = make_job(state)
    before = snapshot(job)

    by_staff = staff_api.post(f"/jobs/{job.reference}/cancel", {"reason": "Late"})
    by_customer = customer_api(secret).post("/customer/job/cancel", {"reason": "Late"})

    for response in (by_staff, by_customer):
        assert response.status_code == 409
        assert "is not possible now" in response.json()["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize("reason", ["", "  \n ", "x" * 2001])
def test_a_cancel_needs_a_reason(staff_api, customer_api, make_job, reason):
    job, secret = make_job()
    before = snapshot(job)

    by_staff = staff_api.post(f"/jobs/{job.reference}/cancel", {"reason": reason})
    by_customer = customer_api(secret).post("/customer/job/cancel", {"reason": reason})

    for response in (by_staff, by_customer):
        assert response.status_code == 422
        assert response.json()["field"] == "reason"
    assert snapshot(job) == before


def test_a_repeated_cancel_is_refused_clearly(staff_api, make_job):
    job, _ = make_job()
    staff_api.post(f"/jobs/{job.reference}/cancel", {"reason": "Duplicate request."})
    before = snapshot(job)

    again = staff_api.post(f"/jobs/{job.reference}/cancel", {"reason": "Duplicate request."})

    assert again.status_code == 409
    assert again.json()["message"] == (
        f"{job.reference} is cancelled: “Cancel” is not possible now."
    )
    assert snapshot(job) == before
