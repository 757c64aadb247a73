"""Production through the staff API: start, print runs, ready, dispatch."""

import pytest

from printdesk.catalogue.models import Printer
from printdesk.jobs.lifecycle import JobState
from tests.api.conftest import snapshot


def test_starting_production_on_an_accepted_job(staff_api, make_job):
    job, _ = make_job(JobState.ACCEPTED)

    response = staff_api.post(f"/jobs/{job.reference}/start-production")

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "in_production"
    assert body["production"] == {"quantity": 3, "done": 0, "planned": 0, "owed": 3}


@pytest.mark.parametrize("state", [JobState.SUBMITTED, JobState.QUOTED, JobState.IN_PRODUCTION])
def test_production_starts_only_from_an_accepted_quote(staff_api, make_job, state):
    job, _ = make_job(state)
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/start-production")

    assert response.status_code == 409
    assert snapshot(job) == before


def test_a_run_is_planned_on_a_printer(staff_api, make_job, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION)

    response = staff_api.post(
        f"/jobs/{job.reference}/runs",
        {"quantity": 2, "printer_id": catalogue["mk4"].pk, "colour": "white", "notes": "Plate A"},
    )

    assert response.status_code == 201
    body = response.json()
    [run] = body["runs"]
    assert (run["quantity"], run["printer"], run["colour"], run["state"]) == (
        2,
        "Prusa MK4",
        "white",
        "queued",
    )
    assert run["notes"] == "Plate A"
    assert body["production"] == {"quantity": 3, "done": 0, "planned": 2, "owed": 3}
    assert body["state"] == "in_production"


def test_a_run_may_use_another_material(staff_api, make_job, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION)

    response = staff_api.post(
        f"/jobs/{job.reference}/runs",
        {"quantity": 1, "material_id": catalogue["resin"].pk, "printer_id": catalogue["form"].pk},
    )

    assert response.json()["runs"][0]["material"] == "Tough resin"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"quantity": 0}, "Quantity must be between 1 and 100000."),
        ({"quantity": 4}, "Only 3 more part(s) can be planned for {ref}."),
        ({"quantity": 1, "printer_id": 999999}, "Choose one of the bureau's printers."),
        ({"quantity": 1, "material_id": 999999}, "Choose one of the bureau's materials."),
    ],
)
def test_an_invalid_run_is_a_422(staff_api, make_job, body, message):
    job, _ = make_job(JobState.IN_PRODUCTION)
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/runs", body)

    assert response.status_code == 422
    assert response.json()["message"] == message.format(ref=job.reference)
    assert snapshot(job) == before


def test_a_run_on_an_inactive_printer_is_refused(staff_api, make_job, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION)
    Printer.objects.filter(pk=catalogue["mk4"].pk).update(active=False)

    response = staff_api.post(
        f"/jobs/{job.reference}/runs", {"quantity": 1, "printer_id": catalogue["mk4"].pk}
    )

    assert response.status_code == 422


def test_runs_are_only_planned_in_production(staff_api, make_job):
    job, _ = make_job(JobState.ACCEPTED)

    response = staff_api.post(f"/jobs/{job.reference}/runs", {"quantity": 1})

    assert response.status_code == 409


def _add_run(staff_api, job, quantity: int) -> int:
    response = staff_api.post(f"/jobs/{job.reference}/runs", {"quantity": quantity})
    assert response.status_code == 201, response.content
    return response.json()["runs"][-1]["id"]


def test_a_run_moves_from_queued_to_printing_to_done(staff_api, make_job):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run_id = _add_run(staff_api, job, 3)
    url = f"/jobs/{job.reference}/runs/{run_id}"

    printing = staff_api.post(url, {"state": "printing", "notes": "Layer 1 looks good"})
    done = staff_api.post(url, {"state": "done"})

    assert printing.json()["runs"][0]["state"] == "printing"
    assert printing.json()["runs"][0]["notes"] == "Layer 1 looks good"
    assert done.json()["runs"][0]["state"] == "done"
    assert done.json()["runs"][0]["notes"] == "Layer 1 looks good"  # kept when not given
    assert done.json()["production"] == {"quantity": 3, "done": 3, "planned": 3, "owed": 0}


@pytest.mark.parametrize(("first", "then"), [("done", "printing"), ("failed", "done")])
def test_a_finished_run_cannot_move_again(staff_api, make_job, first, then):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run_id = _add_run(staff_api, job, 1)
    url = f"/jobs/{job.reference}/runs/{run_id}"
    staff_api.post(url, {"state": first})
    before = snapshot(job)

    response = staff_api.post(url, {"state": then})

    assert response.status_code == 409
    assert response.json()["message"] == f"A run that is {first} cannot become {then}."
    assert snapshot(job) == before


def test_an_unknown_run_state_is_a_422(staff_api, make_job):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run_id = _add_run(staff_api, job, 1)

    response = staff_api.post(f"/jobs/{job.reference}/runs/{run_id}", {"state": "exploded"})

    assert response.status_code == 422
    assert response.json()["message"].startswith("state: ")


def test_a_job_is_ready_when_done_runs_cover_the_quantity(staff_api, make_job):
    job, _ = make_job(JobState.IN_PRODUCTION)
    for quantity in (2, 1):
        run_id = _add_run(staff_api, job, quantity)
        staff_api.post(f"/jobs/{job.reference}/runs/{run_id}", {"state": "done"})

    response = staff_api.post(f"/jobs/{job.reference}/ready")

    assert response.status_code == 200
    assert response.json()["state"] == "ready"


def test_a_job_is_not_ready_while_parts_are_owed(staff_api, make_job):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run_id = _add_run(staff_api, job, 2)
    staff_api.post(f"/jobs/{job.reference}/runs/{run_id}", {"state": "done"})
    _add_run(staff_api, job, 1)  # planned, not printed
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/ready")

    assert response.status_code == 409
    assert response.json()["message"] == f"{job.reference} still owes 1 of 3 parts."
    assert snapshot(job) == before


def test_dispatching_by_carrier_records_the_tracking_number(staff_api, customer_api, make_job):
    job, secret = make_job(JobState.READY)

    response = staff_api.post(
        f"/jobs/{job.reference}/dispatch",
        {"method": "carrier", "carrier": " DPD ", "tracking_number": " 1Z999 "},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "dispatched"
    assert (body["dispatch"]["method"], body["dispatch"]["carrier"]) == ("carrier", "DPD")
    assert body["dispatch"]["tracking_number"] == "1Z999"
    mine = customer_api(secret).get("/customer/job").json()
    assert mine["dispatch"]["tracking_number"] == "1Z999"


def test_a_hand_over_keeps_no_carrier(staff_api, make_job):
    job, _ = make_job(JobState.READY)

    response = staff_api.post(
        f"/jobs/{job.reference}/dispatch",
        {"method": "hand_over", "carrier": "DHL", "tracking_number": "X"},
    )

    assert response.json()["dispatch"] == {
        "method": "hand_over",
        "carrier": "",
        "tracking_number": "",
        "created_at": response.json()["dispatch"]["created_at"],
    }


def test_dispatch_by_carrier_needs_the_carrier(staff_api, make_job):
    job, _ = make_job(JobState.READY)
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/dispatch", {"method": "carrier"})

    assert response.status_code == 422
    assert response.json() == {
        "message": "Name the carrier.",
        "code": "invalid",
        "field": "carrier",
    }
    assert snapshot(job) == before


@pytest.mark.parametrize("state", [JobState.IN_PRODUCTION, JobState.DISPATCHED])
def test_only_a_ready_job_is_dispatched(staff_api, make_job, state):
    job, _ = make_job(state)
    before = snapshot(job)

    response = staff_api.post(
        f"/jobs/{job.reference}/dispatch", {"method": "carrier", "carrier": "DHL"}
    )

    assert response.status_code == 409
    assert snapshot(job) == before


def test_a_run_naming_its_material_without_a_colour_gets_the_jobs_colour(
    staff_api, make_job, catalogue
):
    job, _ = make_job(JobState.IN_PRODUCTION)  # PLA, black

    response = staff_api.post(
        f"/jobs/{job.reference}/runs", {"quantity": 1, "material_id": catalogue["pla"].pk}
    )

    assert response.status_code == 201
    assert response.json()["runs"][0]["colour"] == "black"
