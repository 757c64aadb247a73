"""Text that a database cannot store is bad input: PostgreSQL refuses NUL in text and
\\u0000 in JSON, so every text field refuses it up front with a 422 (SQLite would store it; the
API answers the same on both)."""

import pytest

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from tests.api.conftest import snapshot
from tests.conftest import stl_upload

NUL = "Hello\x00world"


def _quote(job, **line) -> dict:
    return {
        "lines": [
            {
                "description": "Part",
                "material_id": job.material_id,
                "colour": "black",
                "quantity": 1,
                "unit_price": "1.00",
                **line,
            }
        ],
        "lead_time_days": 1,
        "valid_until": "2099-01-01",
    }


STAFF_BODIES = [
    (JobState.SUBMITTED, "decline", lambda job: {"reason": NUL}),
    (JobState.SUBMITTED, "cancel", lambda job: {"reason": NUL}),
    (JobState.SUBMITTED, "notes", lambda job: {"body": NUL}),
    (JobState.SUBMITTED, "quotes", lambda job: _quote(job, description=NUL)),
    (JobState.SUBMITTED, "quotes", lambda job: {**_quote(job), "message": NUL}),
    (JobState.IN_PRODUCTION, "runs", lambda job: {"quantity": 1, "notes": NUL}),
    (JobState.IN_PRODUCTION, "runs", lambda job: {"quantity": 1, "colour": NUL}),
    (JobState.READY, "dispatch", lambda job: {"method": "carrier", "carrier": NUL}),
]


@pytest.mark.parametrize(("state", "action", "body"), STAFF_BODIES)
def test_staff_text_with_nul_is_a_422(make_job, staff_api, state, action, body):
    job, _ = make_job(state)
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/{action}", body(job))

    assert response.status_code == 422
    assert "NUL" in response.json()["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize(
    ("state", "path", "body"),
    [
        (JobState.QUOTED, "decline-quote", {"quote_version": 1, "reason": NUL}),
        (JobState.SUBMITTED, "cancel", {"reason": NUL}),
    ],
)
def test_customer_text_with_nul_is_a_422(make_job, customer_api, state, path, body):
    job, secret = make_job(state)
    before = snapshot(job)

    response = customer_api(secret).post(f"/customer/job/{path}", body)

    assert response.status_code == 422
    assert snapshot(job) == before


def test_a_run_update_note_with_nul_is_a_422(make_job, staff_api):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run_id = staff_api.post(f"/jobs/{job.reference}/runs", {"quantity": 1}).json()["runs"][0]["id"]

    response = staff_api.post(
        f"/jobs/{job.reference}/runs/{run_id}", {"state": "done", "notes": NUL}
    )

    assert response.status_code == 422


def test_a_search_with_nul_is_a_422(staff_api):
    response = staff_api.get("/jobs", {"q": NUL})

    assert response.status_code == 422
    assert response.json()["message"].startswith("q: ")


def test_a_token_request_with_nul_is_a_422(api, operator):
    response = api.post("/auth/token", {"username": NUL, "password": "pw"})

    assert response.status_code == 422


@pytest.mark.parametrize(
    "field", ["customer_name", "customer_email", "customer_phone", "customer_company", "notes"]
)
def test_a_request_form_with_nul_is_a_422(api, catalogue, field):
    form = {
        "customer_name": "Cara",
        "customer_email": "cara@example.com",
        "material_id": catalogue["resin"].pk,
        "quantity": 1,
        "files": [stl_upload()],
        field: NUL,
    }

    response = api.upload("/requests", form)

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{field}: ")
    assert not Job.objects.exists()
