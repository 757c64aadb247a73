"""GET /api/v1/jobs/{ref} (staff) and GET /api/v1/customer/job (the link holder)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, RunState
from printdesk.lib.demo import quote_lines
from tests.conftest import stl_upload


def test_it_shows_everything_about_a_job(staff_api, make_job, operator):
    job, _ = make_job(JobState.DISPATCHED, customer_phone="+44 20 7946 0000", notes="Matte")
    actions.add_note(job=job, actor=Actor.staff(operator), body="Paid by bank transfer.")

    response = staff_api.get(f"/jobs/{job.reference}")

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == job.reference
    assert (body["state"], body["state_label"]) == ("dispatched", "Dispatched")
    assert (body["customer_phone"], body["notes"]) == ("+44 20 7946 0000", "Matte")
    [file] = body["files"]
    [version] = file["versions"]
    assert (file["name"], version["number"], version["uploaded_by"]) == ("part.stl", 1, "customer")
    assert version["size"] == job.files.get().versions.get().size
    assert len(version["sha256"]) == 64
    [quote] = body["quotes"]
    assert (quote["version"], quote["status"], quote["currency"]) == (1, "accepted", "EUR")
    assert Decimal(quote["total"]) == Decimal("37.50")
    assert Decimal(quote["lines"][0]["line_total"]) == Decimal("37.50")
    assert quote["lines"][0]["file_id"] == file["id"]
    [run] = body["runs"]
    assert (run["quantity"], run["state"], run["material"]) == (3, "done", "PLA")
    assert body["production"] == {"quantity": 3, "done": 3, "planned": 3, "owed": 0}
    assert body["dispatch"]["carrier"] == "DHL"
    assert body["dispatch"]["tracking_number"] == "JD0001"
    assert body["internal_notes"][0]["author"] == "olga"
    assert body["internal_notes"][0]["body"] == "Paid by bank transfer."
    assert [a["event"] for a in body["audit"]] == [
        "submitted",
        "quote_sent",
        "quote_accepted",
        "production_started",
        "run_added",
        "run_updated",
        "ready",
        "dispatched",
        "note_added",
    ]
    assert body["audit"][0]["actor"] == "Customer via link"
    assert body["audit"][1]["actor"] == "olga"
    assert {n["event"] for n in body["notifications"]} >= {"submitted", "dispatched"}
    assert body["actions"] == ["rotate_link"]  # a dispatched customer still follows tracking


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (JobState.SUBMITTED, ["send_quote", "decline", "revise_file", "cancel", "rotate_link"]),
        (JobState.QUOTED, ["send_quote", "accept_quote", "revise_file", "cancel", "rotate_link"]),
        (JobState.IN_PRODUCTION, ["add_run", "update_run", "mark_ready", "cancel", "rotate_link"]),
        (JobState.CANCELLED, ["rotate_link"]),
    ],
)
def test_it_offers_the_actions_staff_may_take_now(staff_api, make_job, state, expected):
    job, _ = make_job(state)

    assert staff_api.get(f"/jobs/{job.reference}").json()["actions"] == expected


def test_a_job_without_dispatch_shows_none(staff_api, make_job):
    job, _ = make_job()

    body = staff_api.get(f"/jobs/{job.reference}").json()

    assert body["dispatch"] is None
    assert body["quotes"] == [] and body["runs"] == []
    assert body["production"] == {"quantity": 3, "done": 0, "planned": 0, "owed": 3}


def test_the_customer_sees_their_job_without_the_bureaus_bookkeeping(
    customer_api, make_job, operator
):
    job, secret = make_job(JobState.IN_PRODUCTION)
    staff = Actor.staff(operator)
    actions.add_note(job=job, actor=staff, body="Customer is difficult.")
    actions.add_run(job=job, actor=staff, quantity=1, printer_id=None)

    response = customer_api(secret).get("/customer/job")

    body = response.json()
    assert body["reference"] == job.reference
    assert body["state"] == "in_production"
    assert body["quote"]["status"] == "accepted"
    [file] = body["files"]
    assert (file["id"], file["name"], file["versions"]) == (job.files.get().pk, "part.stl", 1)
    assert [h["event"] for h in body["history"]] == [
        "submitted",
        "quote_sent",
        "quote_accepted",
        "production_started",
    ]
    assert body["actions"] == []
    for private in ("internal_notes", "runs", "audit", "notifications", "customer_email"):
        assert private not in body
    assert "difficult" not in response.content.decode()
    assert "olga" not in response.content.decode()


def test_the_customer_is_offered_what_they_may_do(customer_api, make_job):
    _, secret = make_job(JobState.QUOTED)

    body = customer_api(secret).get("/customer/job").json()

    assert body["actions"] == ["accept_quote", "decline_quote", "revise_file", "cancel"]
    assert body["quote"]["version"] == 1


def _plain_job(make_job, operator) -> tuple[Job, str]:
    """One of each: file, version, quote, run, note (none at all would skip a prefetch)."""
    job, secret = make_job(JobState.IN_PRODUCTION, quantity=1)
    staff = Actor.staff(operator)
    actions.add_run(job=job, actor=staff, quantity=1)
    actions.add_note(job=job, actor=staff, body="Only note")
    return Job.objects.get(pk=job.pk), secret


def _busy_job(make_job, operator) -> tuple[Job, str]:
    """Three files with several versions, three quotes, three runs, notes."""
    staff, customer = Actor.staff(operator), Actor.customer()
    files = [stl_upload(f"part{n}.stl") for n in range(3)]
    job, secret = make_job(quantity=10, files=files)
    for job_file in job.files.all():
        actions.revise_file(job=job, actor=staff, upload=stl_upload(), job_file_id=job_file.pk)
    valid = timezone.localdate() + timedelta(days=7)
    for version in (1, 2):
        actions.send_quote(
            job=job, actor=staff, lines=quote_lines(job), currency="EUR",
            lead_time_days=3, valid_until=valid,
        )  # fmt: skip
        actions.decline_quote(job=job, actor=customer, quote_version=version, reason="Dearer")
    actions.send_quote(
        job=job, actor=staff, lines=quote_lines(job) * 3, currency="EUR",
        lead_time_days=3, valid_until=valid,
    )  # fmt: skip
    actions.accept_quote(job=job, actor=customer, quote_version=3)
    actions.start_production(job=job, actor=staff)
    runs = [actions.add_run(job=job, actor=staff, quantity=q) for q in (4, 3, 3)]
    actions.update_run(job=job, actor=staff, run_id=runs[0].pk, state=RunState.FAILED)
    actions.update_run(job=job, actor=staff, run_id=runs[1].pk, state=RunState.DONE)
    for n in range(3):
        actions.add_note(job=job, actor=staff, body=f"Note {n}")
    return Job.objects.get(pk=job.pk), secret


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_detail_runs_the_same_number_of_queries_however_much_a_job_holds(
    staff_api, make_job, operator
):
    plain, _ = _plain_job(make_job, operator)
    busy, _ = _busy_job(make_job, operator)
    body = staff_api.get(f"/jobs/{busy.reference}").json()  # also the token's first use
    assert (len(body["files"]), len(body["quotes"]), len(body["runs"])) == (3, 3, 3)
    assert len(body["internal_notes"]) == 3

    assert _queries(staff_api, f"/jobs/{plain.reference}") == _queries(
        staff_api, f"/jobs/{busy.reference}"
    )


def test_the_customer_view_runs_the_same_number_of_queries_however_much_a_job_holds(
    customer_api, make_job, operator
):
    _, plain_secret = _plain_job(make_job, operator)
    _, busy_secret = _busy_job(make_job, operator)

    plain = _queries(customer_api(plain_secret), "/customer/job")
    busy = _queries(customer_api(busy_secret), "/customer/job")

    assert plain == busy
