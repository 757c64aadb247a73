"""Internal notes: the bureau's memory of a job, in any state, never shown to the customer."""

import pytest

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification
from tests.api.conftest import snapshot


def test_a_note_is_kept_with_its_author(staff_api, make_job):
    job, _ = make_job()

    response = staff_api.post(f"/jobs/{job.reference}/notes", {"body": "  Rush job.  "})

    assert response.status_code == 201
    body = response.json()
    [note] = body["internal_notes"]
    assert (note["author"], note["body"]) == ("olga", "Rush job.")
    assert body["state"] == "submitted"
    assert body["audit"][-1]["event"] == "note_added"


def test_a_note_emails_nobody(staff_api, make_job):
    job, _ = make_job()
    before = Notification.objects.filter(job=job).count()

    staff_api.post(f"/jobs/{job.reference}/notes", {"body": "Internal only."})

    assert Notification.objects.filter(job=job).count() == before


@pytest.mark.parametrize("state", [JobState.DECLINED, JobState.CANCELLED, JobState.DISPATCHED])
def test_notes_can_be_added_after_a_job_ends(staff_api, make_job, state):
    job, _ = make_job(state)

    response = staff_api.post(f"/jobs/{job.reference}/notes", {"body": "Invoice sent."})

    assert response.status_code == 201
    assert response.json()["state"] == state


def test_the_customer_never_sees_a_note(staff_api, customer_api, make_job):
    job, secret = make_job()
    staff_api.post(f"/jobs/{job.reference}/notes", {"body": "Haggles a lot."})

    response = customer_api(secret).get("/customer/job")

    assert "Haggles" not in response.content.decode()
    assert "note_added" not in response.content.decode()


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_note_is_refused(staff_api, make_job, text):
    job, _ = make_job()
    before = snapshot(job)

    response = staff_api.post(f"/jobs/{job.reference}/notes", {"body": text})

    assert response.status_code == 422
    assert response.json()["message"] == "The note is empty."
    assert snapshot(job) == before


def test_an_overlong_note_is_refused(staff_api, make_job):
    job, _ = make_job()

    response = staff_api.post(f"/jobs/{job.reference}/notes", {"body": "x" * 10001})

    assert response.status_code == 422
    assert response.json()["message"].startswith("body: ")
