"""The whole journey in a real browser: a customer's request to dispatch, and its side roads.

The customer and the operator each have a browser context of their own (no shared cookies);
both drive the pages by their labels and button texts, as people do.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from tests.browser.conftest import log_in
from tests.conftest import SAMPLES

pytestmark = pytest.mark.django_db(transaction=True)

CUBE = SAMPLES / "20mm-xyz-cube.stl"


def press(page: Page, button: Locator) -> None:
    """Click a button that submits a form, and wait for the page that answers it."""
    with page.expect_navigation():
        button.click()


def submit_request(page: Page, *, quantity: int = 4) -> str:
    """Fill the request form with the sample cube; returns the private link's path."""
    page.goto("/")
    page.get_by_label("Your name").fill("Cara Customer")
    page.get_by_label("Email address").fill("cara@example.com")
    page.get_by_label("Company (optional)").fill("Cara Robotics")
    page.get_by_label("Material").select_option(label="PLA — Everyday plastic")
    page.get_by_label("Colour").select_option("black")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_label("Notes (optional)").fill("Sharp edges please.")
    page.get_by_label("Print files").set_input_files(CUBE)
    press(page, page.get_by_role("button", name="Send request"))
    expect(page.get_by_role("heading", name="Thank you: your request is in")).to_be_visible()
    link = page.locator("a[data-private-link]").get_attribute("href")
    assert link is not None
    return urlsplit(link).path


def customer_sees(page: Page, link: str, state: JobState, *texts: str) -> None:
    page.goto(link)
    expect(page.locator("#state-heading")).to_contain_text(state.label)
    for text in texts:
        expect(page.locator("main")).to_contain_text(text)


def open_job(page: Page, reference: str) -> None:
    page.goto("/desk/")
    page.get_by_role("link", name=reference, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def send_quote(page: Page, unit_price: str, lead_time: str = "5") -> None:
    line = page.get_by_role("group", name="Line 1")
    line.get_by_label("Unit price").fill(unit_price)
    page.get_by_label("Lead time (days)").fill(lead_time)
    press(page, page.get_by_role("button", name="Preview"))
    expect(page.get_by_text("Preview: what the customer will see")).to_be_visible()
    press(page, page.get_by_role("button", name="Send quote", exact=True))
    expect(page.locator(".messages")).to_contain_text("Quote")


def the_job() -> Job:
    return Job.objects.get(customer_email="cara@example.com")


def test_a_request_goes_from_the_form_to_dispatch(page, staff_page, catalogue, operator):
    link = submit_request(page)
    job = the_job()
    customer_sees(page, link, JobState.SUBMITTED, "20mm-xyz-cube.stl")

    log_in(staff_page, "olga", "pw-olga")
    open_job(staff_page, job.reference)
    send_quote(staff_page, "12.50")
    customer_sees(page, link, JobState.QUOTED, "50.00")  # 4 x 12.50

    press(page, page.get_by_role("button", name="Accept quote"))
    customer_sees(page, link, JobState.ACCEPTED)

    staff_page.reload()
    press(staff_page, staff_page.get_by_role("button", name="Start production"))
    customer_sees(page, link, JobState.IN_PRODUCTION)

    # Split across two printers, two parts each.
    staff_page.get_by_role("group", name="New run 1").get_by_label("Printer").select_option(
        label="Prusa MK4"
    )
    staff_page.get_by_role("group", name="New run 1").get_by_label("Quantity").fill("2")
    staff_page.get_by_role("button", name="Add a row").click()
    second = staff_page.get_by_role("group", name="New run 2")
    second.get_by_label("Printer").select_option(label="Form 3")
    second.get_by_label("Quantity").fill("2")
    press(staff_page, staff_page.get_by_role("button", name="Add runs"))
    runs = list(job.runs.order_by("id"))
    assert [run.quantity for run in runs] == [2, 2]

    # The page numbers a job's runs 1, 2, 3... in the order they were added.
    press(staff_page, staff_page.get_by_role("button", name="Run 1: Printing"))
    press(staff_page, staff_page.get_by_role("button", name="Run 1: Done"))
    press(staff_page, staff_page.get_by_role("button", name="Run 2: Failed"))
    expect(staff_page.locator("main")).to_contain_text(re.compile(r"Still owed\W*2"))

    # The failed run's two parts are printed again.
    staff_page.get_by_role("group", name="New run 1").get_by_label("Quantity").fill("2")
    press(staff_page, staff_page.get_by_role("button", name="Add runs"))
    reprint = job.runs.order_by("id").last()
    assert reprint is not None and reprint.pk not in {run.pk for run in runs}
    press(staff_page, staff_page.get_by_role("button", name="Run 3: Done"))
    press(staff_page, staff_page.get_by_role("button", name="Mark ready"))
    customer_sees(page, link, JobState.READY)

    staff_page.get_by_label("Post or courier").check()
    staff_page.get_by_label("Carrier").fill("DHL")
    staff_page.get_by_label("Tracking number").fill("JD0146000012345")
    press(staff_page, staff_page.get_by_role("button", name="Dispatch", exact=True))
    expect(staff_page.locator("main")).to_contain_text(JobState.DISPATCHED.label)
    customer_sees(page, link, JobState.DISPATCHED, "DHL", "JD0146000012345")

    job.refresh_from_db()
    assert job.state == JobState.DISPATCHED
    # Submitted, quoted, accepted, started, three runs added, four run moves, ready, dispatched.
    assert job.audit_events.count() == 13


def test_a_revised_file_sends_the_job_back_for_a_new_quote(page, staff_page, catalogue, operator):
    link = submit_request(page, quantity=2)
    job = the_job()
    log_in(staff_page, "olga", "pw-olga")
    open_job(staff_page, job.reference)
    send_quote(staff_page, "10.00")
    customer_sees(page, link, JobState.QUOTED, "Your quote (version 1)")

    page.get_by_text("Upload a revised file").click()
    page.get_by_label("Which file does it replace?").select_option(index=0)
    page.get_by_label("Revised file").set_input_files(CUBE)
    press(page, page.get_by_role("button", name="Upload revised file"))
    customer_sees(page, link, JobState.SUBMITTED)
    expect(page.get_by_role("button", name="Accept quote")).to_have_count(0)

    staff_page.reload()
    send_quote(staff_page, "9.00")
    customer_sees(page, link, JobState.QUOTED, "Your quote (version 2)", "18.00")
    press(page, page.get_by_role("button", name="Accept quote"))
    customer_sees(page, link, JobState.ACCEPTED)


def test_the_bureau_declines_a_request_before_quoting(page, staff_page, catalogue, operator):
    link = submit_request(page)
    job = the_job()
    log_in(staff_page, "olga", "pw-olga")
    open_job(staff_page, job.reference)
    staff_page.get_by_text("Decline request…").click()
    staff_page.get_by_label("Reason for declining").fill("We cannot print overhangs this thin.")
    press(staff_page, staff_page.get_by_role("button", name="Decline request", exact=True))
    expect(staff_page.locator("main")).to_contain_text(JobState.DECLINED.label)
    customer_sees(page, link, JobState.DECLINED, "We cannot print overhangs this thin.")
    expect(page.get_by_role("button", name="Cancel the job")).to_have_count(0)


def test_a_form_with_one_wrong_field_keeps_every_other_input(page, catalogue):
    page.goto("/")
    page.get_by_label("Your name").fill("Cara Customer")
    page.get_by_label("Email address").fill("cara-at-example.com")
    page.get_by_label("Phone (optional)").fill("+44 20 7946 0000")
    page.get_by_label("Company (optional)").fill("Cara Robotics")
    page.get_by_label("Material").select_option(label="PLA — Everyday plastic")
    page.get_by_label("Colour").select_option("white")
    page.get_by_label("Quantity").fill("7")
    page.get_by_label("Notes (optional)").fill("Matte finish.")
    page.get_by_label("Print files").set_input_files(CUBE)
    press(page, page.get_by_role("button", name="Send request"))

    expect(page.get_by_role("alert")).to_be_visible()
    email = page.get_by_label("Email address")
    expect(email).to_have_value("cara-at-example.com")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your name")).to_have_value("Cara Customer")
    expect(page.get_by_label("Phone (optional)")).to_have_value("+44 20 7946 0000")
    expect(page.get_by_label("Company (optional)")).to_have_value("Cara Robotics")
    expect(page.get_by_label("Colour")).to_have_value("white")
    expect(page.get_by_label("Quantity")).to_have_value("7")
    expect(page.get_by_label("Notes (optional)")).to_have_value("Matte finish.")
    expect(page.get_by_text("Already received: 20mm-xyz-cube.stl")).to_be_visible()
    assert not Job.objects.exists()

    # Correcting the one field sends the request with the file received the first time.
    email.fill("cara@example.com")
    press(page, page.get_by_role("button", name="Send request"))
    expect(page.get_by_role("heading", name="Thank you: your request is in")).to_be_visible()
    job = the_job()
    assert (job.quantity, job.colour, job.customer_company) == (7, "white", "Cara Robotics")
    assert [f.name for f in job.files.all()] == ["20mm-xyz-cube.stl"]
