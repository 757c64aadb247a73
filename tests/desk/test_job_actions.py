"""Every action of the job page through its form: success, refusals, conflicts, CSRF, methods."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from printdesk.files.models import FileVersion
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job, PrintRun, Quote, RunState, hash_link_secret
from printdesk.notifications.models import Notification
from tests.conftest import stl_upload

ROUTES = [
    "job_send_quote",
    "job_accept",
    "job_decline",
    "job_revise_file",
    "job_start_production",
    "job_add_runs",
    "job_mark_ready",
    "job_dispatch",
    "job_cancel",
    "job_rotate_link",
    "job_add_note",
]


def url(name: str, job, *args) -> str:
    return reverse(f"desk:{name}", args=[job.reference, *args])


def page_url(job) -> str:
    return reverse("desk:job", args=[job.reference])


def fresh(job) -> Job:
    return Job.objects.get(pk=job.pk)


def snapshot(job) -> dict:
    """Everything an action could change: a refused one leaves all of it as it was."""
    job = fresh(job)
    return {
        "state": job.state,
        "version": job.version,
        "link": job.link_hash,
        "audit": AuditEvent.objects.filter(job=job).count(),
        "notifications": Notification.objects.filter(job=job).count(),
        "quotes": list(job.quotes.values_list("version", "status")),
        "runs": list(job.runs.values_list("quantity", "state")),
        "files": FileVersion.objects.filter(job_file__job=job).count(),
        "notes": job.internal_notes.count(),
    }


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def post(client, name: str, job, data: dict | None = None, *args, version: int | None = None):
    """POST a job page form as the page would: with the version it showed."""
    body = {"expected_version": job.version if version is None else version, **(data or {})}
    return client.post(url(name, job, *args), body)


def quote_data(job, price: str = "12.50", **terms) -> dict:
    """The composer as the page offers it, with a price typed into the first line."""
    first = job.files.first()
    data = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "1",
        "lines-0-description": first.name,
        "lines-0-material": str(job.material_id),
        "lines-0-colour": job.colour,
        "lines-0-quantity": str(job.quantity),
        "lines-0-unit_price": price,
        "lines-0-file_id": str(first.pk),
        "quote-currency": "EUR",
        "quote-lead_time_days": "5",
        "quote-valid_until": (timezone.localdate() + timedelta(days=14)).isoformat(),
        "quote-message": "Thanks for asking!",
        "intent": "send",
    }
    data.update({f"quote-{key}": value for key, value in terms.items()})
    return data


@pytest.fixture
def staff(operator) -> Actor:
    return Actor.staff(operator)


# --- quoting ----------------------------------------------------------------------------------


def test_it_sends_the_quote_as_composed(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)

    response = post(desk, "job_send_quote", job, quote_data(job))

    assert response.status_code == 302
    assert response["Location"] == page_url(job)
    assert said(response) == ["Quote v1 sent to cara@example.com."]
    quote = Quote.objects.get(job=job)
    assert fresh(job).state == JobState.QUOTED
    assert quote.total == Decimal("37.50")
    assert quote.message == "Thanks for asking!"
    line = quote.lines.get()
    assert (line.description, line.quantity, line.job_file_id) == (
        "part.stl",
        3,
        job.files.get().pk,
    )


def test_the_preview_shows_what_the_customer_will_see_and_changes_nothing(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    before = snapshot(job)
    data = quote_data(job, price="4.20", intent="preview")
    data["intent"] = "preview"

    response = post(desk, "job_send_quote", job, data)

    assert response.status_code == 200
    assert snapshot(job) == before
    html = response.content.decode()
    preview = html[html.index('id="quote-preview"') : html.index('<details class="composer"')]
    assert "Preview: what the customer will see" in preview
    assert "part.stl" in preview
    assert "EUR 4.20" in preview and "EUR 12.60" in preview  # unit price, then 3 times 4.20
    assert "5 days after acceptance" in preview
    assert "Thanks for asking!" in preview
    # The composer is still filled in, ready to send.
    assert 'name="lines-0-unit_price" value="4.20"' in html
    assert "Thanks for asking!</textarea>" in html


def test_it_ignores_blank_rows_and_drops_removed_lines(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    data = quote_data(job)
    data.update(
        {
            "lines-TOTAL_FORMS": "5",
            # A line added in the page (by the script or a spare row)...
            "lines-1-description": "Support removal",
            "lines-1-material": str(job.material_id),
            "lines-1-colour": "white",
            "lines-1-quantity": "1",
            "lines-1-unit_price": "5",
            # ...one filled in and then removed...
            "lines-2-description": "Rush fee",
            "lines-2-material": str(job.material_id),
            "lines-2-quantity": "1",
            "lines-2-unit_price": "99",
            "lines-2-DELETE": "on",
            # ...and spare lines left as the page offered them.
            "lines-3-material": str(job.material_id),
            "lines-3-colour": "black",
            "lines-3-quantity": "1",
        }
    )

    response = post(desk, "job_send_quote", job, data)

    assert response.status_code == 302
    quote = Quote.objects.get(job=job)
    assert [line.description for line in quote.lines.all()] == ["part.stl", "Support removal"]
    assert quote.total == Decimal("42.50")


def test_a_line_without_a_price_keeps_every_input(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    before = snapshot(job)

    response = post(desk, "job_send_quote", job, quote_data(job, price=""))

    assert response.status_code == 422
    assert snapshot(job) == before
    html = response.content.decode()
    assert 'id="id_lines-0-unit_price_error"' in html
    assert 'aria-describedby="id_lines-0-unit_price_error"' in html
    assert 'name="lines-0-description" value="part.stl"' in html
    assert 'name="quote-lead_time_days" value="5"' in html
    assert "Thanks for asking!</textarea>" in html


def test_the_actions_refusal_is_shown_beside_its_field(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    before = snapshot(job)

    response = post(desk, "job_send_quote", job, quote_data(job, currency="E1R"))

    assert response.status_code == 422
    assert snapshot(job) == before
    html = response.content.decode()
    assert re.search(r'id="id_quote-currency_error">Currency is a three-letter code', html)
    assert 'name="lines-0-unit_price" value="12.50"' in html


def test_a_colour_the_material_lacks_is_refused_for_the_lines(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    data = quote_data(job)
    data["lines-0-colour"] = "purple"

    response = post(desk, "job_send_quote", job, data)

    assert response.status_code == 422
    assert "PLA comes in: black, white." in response.content.decode()
    assert 'name="lines-0-colour" value="purple"' in response.content.decode()
    assert not Quote.objects.filter(job=job).exists()


def test_a_quote_with_no_lines_is_refused(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    data = quote_data(job)
    data["lines-0-DELETE"] = "on"

    response = post(desk, "job_send_quote", job, data)

    assert response.status_code == 422
    assert "A quote needs at least one line." in response.content.decode()


def test_a_revised_quote_supersedes_and_the_page_lists_every_version(
    desk, make_job, clock, operator
):
    job, _ = make_job(JobState.QUOTED)

    response = post(desk, "job_send_quote", job, quote_data(job, price="10"))
    assert said(response) == ["Quote v2 sent to cara@example.com."]
    clock.advance(days=15)
    desk.force_login(operator)  # the session has expired meanwhile
    html = desk.get(page_url(job)).content.decode()

    assert 'Quote v2 <span class="badge quote-expired">Expired</span>' in html
    assert 'Quote v1 <span class="badge quote-superseded">Superseded</span>' in html
    assert "Quote v2 expired on" in html  # no accept button for an expired quote
    assert "Accept on the customer&#x27;s behalf" not in html


def test_a_preview_after_the_job_changed_says_so(desk, make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    shown = job.version
    actions.cancel(job=job, actor=staff, reason="Customer phoned")
    data = quote_data(job)
    data["intent"] = "preview"

    response = post(desk, "job_send_quote", job, data, version=shown)

    assert response.status_code == 302
    assert said(response) == [f"{job.reference} changed since you loaded it; it is now Cancelled."]


def test_it_accepts_on_the_customers_behalf(desk, make_job):
    job, _ = make_job(JobState.QUOTED)

    response = post(desk, "job_accept", job, {"quote_version": "1"})

    assert response.status_code == 302
    assert said(response) == ["Quote v1 accepted on the customer's behalf."]
    assert fresh(job).state == JobState.ACCEPTED
    assert AuditEvent.objects.filter(job=job).last().actor_user.username == "olga"


def test_accepting_an_old_quote_version_is_refused(desk, make_job, staff):
    job, _ = make_job(JobState.QUOTED)
    before = snapshot(job)

    response = post(desk, "job_accept", job, {"quote_version": "7"})

    assert response.status_code == 302
    assert said(response) == ["Quote version 7 is no longer open. The current quote is version 1."]
    assert snapshot(job) == before


def test_it_declines_a_request_with_a_reason(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)

    response = post(desk, "job_decline", job, {"decline-reason": "We cannot print that size."})

    assert response.status_code == 302
    assert fresh(job).state == JobState.DECLINED
    assert AuditEvent.objects.filter(job=job).last().details == {
        "reason": "We cannot print that size."
    }


def test_declining_needs_a_reason(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    before = snapshot(job)

    response = post(desk, "job_decline", job, {"decline-reason": "   "})

    assert response.status_code == 422
    assert snapshot(job) == before
    html = response.content.decode()
    assert '<details class="confirm" open>' in html
    assert 'id="id_decline-reason_error"' in html


def test_an_operator_uploads_a_revised_file_and_the_job_needs_a_new_quote(desk, make_job):
    job, _ = make_job(JobState.QUOTED)
    job_file = job.files.get()

    response = post(
        desk,
        "job_revise_file",
        job,
        {"revision-file": stl_upload("part-fixed.stl"), "revision-file_id": str(job_file.pk)},
    )

    assert response.status_code == 302
    assert said(response) == ["Version 2 of part-fixed.stl added. The job needs a new quote."]
    assert fresh(job).state == JobState.SUBMITTED
    assert job_file.versions.count() == 2


def test_a_file_that_cannot_be_printed_is_refused_beside_the_file(desk, make_job):
    job, _ = make_job(JobState.SUBMITTED)
    before = snapshot(job)
    upload = stl_upload("notes.txt", content=b"hello")

    response = post(desk, "job_revise_file", job, {"revision-file": upload})

    assert response.status_code == 422
    assert snapshot(job) == before
    assert 'id="id_revision-file_error">notes.txt: only' in response.content.decode()


# --- production -------------------------------------------------------------------------------


def test_it_starts_production(desk, make_job):
    job, _ = make_job(JobState.ACCEPTED)

    response = post(desk, "job_start_production", job)

    assert response.status_code == 302
    assert fresh(job).state == JobState.IN_PRODUCTION


def runs_data(*rows: tuple[object, int | str]) -> dict:
    data = {"runs-TOTAL_FORMS": str(max(len(rows), 3)), "runs-INITIAL_FORMS": "1"}
    for index, (printer, quantity) in enumerate(rows):
        data[f"runs-{index}-printer"] = "" if printer is None else str(printer.pk)
        data[f"runs-{index}-quantity"] = str(quantity)
    return data


def test_it_splits_the_quantity_over_two_printers(desk, make_job, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=5)

    response = post(
        desk, "job_add_runs", job, runs_data((catalogue["mk4"], 3), (catalogue["form"], 2))
    )

    assert response.status_code == 302
    assert said(response) == ["2 runs added for 5 part(s)."]
    runs = list(PrintRun.objects.filter(job=job).values_list("printer__name", "quantity", "state"))
    assert runs == [("Prusa MK4", 3, "queued"), ("Form 3", 2, "queued")]
    assert fresh(job).version == job.version + 2


def test_planning_more_than_is_owed_adds_no_run_at_all(desk, make_job, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=3)
    before = snapshot(job)

    response = post(desk, "job_add_runs", job, runs_data((catalogue["mk4"], 2), (None, 2)))

    assert response.status_code == 422
    assert snapshot(job) == before
    html = response.content.decode()
    assert (
        f'id="id_runs-1-quantity_error">Only 1 more part(s) can be planned for {job.reference}.'
        in html
    )
    assert 'name="runs-0-quantity" value="2"' in html


def test_adding_runs_needs_a_quantity(desk, make_job, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION)

    response = post(desk, "job_add_runs", job, runs_data())

    assert response.status_code == 422
    assert "Give the quantity of at least one run." in response.content.decode()


def test_a_run_prints_and_is_done_and_only_then_the_job_is_ready(desk, make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=2)
    run = actions.add_run(job=job, actor=staff, quantity=2)

    def step(name: str, *args, **data) -> list[str]:
        response = post(desk, name, fresh(job), data, *args)
        assert response.status_code == 302
        return said(desk.get(page_url(job)))  # the page shows, and so uses up, the message

    assert step("job_move_run", run.pk, state="printing") == [
        "The run of 2 part(s) is now printing."
    ]
    assert step("job_mark_ready") == [f"{job.reference} still owes 2 of 2 parts."]
    assert fresh(job).state == JobState.IN_PRODUCTION
    assert step("job_move_run", run.pk, state="done") == ["The run of 2 part(s) is now done."]
    assert '<button type="submit">Mark ready</button>' in desk.get(page_url(job)).content.decode()
    assert step("job_mark_ready") == [f"{job.reference} is ready; the customer is told."]
    assert fresh(job).state == JobState.READY


def test_a_failed_runs_parts_are_owed_again(desk, make_job, staff, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=4)
    run = actions.add_run(job=job, actor=staff, quantity=4, printer_id=catalogue["mk4"].pk)

    response = post(desk, "job_move_run", job, {"state": "failed"}, run.pk)
    html = desk.get(page_url(job)).content.decode()

    assert said(response) == ["The run of 4 part(s) is now failed. Its 4 part(s) are owed again."]
    assert PrintRun.objects.get(pk=run.pk).state == RunState.FAILED
    assert "<dt>Still owed</dt><dd>4 " in html
    assert 'name="runs-0-quantity" value="4"' in html


def test_a_finished_run_cannot_move_on(desk, make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)
    before = snapshot(job)

    response = post(desk, "job_move_run", fresh(job), {"state": "failed"}, run.pk)

    assert said(response) == ["A run that is done cannot become failed."]
    assert snapshot(job) == before


def test_a_run_of_another_job_is_404(desk, make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    other, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=other, actor=staff, quantity=1)

    assert post(desk, "job_move_run", job, {"state": "done"}, run.pk).status_code == 404


def test_a_run_state_that_does_not_exist_is_a_bad_request(desk, make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)

    assert post(desk, "job_move_run", fresh(job), {"state": "melted"}, run.pk).status_code == 400


# --- dispatch, cancel, link, notes --------------------------------------------------------------


def test_it_dispatches_with_a_carrier_and_tracking(desk, make_job):
    job, _ = make_job(JobState.READY)

    response = post(
        desk,
        "job_dispatch",
        job,
        {
            "dispatch-method": "carrier",
            "dispatch-carrier": "DHL",
            "dispatch-tracking_number": "JD1",
        },
    )

    assert response.status_code == 302
    job = fresh(job)
    assert job.state == JobState.DISPATCHED
    assert (job.dispatch.carrier, job.dispatch.tracking_number) == ("DHL", "JD1")
    assert "Shipped with DHL" in desk.get(page_url(job)).content.decode()


def test_it_records_a_hand_over(desk, make_job):
    job, _ = make_job(JobState.READY)

    post(desk, "job_dispatch", job, {"dispatch-method": "hand_over"})

    assert fresh(job).dispatch.method == "hand_over"


def test_a_carrier_dispatch_needs_the_carrier_and_keeps_the_tracking(desk, make_job):
    job, _ = make_job(JobState.READY)
    before = snapshot(job)

    response = post(
        desk,
        "job_dispatch",
        job,
        {"dispatch-method": "carrier", "dispatch-tracking_number": "T-77"},
    )

    assert response.status_code == 422
    assert snapshot(job) == before
    html = response.content.decode()
    assert 'id="id_dispatch-carrier_error">Name the carrier.' in html
    assert 'value="T-77"' in html


def test_it_cancels_with_a_reason(desk, make_job):
    job, _ = make_job(JobState.IN_PRODUCTION)

    response = post(desk, "job_cancel", job, {"cancel-reason": "Printer on fire"})

    assert response.status_code == 302
    assert fresh(job).state == JobState.CANCELLED


def test_cancelling_needs_a_reason(desk, make_job):
    job, _ = make_job(JobState.ACCEPTED)

    response = post(desk, "job_cancel", job, {})

    assert response.status_code == 422
    assert fresh(job).state == JobState.ACCEPTED


def test_it_sends_the_customer_a_new_link(desk, make_job):
    job, secret = make_job(JobState.DISPATCHED)

    response = post(desk, "job_rotate_link", job)

    assert response.status_code == 302
    assert said(response) == [
        "A new private link was emailed to cara@example.com; the old one is dead."
    ]
    assert fresh(job).link_hash != hash_link_secret(secret)
    assert AuditEvent.objects.filter(job=job).last().event == "link_rotated"
    assert Notification.objects.filter(job=job).last().event == "link_rotated"


def test_it_adds_an_internal_note(desk, make_job):
    job, _ = make_job(JobState.CANCELLED)

    response = post(desk, "job_add_note", job, {"note-body": "Refund agreed by phone."})

    assert response.status_code == 302
    assert fresh(job).internal_notes.get().body == "Refund agreed by phone."
    assert "Refund agreed by phone." in desk.get(page_url(job)).content.decode()


def test_an_empty_note_is_refused(desk, make_job):
    job, _ = make_job()

    response = post(desk, "job_add_note", job, {"note-body": ""})

    assert response.status_code == 422
    assert 'id="id_note-body_error"' in response.content.decode()


# --- conflicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "name", "data"),
    [
        (JobState.SUBMITTED, "job_decline", {"decline-reason": "No"}),
        (JobState.SUBMITTED, "job_cancel", {"cancel-reason": "No"}),
        (JobState.QUOTED, "job_accept", {"quote_version": "1"}),
        (JobState.ACCEPTED, "job_start_production", {}),
        (JobState.IN_PRODUCTION, "job_add_runs", runs_data((None, 1))),
        (JobState.READY, "job_dispatch", {"dispatch-method": "hand_over"}),
        (JobState.READY, "job_rotate_link", {}),
    ],
)
def test_a_page_loaded_before_someone_else_acted_changes_nothing(
    desk, make_job, operator, state, name, data
):
    job, _ = make_job(state)
    shown = job.version
    actions.add_note(job=job, actor=Actor.staff(operator), body="Someone else was here")
    before = snapshot(job)

    response = post(desk, name, job, data, version=shown)

    assert response.status_code == 302
    assert response["Location"] == page_url(job)
    label = JobState(state).label
    assert said(response) == [f"{job.reference} changed since you loaded it; it is now {label}."]
    assert snapshot(job) == before


def test_a_quote_from_a_stale_page_is_not_sent(desk, make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    shown = job.version
    actions.add_note(job=job, actor=staff, body="Customer phoned")
    before = snapshot(job)

    response = post(desk, "job_send_quote", job, quote_data(job), version=shown)

    assert said(response) == [f"{job.reference} changed since you loaded it; it is now Submitted."]
    assert snapshot(job) == before


def test_an_action_the_state_no_longer_allows_is_refused_with_a_message(desk, make_job):
    job, _ = make_job(JobState.CANCELLED)

    response = post(desk, "job_start_production", job)

    assert response.status_code == 302
    assert said(response) == [
        f"{job.reference} is cancelled: “Start production” is not possible now."
    ]


def test_a_form_without_the_job_version_is_a_bad_request(desk, make_job):
    job, _ = make_job(JobState.ACCEPTED)

    response = desk.post(url("job_start_production", job), {})

    assert response.status_code == 400
    assert fresh(job).state == JobState.ACCEPTED


# --- who may act, and how ---------------------------------------------------------------------


def test_an_admin_may_act(client, admin, make_job):
    job, _ = make_job(JobState.ACCEPTED)
    client.force_login(admin)

    post(client, "job_start_production", job)

    assert fresh(job).state == JobState.IN_PRODUCTION


@pytest.mark.parametrize("name", ROUTES)
def test_an_anonymous_post_is_sent_to_log_in(client, make_job, name):
    job, _ = make_job(JobState.READY)
    before = snapshot(job)

    response = post(client, name, job, {"cancel-reason": "x", "decline-reason": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))
    assert snapshot(job) == before


@pytest.mark.parametrize("name", ROUTES)
def test_a_non_staff_user_may_not_act(client, stranger_user, make_job, name):
    job, _ = make_job(JobState.READY)
    client.force_login(stranger_user)
    before = snapshot(job)

    response = post(client, name, job, {"cancel-reason": "x", "note-body": "x"})

    assert response.status_code == 403
    assert snapshot(job) == before


def test_a_deactivated_operator_may_not_act(client, deactivated_operator, make_job):
    job, _ = make_job(JobState.READY)
    client.force_login(deactivated_operator)

    response = post(client, "job_cancel", job, {"cancel-reason": "x"})

    assert response.status_code == 302
    assert fresh(job).state == JobState.READY


@pytest.mark.parametrize("name", [*ROUTES, "job_move_run"])
def test_a_get_on_an_action_is_refused(desk, make_job, staff, name):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    args = [run.pk] if name == "job_move_run" else []

    assert desk.get(url(name, job, *args)).status_code == 405


@pytest.mark.parametrize("name", ROUTES)
def test_an_action_on_a_job_that_does_not_exist_is_404(desk, make_job, name):
    job, _ = make_job()
    job.pk = 999_999

    assert desk.post(url(name, job), {"expected_version": "1"}).status_code == 404


@pytest.mark.parametrize("name", [*ROUTES, "job_move_run"])
def test_every_action_needs_the_csrf_token(operator, make_job, staff, name):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    before = snapshot(job)
    args = [run.pk] if name == "job_move_run" else []

    response = browser.post(
        url(name, job, *args), {"expected_version": fresh(job).version, "state": "done"}
    )

    assert response.status_code == 403
    assert snapshot(job) == before


def test_a_browser_holding_the_pages_token_can_act(operator, make_job):
    job, _ = make_job(JobState.ACCEPTED)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    page = browser.get(page_url(job)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)

    response = browser.post(
        url("job_start_production", job),
        {"csrfmiddlewaretoken": token, "expected_version": version},
    )

    assert response.status_code == 302
    assert fresh(job).state == JobState.IN_PRODUCTION
