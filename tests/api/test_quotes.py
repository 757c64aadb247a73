"""Quoting through the staff API: send a quote (and revised versions), accept on the customer's
behalf, or decline the request before quoting."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from printdesk.catalogue.models import Material
from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification
from tests.api.conftest import snapshot


def _quote(job, **changes) -> dict:
    line = {
        "description": "Bracket",
        "material_id": job.material_id,
        "colour": "black",
        "quantity": job.quantity,
        "unit_price": "12.50",
        "file_id": job.files.first().pk,
    }
    line.update(changes.pop("line", {}))
    body = {
        "lines": [line],
        "lead_time_days": 5,
        "valid_until": str(timezone.localdate() + timedelta(days=14)),
        "message": "Thanks!",
    }
    body.update(changes)
    return body


def test_sending_a_quote_makes_the_job_quoted(staff_api, make_job):
    job, _ = make_job()

    response = staff_api.post(f"/jobs/{job.reference}/quotes", _quote(job))

    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["version"]) == ("quoted", 2)
    [quote] = body["quotes"]
    assert (quote["version"], quote["status"], quote["currency"]) == (1, "current", "EUR")
    assert Decimal(quote["total"]) == Decimal("37.50")
    assert quote["message"] == "Thanks!"
    assert quote["lines"][0]["description"] == "Bracket"
    assert Notification.objects.filter(job=job, event="quote_sent", audience="customer").exists()


def test_a_quote_totals_several_lines_in_the_currency_given(staff_api, make_job, catalogue):
    job, _ = make_job()
    resin = {"material_id": catalogue["resin"].pk, "colour": "", "quantity": 2}
    body = _quote(job, currency="gbp")
    body["lines"].append({**body["lines"][0], **resin, "unit_price": "0.99", "file_id": None})

    quote = staff_api.post(f"/jobs/{job.reference}/quotes", body).json()["quotes"][0]

    assert quote["currency"] == "GBP"
    assert Decimal(quote["total"]) == Decimal("39.48")
    assert [line["material"] for line in quote["lines"]] == ["PLA", "Tough resin"]


@pytest.mark.parametrize("state", [JobState.QUOTED, JobState.QUOTE_DECLINED])
def test_a_revised_quote_supersedes_the_previous_one(staff_api, make_job, state):
    job, _ = make_job(state)

    response = staff_api.post(
        f"/jobs/{job.reference}/quotes", _quote(job, line={"unit_price": "10.00"})
    )

    assert response.status_code == 201
    quotes = response.json()["quotes"]
    assert [(q["version"], q["status"]) for q in quotes] == [
        (2, "current"),
        (1, "superseded" if state == JobState.QUOTED else "declined"),
    ]
    assert response.json()["state"] == "quoted"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lines": []}, "A quote needs at least one line."),
        ({"currency": "EURO"}, "Currency is a three-letter code such as EUR."),
        ({"lead_time_days": 400}, "Lead time is between 0 and 365 days."),
        ({"lead_time_days": -1}, "Lead time is between 0 and 365 days."),
        ({"valid_until": "2001-01-01"}, "The quote would already have expired."),
        ({"line": {"quantity": 0}}, "Quantity must be between 1 and 100000."),
        ({"line": {"unit_price": "-1.00"}}, "Unit prices are between 0 and 99,999,999.99."),
        ({"line": {"description": "   "}}, "Every line needs a description."),
        ({"line": {"colour": "gold"}}, "PLA comes in: black, white."),
        ({"line": {"material_id": 999999}}, "Choose one of the bureau's materials."),
    ],
)
def test_an_invalid_quote_is_a_422_and_sends_nothing(staff_api, make_job, changes, message):
    job, _ = make_job()
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/quotes", _quote(job, **changes))

    assert response.status_code == 422
    assert response.json()["message"] == message
    assert snapshot(job) == before


def test_a_price_with_more_than_two_decimals_is_a_422(staff_api, make_job):
    job, _ = make_job()

    response = staff_api.post(
        f"/jobs/{job.reference}/quotes", _quote(job, line={"unit_price": "1.005"})
    )

    assert response.status_code == 422
    assert response.json()["message"].startswith("lines.0.unit_price: ")


def test_a_quote_line_for_another_jobs_file_is_refused(staff_api, make_job):
    job, _ = make_job()
    other, _ = make_job()
    before = snapshot(job)

    response = staff_api.post(
        f"/jobs/{job.reference}/quotes", _quote(job, line={"file_id": other.files.get().pk})
    )

    assert response.status_code == 422
    assert response.json()["message"] == "A quote line names a file of another job."
    assert snapshot(job) == before


def test_a_quote_for_an_inactive_material_is_refused(staff_api, make_job, catalogue):
    job, _ = make_job()
    Material.objects.filter(pk=catalogue["pla"].pk).update(active=False)

    response = staff_api.post(f"/jobs/{job.reference}/quotes", _quote(job))

    assert response.status_code == 422


@pytest.mark.parametrize(
    "state",
    [JobState.ACCEPTED, JobState.IN_PRODUCTION, JobState.DECLINED, JobState.DISPATCHED],
)
def test_a_quote_is_refused_once_the_job_is_past_quoting(staff_api, make_job, state):
    job, _ = make_job(state)
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/quotes", _quote(job))

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "is not possible now" in response.json()["message"]
    assert snapshot(job) == before


def test_staff_accept_the_quote_on_the_customers_behalf(staff_api, make_job):
    job, _ = make_job(JobState.QUOTED)

    response = staff_api.post(f"/jobs/{job.reference}/accept", {"quote_version": 1})

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "accepted"
    assert body["quotes"][0]["status"] == "accepted"
    assert body["quotes"][0]["decided_at"] is not None
    assert body["audit"][-1]["event"] == "quote_accepted"
    assert body["audit"][-1]["actor"] == "olga"


def test_accepting_a_version_that_is_not_current_is_a_409(staff_api, make_job):
    job, _ = make_job(JobState.QUOTED)
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/accept", {"quote_version": 2})

    assert response.status_code == 409
    assert response.json()["message"] == (
        "Quote version 2 is no longer open. The current quote is version 1."
    )
    assert snapshot(job) == before


def test_accepting_an_expired_quote_is_a_409(staff_api, make_job, clock):
    job, _ = make_job(JobState.QUOTED)
    clock.advance(days=15)  # the quote was valid for 14 days
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/accept", {"quote_version": 1})

    assert response.status_code == 409
    assert "expired" in response.json()["message"]
    assert snapshot(job) == before


def test_declining_a_request_records_the_reason(staff_api, make_job):
    job, _ = make_job()

    response = staff_api.post(
        f"/jobs/{job.reference}/decline", {"reason": "We do not print in titanium."}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "declined"
    assert body["audit"][-1]["details"] == {"reason": "We do not print in titanium."}
    assert Notification.objects.filter(job=job, event="request_declined").exists()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_declining_needs_a_reason_of_sensible_length(staff_api, make_job, reason):
    job, _ = make_job()
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/decline", {"reason": reason})

    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    assert snapshot(job) == before


def test_a_quoted_request_can_no_longer_be_declined(staff_api, make_job):
    job, _ = make_job(JobState.QUOTED)

    response = staff_api.post(f"/jobs/{job.reference}/decline", {"reason": "Changed our mind"})

    assert response.status_code == 409


def test_a_quote_whose_total_is_too_large_to_keep_is_a_422(staff_api, make_job):
    job, _ = make_job()
    before = snapshot(job)
    huge = _quote(job, line={"quantity": 100_000, "unit_price": "99999999.99"})

    response = staff_api.post(f"/jobs/{job.reference}/quotes", huge)

    assert response.status_code == 422
    assert snapshot(job) == before
