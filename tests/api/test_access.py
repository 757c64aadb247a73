"""Who may call what: every staff and customer endpoint, with every wrong person.

Sessions are browsers here, so CSRF is enforced as it is in real life (Django's test client
skips it unless told). A refused caller changes nothing.
"""

import pytest
from django.test import Client

from printdesk.accounts.models import ApiToken
from printdesk.jobs.models import Job
from tests.api.conftest import ApiClient, bearer, snapshot, token_for, with_csrf
from tests.api.endpoints import CUSTOMER, STAFF, ids, prepared_job

STAFF_INTRUDERS = [
    "anonymous",
    "stranger's session",
    "deactivated operator's token",
    "deactivated operator's session",
    "revoked token",
    "made-up token",
    "customer's link",
]
CUSTOMER_INTRUDERS = [
    "anonymous",
    "stranger's session",
    "unknown link",
    "empty link",
    "operator's token",
    "operator's session",
]


def _browser(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def intruder(request, operator, stranger_user, deactivated_operator):
    """A client for the wrong person named by the test's parameter; `secret` is the job's link."""

    def make(who: str, secret: str) -> ApiClient:
        if who == "anonymous":
            return ApiClient(_browser())
        if who == "stranger's session":
            return ApiClient(_browser(stranger_user))
        if who == "deactivated operator's token":
            return ApiClient(_browser(), bearer(token_for(deactivated_operator)))
        if who == "deactivated operator's session":
            return ApiClient(_browser(deactivated_operator))
        if who == "revoked token":
            token, secret_token = ApiToken.issue(operator, "old laptop")
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.created_at)
            return ApiClient(_browser(), bearer(secret_token))
        if who == "made-up token":
            return ApiClient(_browser(), bearer("pdt_" + "x" * 43))
        if who == "customer's link":
            return ApiClient(_browser(), {"X-Job-Link": secret})
        if who == "unknown link":
            return ApiClient(_browser(), {"X-Job-Link": "not-a-real-link-secret"})
        if who == "empty link":
            return ApiClient(_browser(), {"X-Job-Link": ""})
        if who == "operator's token":
            return ApiClient(_browser(), bearer(token_for(operator)))
        if who == "operator's session":
            client = _browser(operator)
            return ApiClient(client, with_csrf(client))
        raise AssertionError(who)

    return make


@pytest.mark.parametrize("who", STAFF_INTRUDERS)
@pytest.mark.parametrize("endpoint", STAFF, ids=ids(STAFF))
def test_staff_endpoints_refuse_everyone_but_staff(make_job, operator, intruder, endpoint, who):
    job, secret = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)

    response = endpoint.call(intruder(who, secret), job)

    assert response.status_code == 401
    assert response.json() == {"message": "Authentication required.", "code": "unauthorized"}
    assert snapshot(job) == before


@pytest.mark.parametrize("who", CUSTOMER_INTRUDERS)
@pytest.mark.parametrize("endpoint", CUSTOMER, ids=ids(CUSTOMER))
def test_customer_endpoints_need_the_jobs_link(make_job, operator, intruder, endpoint, who):
    job, secret = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)

    response = endpoint.call(intruder(who, secret), job)

    # A link that never opened a job is 404 (issue 6); no link at all is 401.
    expected = (404, "link_unknown") if who == "unknown link" else (401, "unauthorized")
    assert (response.status_code, response.json()["code"]) == expected
    assert snapshot(job) == before


@pytest.mark.parametrize("endpoint", CUSTOMER, ids=ids(CUSTOMER))
def test_another_jobs_link_acts_on_that_job_only(make_job, operator, customer_api, endpoint):
    mine, _ = prepared_job(make_job, operator, endpoint)
    theirs, their_secret = prepared_job(make_job, operator, endpoint)
    mine_before, theirs_before = snapshot(mine), snapshot(theirs)

    response = endpoint.call(customer_api(their_secret), mine)

    assert response.status_code == endpoint.success
    assert response.json()["reference"] == theirs.reference
    assert snapshot(mine) == mine_before
    if endpoint.method == "POST":
        assert snapshot(theirs) != theirs_before


@pytest.mark.parametrize("endpoint", CUSTOMER, ids=ids(CUSTOMER))
def test_customer_endpoints_answer_the_holder_of_the_link(
    make_job, operator, customer_api, endpoint
):
    job, secret = prepared_job(make_job, operator, endpoint)

    response = endpoint.call(customer_api(secret), job)

    assert response.status_code == endpoint.success
    assert response.json()["reference"] == job.reference


STAFF_POSTS = [e for e in STAFF if e.method == "POST"]
STAFF_GETS = [e for e in STAFF if e.method == "GET"]


@pytest.mark.parametrize("endpoint", STAFF_POSTS, ids=ids(STAFF_POSTS))
def test_session_post_without_csrf_token_is_refused(make_job, operator, endpoint):
    job, _ = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)
    browser = _browser(operator)
    with_csrf(browser)  # the cookie alone proves nothing: the header must echo it

    response = endpoint.call(ApiClient(browser), job)

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize("endpoint", STAFF_POSTS, ids=ids(STAFF_POSTS))
def test_session_post_with_csrf_token_works(make_job, operator, endpoint):
    job, _ = prepared_job(make_job, operator, endpoint)
    browser = _browser(operator)

    response = endpoint.call(ApiClient(browser, with_csrf(browser)), job)

    assert response.status_code == endpoint.success


@pytest.mark.parametrize("endpoint", STAFF_GETS, ids=ids(STAFF_GETS))
def test_session_get_needs_no_csrf_token(make_job, operator, endpoint):
    job, _ = prepared_job(make_job, operator, endpoint)

    response = endpoint.call(ApiClient(_browser(operator)), job)

    assert response.status_code == 200


def test_session_post_with_a_wrong_csrf_token_is_refused(make_job, operator):
    job, _ = make_job()
    browser = _browser(operator)
    with_csrf(browser)

    response = ApiClient(browser, {"X-CSRFToken": "b" * 32}).post(
        f"/jobs/{job.reference}/cancel", {"reason": "Forged"}
    )

    assert response.status_code == 403
    assert Job.objects.get(pk=job.pk).state == job.state


@pytest.mark.parametrize("endpoint", STAFF, ids=ids(STAFF))
def test_a_token_needs_no_csrf_token(make_job, operator, staff_token, endpoint):
    job, _ = prepared_job(make_job, operator, endpoint)

    response = endpoint.call(ApiClient(_browser(), bearer(staff_token)), job)

    assert response.status_code == endpoint.success


@pytest.mark.parametrize("endpoint", STAFF, ids=ids(STAFF))
def test_admins_may_do_what_operators_may(make_job, operator, admin_api, endpoint):
    job, _ = prepared_job(make_job, operator, endpoint)

    response = endpoint.call(admin_api, job)

    assert response.status_code == endpoint.success


def test_a_token_stops_working_when_its_operator_is_deactivated(make_job, operator):
    make_job()
    client = ApiClient(Client(), bearer(token_for(operator)))
    assert client.get("/jobs").status_code == 200

    operator.is_active = False
    operator.save()

    assert client.get("/jobs").status_code == 401


def test_a_token_stops_working_when_its_user_loses_staff_status(make_job, operator):
    make_job()
    client = ApiClient(Client(), bearer(token_for(operator)))

    operator.is_staff = False
    operator.save()

    assert client.get("/jobs").status_code == 401


def test_a_token_records_when_it_was_last_used(operator):
    token, secret = ApiToken.issue(operator, "script")
    assert token.last_used_at is None

    ApiClient(Client(), bearer(secret)).get("/jobs")

    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
