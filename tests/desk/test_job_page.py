"""The operator's job page: what it shows in each state, who may open it, and the downloads."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from printdesk.files.models import FileVersion
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import RunState
from printdesk.notifications.models import Notification
from tests.conftest import stl_upload

SEND = "Send quote"
PREVIEW = "Preview"
ACCEPT = "Accept on the customer's behalf"
DECLINE = "Decline request"
START = "Start production"
ADD_RUNS = "Add runs"
READY = "Mark ready"
DISPATCH = "Dispatch"
CANCEL = "Cancel job"
ROTATE = "Replace the link and email it"
UPLOAD = "Upload file"
NOTE = "Add note"

ALWAYS = {ROTATE, NOTE}
BUTTONS = {
    JobState.SUBMITTED: {SEND, PREVIEW, DECLINE, UPLOAD, CANCEL} | ALWAYS,
    JobState.QUOTED: {SEND, PREVIEW, ACCEPT, UPLOAD, CANCEL} | ALWAYS,
    JobState.QUOTE_DECLINED: {SEND, PREVIEW, CANCEL} | ALWAYS,
    JobState.ACCEPTED: {START, UPLOAD, CANCEL} | ALWAYS,
    JobState.IN_PRODUCTION: {ADD_RUNS, READY, CANCEL} | ALWAYS,
    JobState.READY: {DISPATCH, CANCEL} | ALWAYS,
    JobState.DISPATCHED: ALWAYS,
    JobState.CANCELLED: ALWAYS,
    JobState.DECLINED: ALWAYS,
}


def page_url(job) -> str:
    return reverse("desk:job", args=[job.reference])


def buttons(response) -> set[str]:
    """The texts of the page's buttons (hidden helper text included), the desk's nav left out."""
    html = response.content.decode()
    texts = {
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r"<button[^>]*>(.*?)</button>", html, re.S)
    }
    return texts - {"Log out", "Add a line", "Add a row"}


# --- what the page shows ----------------------------------------------------------------------


@pytest.mark.parametrize("state", list(JobState))
def test_it_offers_exactly_the_actions_of_the_state(desk, make_job, state):
    job, _ = make_job(state)

    response = desk.get(page_url(job))

    assert response.status_code == 200
    assert buttons(response) == BUTTONS[state]
    assert f'class="badge state-{state}"' in response.content.decode()


def test_it_shows_the_job_the_customer_and_the_trail(desk, make_job):
    job, _ = make_job(
        JobState.QUOTED,
        customer_phone="+44 20 7946 0000",
        customer_company="Acme Rockets",
        notes="Please keep the support marks small.",
    )

    html = desk.get(page_url(job)).content.decode()

    assert f"<h1>{job.reference}" in html
    assert "3 \N{MULTIPLICATION SIGN} PLA, black for Cara Customer (Acme Rockets)" in html
    assert '<a href="mailto:cara@example.com">cara@example.com</a>' in html
    assert "+44 20 7946 0000" in html
    assert "Please keep the support marks small." in html
    assert "Submitted → Quoted" in html
    assert "Quote v1: EUR 37.50" in html
    assert "Files: part.stl" in html
    assert html.count("<h1") == 1


def test_it_lists_every_file_version_with_a_download(desk, make_job, operator):
    job, _ = make_job(JobState.SUBMITTED)
    job_file = job.files.get()
    actions.revise_file(
        job=job,
        actor=Actor.staff(operator),
        upload=stl_upload("part-v2.stl"),
        job_file_id=job_file.pk,
    )

    html = desk.get(page_url(job)).content.decode()

    for version in FileVersion.objects.filter(job_file=job_file):
        assert reverse("desk:file_download", args=[version.pk]) in html
    assert "part-v2.stl" in html
    assert 'Download <span class="visually-hidden">part.stl </span>v2' in html


def test_it_prefills_one_quote_line_per_file(desk, make_job):
    job, _ = make_job(
        JobState.SUBMITTED, quantity=4, files=[stl_upload("arm.stl"), stl_upload("leg.stl")]
    )

    html = desk.get(page_url(job)).content.decode()

    assert 'name="lines-0-description" value="arm.stl"' in html
    assert 'name="lines-1-description" value="leg.stl"' in html
    assert 'name="lines-0-quantity" value="4"' in html
    assert 'name="lines-1-colour" value="black"' in html
    assert 'name="quote-currency" value="EUR"' in html
    # Two spare lines come with the job's material and colour, and one part.
    assert 'name="lines-TOTAL_FORMS" value="4"' in html
    assert 'name="lines-3-quantity" value="1"' in html
    assert 'name="lines-3-colour" value="black"' in html
    assert 'name="lines-3-description" maxlength' in html  # no description: ignored if left


def test_it_shows_the_notifications_panel(desk, make_job):
    job, _ = make_job(JobState.QUOTED)
    Notification.objects.filter(job=job).update(
        state="failed", attempts=2, last_error="SMTP said no"
    )

    html = desk.get(page_url(job)).content.decode()

    assert '<h2 id="notifications-heading">Notifications</h2>' in html
    assert "Quote sent" in html
    assert "cara@example.com" in html
    assert "SMTP said no" in html
    assert "Failed, will retry" in html


def test_it_shows_what_is_still_owed_and_done(desk, make_job, operator, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=5)
    staff = Actor.staff(operator)
    run = actions.add_run(job=job, actor=staff, quantity=3, printer_id=catalogue["mk4"].pk)
    actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)

    html = desk.get(page_url(job)).content.decode()

    assert "<dt>Still owed</dt><dd>2 " in html
    assert "<dt>Done</dt><dd>3 of 5</dd>" in html
    assert "Prusa MK4" in html
    assert 'name="runs-0-quantity" value="2"' in html
    assert re.search(r"<button[^>]*disabled[^>]*>Mark ready</button>", html)


@pytest.mark.parametrize("alias", ["pd{pk}", "{pk}", "PD-{pk}", "pd-000{pk}"])
def test_it_sends_other_spellings_of_the_reference_to_the_page(desk, make_job, alias):
    job, _ = make_job()

    response = desk.get(f"/desk/jobs/{alias.format(pk=job.pk)}/")

    assert response.status_code == 302
    assert response["Location"] == page_url(job)


@pytest.mark.parametrize("reference", ["PD-99999", "nonsense", "PD-", "12345678901234567890"])
def test_it_answers_404_for_a_job_that_does_not_exist(desk, make_job, reference):
    make_job()
    assert desk.get(f"/desk/jobs/{reference}/").status_code == 404


def _busy_job(make_job, operator, catalogue, n: int):
    """A job in production with n files, n runs, n notes and their audit entries."""
    job, _ = make_job(
        JobState.IN_PRODUCTION,
        quantity=n * 2,
        files=[stl_upload(f"part-{i}.stl") for i in range(n)],
    )
    staff = Actor.staff(operator)
    for i in range(n):
        run = actions.add_run(job=job, actor=staff, quantity=1, printer_id=catalogue["mk4"].pk)
        actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.PRINTING)
        actions.add_note(job=job, actor=staff, body=f"Note {i}")
    return job


def test_it_loads_in_the_same_number_of_queries_however_busy_the_job(
    desk, make_job, operator, catalogue
):
    small = _busy_job(make_job, operator, catalogue, 1)
    big = _busy_job(make_job, operator, catalogue, 10)
    desk.get(page_url(small))  # warm the session and the bureau row

    counts = []
    for job in (small, big):
        with CaptureQueriesContext(connection) as queries:
            response = desk.get(page_url(job))
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 20
    assert "part-9.stl" in response.content.decode()


def test_it_loads_a_quoting_job_in_the_same_number_of_queries(desk, make_job, operator):
    one, _ = make_job(JobState.QUOTED, files=[stl_upload()])
    ten, _ = make_job(JobState.QUOTED, files=[stl_upload(f"p{i}.stl") for i in range(10)])
    desk.get(page_url(one))

    counts = []
    for job in (one, ten):
        with CaptureQueriesContext(connection) as queries:
            desk.get(page_url(job))
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- who may open it --------------------------------------------------------------------------


def test_an_admin_may_open_it(client, admin, make_job):
    job, _ = make_job()
    client.force_login(admin)
    assert client.get(page_url(job)).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client, make_job):
    job, _ = make_job()

    response = client.get(page_url(job))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_a_logged_in_non_staff_user_is_refused(client, stranger_user, make_job):
    job, _ = make_job()
    client.force_login(stranger_user)
    assert client.get(page_url(job)).status_code == 403


def test_a_former_operator_is_refused(client, operator, make_job):
    job, _ = make_job()
    client.force_login(operator)
    operator.is_staff = False
    operator.save()
    assert client.get(page_url(job)).status_code == 403


def test_a_deactivated_operator_never_sees_the_page(client, deactivated_operator, make_job):
    job, _ = make_job()
    client.force_login(deactivated_operator)

    response = client.get(page_url(job))

    # Django no longer authenticates an inactive user's session: they are sent to log in.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_the_page_refuses_post(desk, make_job):
    job, _ = make_job()
    assert desk.post(page_url(job)).status_code == 405


# --- downloads --------------------------------------------------------------------------------


def download_url(version: FileVersion) -> str:
    return reverse("desk:file_download", args=[version.pk])


def test_it_downloads_a_file_version_as_an_attachment(desk, make_job):
    job, _ = make_job(files=[stl_upload("bracket (left).stl")])
    version = FileVersion.objects.get(job_file__job=job)

    response = desk.get(download_url(version))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="bracket (left).stl"'
    body = b"".join(response.streaming_content)
    assert body.startswith(b"solid bracket")
    assert len(body) == version.size


def test_it_downloads_for_an_admin(client, admin, make_job):
    job, _ = make_job()
    client.force_login(admin)
    version = FileVersion.objects.get(job_file__job=job)
    assert client.get(download_url(version)).status_code == 200


def test_a_download_is_for_staff_only(client, stranger_user, make_job):
    job, _ = make_job()
    version = FileVersion.objects.get(job_file__job=job)

    anonymous = client.get(download_url(version))
    client.force_login(stranger_user)
    stranger = client.get(download_url(version))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("desk:login"))
    assert stranger.status_code == 403


@pytest.mark.parametrize("version_id", [999_999, 10**30])
def test_an_unknown_file_version_is_404(desk, make_job, version_id):
    make_job()
    assert desk.get(f"/desk/files/{version_id}/download/").status_code == 404


def test_a_download_refuses_post(desk, make_job):
    job, _ = make_job()
    version = FileVersion.objects.get(job_file__job=job)
    assert desk.post(download_url(version)).status_code == 405


def test_a_version_missing_from_storage_is_gone(desk, make_job):
    job, _ = make_job()
    version = FileVersion.objects.get(job_file__job=job)
    version.blob.storage.delete(version.blob.name)

    assert desk.get(download_url(version)).status_code == 410
