"""Requests that are wrong in themselves: method, address, body. Each gets a JSON error and
changes nothing (the shape of every error is checked by the API client, see conftest)."""

import pytest

from tests.api.conftest import snapshot
from tests.api.endpoints import ALL, JSON_ENDPOINTS, PUBLIC_PATHS, STAFF, ids, prepared_job

WRONG_METHODS = {"GET": ["POST", "PUT", "DELETE"], "POST": ["GET", "PUT", "PATCH", "DELETE"]}


def _caller(endpoint, staff_api, customer_api, secret):
    return customer_api(secret) if endpoint.audience == "customer" else staff_api


@pytest.mark.parametrize("endpoint", ALL, ids=ids(ALL))
def test_a_wrong_method_gets_405_in_json(make_job, operator, staff_api, customer_api, endpoint):
    job, secret = prepared_job(make_job, operator, endpoint)
    client = _caller(endpoint, staff_api, customer_api, secret)

    for method in WRONG_METHODS[endpoint.method]:
        response = client.request(method, endpoint.url(job))

        assert response.status_code == 405, method
        assert response.json()["code"] == "method_not_allowed"
        assert endpoint.method in response["Allow"]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_endpoints_answer_a_wrong_method_in_json(api, path):
    response = api.request("DELETE", path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=ids(JSON_ENDPOINTS))
@pytest.mark.parametrize("body", ["{", '{"reason": }', "not json at all", "{'single': 'quotes'}"])
def test_malformed_json_is_a_400(make_job, operator, staff_api, customer_api, endpoint, body):
    job, secret = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)

    response = _caller(endpoint, staff_api, customer_api, secret).post_raw(endpoint.url(job), body)

    assert response.status_code == 400
    assert response.json()["message"] == "Cannot parse request body"
    assert response.json()["code"] == "bad_request"
    assert snapshot(job) == before


WITH_REQUIRED = [e for e in JSON_ENDPOINTS if e.required]


@pytest.mark.parametrize("endpoint", WITH_REQUIRED, ids=ids(WITH_REQUIRED))
def test_missing_fields_are_a_422_naming_each(
    make_job, operator, staff_api, customer_api, endpoint
):
    job, secret = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)

    response = endpoint.call(_caller(endpoint, staff_api, customer_api, secret), job, body={})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    for field in endpoint.required:
        assert f"{field}: Field required" in body["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=ids(JSON_ENDPOINTS))
def test_fields_of_the_wrong_type_are_a_422_naming_each(
    make_job, operator, staff_api, customer_api, endpoint
):
    job, secret = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)
    body = {**endpoint.body(job), **endpoint.wrong_types}

    response = endpoint.call(_caller(endpoint, staff_api, customer_api, secret), job, body=body)

    assert response.status_code == 422
    message = response.json()["message"]
    for field in endpoint.wrong_types:
        assert f"{field}: " in message
    assert snapshot(job) == before


@pytest.mark.parametrize("endpoint", WITH_REQUIRED, ids=ids(WITH_REQUIRED))
def test_a_json_array_instead_of_an_object_is_a_422(
    make_job, operator, staff_api, customer_api, endpoint
):
    job, secret = prepared_job(make_job, operator, endpoint)

    response = _caller(endpoint, staff_api, customer_api, secret).post_raw(
        endpoint.url(job), "[1, 2]"
    )

    assert response.status_code == 422


JOB_PATHS = [e for e in STAFF if "{ref}" in e.path]


@pytest.mark.parametrize("endpoint", JOB_PATHS, ids=ids(JOB_PATHS))
@pytest.mark.parametrize("reference", ["PD-99999", "pd-0", "not-a-job", "PD-999999999999999999"])
def test_an_unknown_reference_is_a_404(make_job, operator, staff_api, endpoint, reference):
    job, _ = prepared_job(make_job, operator, endpoint)
    before = snapshot(job)

    response = endpoint.call(staff_api, job, path={"ref": reference})

    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found"}
    assert snapshot(job) == before


@pytest.mark.parametrize("endpoint", JOB_PATHS, ids=ids(JOB_PATHS))
def test_a_job_is_found_by_any_spelling_of_its_reference(make_job, operator, staff_api, endpoint):
    job, _ = prepared_job(make_job, operator, endpoint)

    response = endpoint.call(staff_api, job, path={"ref": f"pd{job.pk}"})

    assert response.status_code == endpoint.success


@pytest.mark.parametrize(
    "path",
    [
        "/jobs/{ref}/files/{file_id}/versions/2",
        "/jobs/{ref}/files/999999/versions/1",
        "/jobs/{ref}/files/{file_id}/versions/0",
        "/jobs/{ref}/files/99999999999999999999999/versions/1",
        "/jobs/{ref}/files/{file_id}/versions/99999999999999999999999",
        "/jobs/{ref}/files/9223372036854775808/versions/1",
    ],
)
def test_downloading_an_unknown_file_version_is_a_404(make_job, staff_api, path):
    job, _ = make_job()
    path = path.format(ref=job.reference, file_id=job.files.get().pk)

    response = staff_api.get(path)

    assert response.status_code == 404


def test_downloading_another_jobs_file_through_this_job_is_a_404(make_job, staff_api):
    job, _ = make_job()
    other, _ = make_job()

    response = staff_api.get(f"/jobs/{job.reference}/files/{other.files.get().pk}/versions/1")

    assert response.status_code == 404


def test_an_id_that_is_not_a_number_is_a_422(make_job, staff_api):
    job, _ = make_job()

    response = staff_api.get(f"/jobs/{job.reference}/files/first/versions/1")

    assert response.status_code == 422
    assert "file_id" in response.json()["message"]


@pytest.mark.parametrize("run_id", ["999999", "99999999999999999999999"])
def test_updating_an_unknown_run_is_a_404(make_job, operator, staff_api, run_id):
    job, _ = make_job("in_production")
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/runs/{run_id}", {"state": "done"})

    assert response.status_code == 404
    assert snapshot(job) == before


def test_updating_another_jobs_run_through_this_job_is_a_404(make_job, operator, staff_api):
    job, _ = make_job("in_production")
    other, _ = make_job("in_production")
    staff_api.post(f"/jobs/{other.reference}/runs", {"quantity": 1})
    run = other.runs.get()
    before, other_before = snapshot(job), snapshot(other)

    response = staff_api.post(f"/jobs/{job.reference}/runs/{run.pk}", {"state": "done"})

    assert response.status_code == 404
    assert (snapshot(job), snapshot(other)) == (before, other_before)
    assert other.runs.get().state == "queued"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["/no-such-thing", "/jobs/PD-00001/explode", "/customer/job/x"])
def test_an_unknown_api_path_is_a_404_in_json(make_job, staff_api, method, path):
    make_job()

    response = staff_api.request(method, path)

    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found"}


def test_an_unknown_api_path_is_a_404_in_json_for_a_browser_too(session_api, operator):
    response = session_api(operator).post("/no-such-thing", {})

    assert response.status_code == 404
