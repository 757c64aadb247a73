"""The case study's hard cases, end to end through the API: a customer with their link and an
operator with a token, each step as a client would take it."""

from datetime import timedelta

from django.utils import timezone

from printdesk.jobs.models import AuditEvent
from tests.api.conftest import snapshot
from tests.conftest import sample_upload


def _quote_body(detail: dict, unit_price: str, quantity: int | None = None) -> dict:
    return {
        "lines": [
            {
                "description": "Housing",
                "material_id": 0,  # filled in by the caller
                "colour": detail["colour"],
                "quantity": quantity or detail["quantity"],
                "unit_price": unit_price,
                "file_id": detail["files"][0]["id"],
            }
        ],
        "lead_time_days": 4,
        "valid_until": str(timezone.localdate() + timedelta(days=10)),
        "expected_version": detail["version"],
    }


def _send_quote(staff_api, job, unit_price: str):
    detail = staff_api.get(f"/jobs/{job.reference}").json()
    body = _quote_body(detail, unit_price)
    body["lines"][0]["material_id"] = job.material_id
    response = staff_api.post(f"/jobs/{job.reference}/quotes", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_revised_file_needs_a_new_quote(make_job, staff_api, customer_api):
    job, secret = make_job()
    customer = customer_api(secret)
    _send_quote(staff_api, job, "20.00")
    assert customer.get("/customer/job").json()["quote"]["version"] == 1

    # The customer spots a mistake and uploads a corrected model while the quote is open.
    file_id = customer.get("/customer/job").json()["files"][0]["id"]
    revised = customer.upload(
        "/customer/job/files",
        {"file": sample_upload("20mm-xyz-cube.stl"), "file_id": file_id},
    )
    assert revised.status_code == 201
    assert revised.json()["state"] == "submitted"
    assert revised.json()["quote"] is None
    staff_view = staff_api.get(f"/jobs/{job.reference}").json()
    assert [(q["version"], q["status"]) for q in staff_view["quotes"]] == [(1, "superseded")]
    assert len(staff_view["files"][0]["versions"]) == 2

    # The old quote can no longer be accepted, by the customer or for them.
    before = snapshot(job)
    late = customer.post("/customer/job/accept", {"quote_version": 1})
    for_them = staff_api.post(f"/jobs/{job.reference}/accept", {"quote_version": 1})
    assert (late.status_code, for_them.status_code) == (409, 409)
    assert snapshot(job) == before

    # The operator quotes the revised file; version 1 stays refused, version 2 is accepted.
    requoted = _send_quote(staff_api, job, "18.50")
    assert [(q["version"], q["status"]) for q in requoted["quotes"]] == [
        (2, "current"),
        (1, "superseded"),
    ]
    stale = customer.post("/customer/job/accept", {"quote_version": 1})
    assert stale.status_code == 409
    assert stale.json()["message"] == (
        "Quote version 1 is no longer open. The current quote is version 2."
    )
    accepted = customer.post("/customer/job/accept", {"quote_version": 2})
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["quote"]["version"] == 2
    assert accepted.json()["quote"]["lines"][0]["unit_price"] == "18.50"


def _runs(staff_api, job) -> dict:
    return staff_api.get(f"/jobs/{job.reference}").json()


def test_a_job_split_into_three_runs_with_one_failed(make_job, staff_api, catalogue):
    job, _ = make_job("in_production", quantity=10)
    url = f"/jobs/{job.reference}"
    plan = [(4, catalogue["mk4"].pk), (3, catalogue["mk4"].pk), (3, None)]
    run_ids = []
    for quantity, printer in plan:
        response = staff_api.post(f"{url}/runs", {"quantity": quantity, "printer_id": printer})
        assert response.status_code == 201
        run_ids.append(response.json()["runs"][-1]["id"])

    # Nothing more can be planned: all ten parts are in runs.
    too_many = staff_api.post(f"{url}/runs", {"quantity": 1})
    assert too_many.status_code == 422
    assert too_many.json()["message"] == f"Only 0 more part(s) can be planned for {job.reference}."

    # The plate of four fails; the two plates of three print.
    staff_api.post(f"{url}/runs/{run_ids[0]}", {"state": "printing"})
    staff_api.post(f"{url}/runs/{run_ids[0]}", {"state": "failed", "notes": "Warped"})
    staff_api.post(f"{url}/runs/{run_ids[1]}", {"state": "done"})
    after = staff_api.post(f"{url}/runs/{run_ids[2]}", {"state": "done"}).json()
    assert after["production"] == {"quantity": 10, "done": 6, "planned": 6, "owed": 4}
    assert [r["state"] for r in after["runs"]] == ["failed", "done", "done"]

    # Not ready while four parts are owed.
    before = snapshot(job)
    refused = staff_api.post(f"{url}/ready")
    assert refused.status_code == 409
    assert refused.json()["message"] == f"{job.reference} still owes 4 of 10 parts."
    assert snapshot(job) == before

    # A replacement run may cover the failed parts, and no more.
    beyond = staff_api.post(f"{url}/runs", {"quantity": 5})
    assert beyond.status_code == 422
    assert beyond.json()["message"] == f"Only 4 more part(s) can be planned for {job.reference}."
    replacement = staff_api.post(f"{url}/runs", {"quantity": 4, "printer_id": catalogue["mk4"].pk})
    assert replacement.status_code == 201
    assert replacement.json()["production"]["owed"] == 4  # planned, not yet printed
    still_owed = staff_api.post(f"{url}/ready")
    assert still_owed.status_code == 409

    done = staff_api.post(f"{url}/runs/{replacement.json()['runs'][-1]['id']}", {"state": "done"})
    assert done.json()["production"] == {"quantity": 10, "done": 10, "planned": 10, "owed": 0}
    assert "mark_ready" in done.json()["actions"]
    ready = staff_api.post(f"{url}/ready")
    assert ready.status_code == 200
    assert ready.json()["state"] == "ready"

    # With everything printed, an extra run is refused (and the job is no longer printing).
    extra = staff_api.post(f"{url}/runs", {"quantity": 1})
    assert extra.status_code == 409


def test_a_request_declined_before_quoting_stays_declined(make_job, staff_api, customer_api):
    job, secret = make_job()
    url = f"/jobs/{job.reference}"

    declined = staff_api.post(f"{url}/decline", {"reason": "We cannot print in this size."})
    assert declined.status_code == 200
    assert declined.json()["state"] == "declined"
    assert declined.json()["audit"][-1]["details"]["reason"] == "We cannot print in this size."
    before = snapshot(job)

    detail = staff_api.get(url).json()
    body = _quote_body(detail, "10.00")
    body["lines"][0]["material_id"] = job.material_id
    del body["expected_version"]
    late = [
        staff_api.post(f"{url}/quotes", body),
        staff_api.post(f"{url}/cancel", {"reason": "Tidying up"}),
        staff_api.post(f"{url}/decline", {"reason": "Again"}),
        staff_api.post(f"{url}/accept", {"quote_version": 1}),
        staff_api.upload(f"{url}/files", {"file": sample_upload("rabbit.obj")}),
        customer_api(secret).post("/customer/job/cancel", {"reason": "Never mind"}),
        customer_api(secret).upload("/customer/job/files", {"file": sample_upload("rabbit.obj")}),
    ]

    for response in late:
        assert response.status_code == 409, response.content
        assert "is declined" in response.json()["message"]
    assert snapshot(job) == before
    assert staff_api.get(url).json()["state"] == "declined"
    assert customer_api(secret).get("/customer/job").json()["state"] == "declined"


def test_a_customer_cannot_cancel_once_printing_started_but_the_operator_can(
    make_job, staff_api, customer_api
):
    job, secret = make_job("accepted")
    customer = customer_api(secret)
    started = staff_api.post(f"/jobs/{job.reference}/start-production")
    assert started.status_code == 200
    assert "cancel" not in customer.get("/customer/job").json()["actions"]
    before = snapshot(job)
    audit_before = list(AuditEvent.objects.filter(job=job).values_list("id", flat=True))

    refused = customer.post("/customer/job/cancel", {"reason": "Found it cheaper."})

    assert refused.status_code == 403
    assert refused.json()["code"] == "not_allowed"
    assert refused.json()["message"] == (
        "Customer via link cannot “Cancel” on a job that is in production."
    )
    assert snapshot(job) == before
    assert list(AuditEvent.objects.filter(job=job).values_list("id", flat=True)) == audit_before

    cancelled = staff_api.post(
        f"/jobs/{job.reference}/cancel", {"reason": "Customer asked; parts not yet printed."}
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["audit"][-1]["actor"] == "olga"
    assert customer.get("/customer/job").json()["state"] == "cancelled"
