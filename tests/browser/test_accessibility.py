"""axe-core on the four main pages, at desktop and phone widths: no serious or critical findings.

Each page is checked with real content (a quoted job with runs, notes and history) and in the
states that add the most to it: the request form with errors, the job page with its preview.
"""

import pytest
from playwright.sync_api import Page, expect

from printdesk.jobs.actions import Actor, add_note, add_run
from printdesk.jobs.lifecycle import JobState
from tests.browser.conftest import log_in, serious_violations

pytestmark = pytest.mark.django_db(transaction=True)


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def jobs(make_job, operator, catalogue):
    """A quoted job (status page), a new one (quote composer), one in production with runs."""
    quoted, secret = make_job(JobState.QUOTED)
    new, _ = make_job(JobState.SUBMITTED)
    busy, _ = make_job(JobState.IN_PRODUCTION, quantity=4)
    staff = Actor.staff(operator)
    add_run(job=busy, actor=staff, quantity=2, printer_id=catalogue["mk4"].pk)
    add_note(job=busy, actor=staff, body="Customer called about colour.")
    return {"quoted": quoted, "secret": secret, "new": new, "busy": busy}


@pytest.fixture(params=["desktop", "phone"])
def any_page(request):
    return request.getfixturevalue("page" if request.param == "desktop" else "phone_page")


def test_the_request_form(any_page, catalogue):
    any_page.goto("/")
    assert serious_violations(any_page) == []
    any_page.get_by_role("button", name="Send request").click()  # every field wrong at once
    expect(any_page.get_by_role("alert")).to_be_visible()
    assert serious_violations(any_page) == []
    assert no_horizontal_scroll(any_page)


def test_the_status_page(any_page, jobs):
    any_page.goto(f"/j/{jobs['secret']}/")
    expect(any_page.get_by_role("button", name="Accept quote")).to_be_visible()
    assert serious_violations(any_page) == []
    assert no_horizontal_scroll(any_page)


def test_the_queue(any_page, jobs, operator):
    log_in(any_page, "olga", "pw-olga")
    expect(any_page.get_by_role("link", name=jobs["busy"].reference)).to_be_visible()
    assert serious_violations(any_page) == []


@pytest.mark.parametrize("which", ["new", "quoted", "busy"])
def test_the_job_page(any_page, jobs, operator, which):
    log_in(any_page, "olga", "pw-olga")
    any_page.goto(f"/desk/jobs/{jobs[which].reference}/")
    assert serious_violations(any_page) == []
    if which == "new":  # the composer's preview adds a panel of its own
        any_page.get_by_role("group", name="Line 1").get_by_label("Unit price").fill("3.50")
        any_page.get_by_label("Lead time (days)").fill("4")
        any_page.get_by_role("button", name="Preview").click()
        expect(any_page.get_by_text("Preview: what the customer will see")).to_be_visible()
        assert serious_violations(any_page) == []
