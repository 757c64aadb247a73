"""expected_version: a client that acts on what it saw is refused (409, job_changed) when the
job changed since, and nothing is applied."""

import pytest

from printdesk.jobs.lifecycle import JobState
from tests.api.conftest import snapshot
from tests.api.endpoints import ALL, ids, prepared_job
from tests.conftest import stl_upload

# Every action that takes the version the caller saw (a note is added whatever the version).
VERSIONED = [e for e in ALL if e.method == "POST" and e.name != "add note"]
QUOTE = next(e for e in ALL if e.name == "send quote")


def _act(endpoint, staff_api, customer_api, job, secret, expected_version: int):
    client = customer_api(secret) if endpoint.audience == "customer" else staff_api
    url = endpoint.url(job)
    if endpoint.upload:
        return client.upload(url, {"file": stl_upload(), "expected_version": expected_version})
    return client.post(url, {**endpoint.body(job), "expected_version": expected_version})


@pytest.mark.parametrize("endpoint", VERSIONED, ids=ids(VERSIONED))
def test_a_stale_version_is_refused_and_nothing_changes(
    make_job, operator, staff_api, customer_api, endpoint
):
    job, secret = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)

    response = _act(endpoint, staff_api, customer_api, job, secret, job.version - 1)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "job_changed"
    label = JobState(job.state).label
    assert body["message"] == f"{job.reference} changed since you loaded it; it is now {label}."
    assert snapshot(job) == before


@pytest.mark.parametrize("endpoint", VERSIONED, ids=ids(VERSIONED))
def test_the_current_version_is_accepted(make_job, operator, staff_api, customer_api, endpoint):
    job, secret = prepared_job(make_job, operator, endpoint)

    response = _act(endpoint, staff_api, customer_api, job, secret, job.version)

    assert response.status_code == endpoint.success
    assert response.json()["version"] == job.version + 1


def test_of_two_operators_acting_on_what_they_saw_only_the_first_applies(
    make_job, staff_api, admin_api
):
    job, _ = make_job(JobState.QUOTED)
    seen = staff_api.get(f"/jobs/{job.reference}").json()["version"]

    first = staff_api.post(
        f"/jobs/{job.reference}/accept", {"quote_version": 1, "expected_version": seen}
    )
    after_first = snapshot(job)
    second = admin_api.post(
        f"/jobs/{job.reference}/cancel", {"reason": "Customer phoned", "expected_version": seen}
    )

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["message"].endswith("it is now Quote accepted.")
    assert snapshot(job) == after_first


def test_a_customer_acting_on_a_page_the_bureau_has_since_changed_is_told(
    make_job, staff_api, customer_api
):
    job, secret = make_job(JobState.QUOTED)
    customer = customer_api(secret)
    seen = customer.get("/customer/job").json()["version"]
    revised = staff_api.post(f"/jobs/{job.reference}/quotes", QUOTE.body(job))
    assert revised.status_code == 201

    response = customer.post(
        "/customer/job/decline-quote",
        {"quote_version": 1, "reason": "Too dear", "expected_version": seen},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "job_changed"
    now = customer.get("/customer/job").json()
    assert (now["state"], now["quote"]["version"]) == ("quoted", 2)
