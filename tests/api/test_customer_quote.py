"""The customer answers a quote through their link: accept it or decline it."""

import pytest

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification
from tests.api.conftest import snapshot


def test_the_customer_accepts_the_current_quote(customer_api, make_job):
    job, secret = make_job(JobState.QUOTED)

    response = customer_api(secret).post("/customer/job/accept", {"quote_version": 1})

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "accepted"
    assert body["quote"]["status"] == "accepted"
    assert body["history"][-1]["event"] == "quote_accepted"
    assert Notification.objects.filter(job=job, event="quote_accepted", audience="staff").exists()


def test_accepting_a_version_never_sent_is_a_409(customer_api, make_job):
    job, secret = make_job(JobState.QUOTED)
    before = snapshot(job)

    response = customer_api(secret).post("/customer/job/accept", {"quote_version": 7})

    assert response.status_code == 409
    assert "Quote version 7 is no longer open" in response.json()["message"]
    assert snapshot(job) == before


def test_accepting_an_expired_quote_tells_the_customer_to_ask_again(customer_api, make_job, clock):
    job, secret = make_job(JobState.QUOTED)
    clock.advance(days=15)
    before = snapshot(job)

    response = customer_api(secret).post("/customer/job/accept", {"quote_version": 1})

    assert response.status_code == 409
    assert "ask the bureau for a new one" in response.json()["message"]
    assert snapshot(job) == before


def test_an_expired_quote_shows_as_expired_to_customer_and_staff(
    customer_api, staff_api, make_job, clock
):
    job, secret = make_job(JobState.QUOTED)
    assert customer_api(secret).get("/customer/job").json()["quote"]["status"] == "current"
    clock.advance(days=15)

    assert customer_api(secret).get("/customer/job").json()["quote"]["status"] == "expired"
    assert staff_api.get(f"/jobs/{job.reference}").json()["quotes"][0]["status"] == "expired"


def test_the_quote_is_still_open_on_its_last_valid_day(customer_api, make_job, clock):
    _, secret = make_job(JobState.QUOTED)
    clock.advance(days=14)

    response = customer_api(secret).post("/customer/job/accept", {"quote_version": 1})

    assert response.status_code == 200


def test_accepting_twice_is_refused_clearly(customer_api, make_job):
    job, secret = make_job(JobState.QUOTED)
    customer = customer_api(secret)
    customer.post("/customer/job/accept", {"quote_version": 1})
    before = snapshot(job)

    again = customer.post("/customer/job/accept", {"quote_version": 1})

    assert again.status_code == 409
    assert snapshot(job) == before


def test_the_customer_declines_the_quote_with_a_reason(customer_api, make_job):
    job, secret = make_job(JobState.QUOTED)

    response = customer_api(secret).post(
        "/customer/job/decline-quote", {"quote_version": 1, "reason": "Too dear."}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "quote_declined"
    assert body["quote"] is None  # nothing left to act on until a revised quote arrives
    assert body["actions"] == ["cancel"]
    assert Notification.objects.filter(job=job, event="quote_declined", audience="staff").exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_a_quote_needs_a_reason(customer_api, make_job, reason):
    job, secret = make_job(JobState.QUOTED)
    before = snapshot(job)

    response = customer_api(secret).post(
        "/customer/job/decline-quote", {"quote_version": 1, "reason": reason}
    )

    assert response.status_code == 422
    assert response.json()["message"] == "Please give a reason."
    assert snapshot(job) == before


def test_staff_cannot_decline_a_quote_for_the_customer(staff_api, make_job):
    # There is no staff endpoint for it: the lifecycle gives that choice to the customer only.
    job, _ = make_job(JobState.QUOTED)

    response = staff_api.post(f"/jobs/{job.reference}/decline-quote", {"quote_version": 1})

    assert response.status_code == 404


@pytest.mark.parametrize("state", [JobState.SUBMITTED, JobState.ACCEPTED, JobState.CANCELLED])
def test_a_quote_is_answered_only_while_quoted(customer_api, make_job, state):
    job, secret = make_job(state)
    before = snapshot(job)
    customer = customer_api(secret)

    accept = customer.post("/customer/job/accept", {"quote_version": 1})
    decline = customer.post("/customer/job/decline-quote", {"quote_version": 1, "reason": "No"})

    assert (accept.status_code, decline.status_code) == (409, 409)
    assert snapshot(job) == before
