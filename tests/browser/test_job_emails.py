"""In a real browser: an operator reads a dead email and resends it; an admin retries from the
outbox. axe-core finds nothing serious on either page, at desktop and phone widths."""

import pytest
from playwright.sync_api import Page, expect

from printdesk.jobs.lifecycle import Audience, EventType, JobState
from printdesk.notifications import sender
from printdesk.notifications.models import Notification, NotificationState
from tests.browser.conftest import log_in, serious_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["desktop", "phone"])
def any_page(request) -> Page:
    return request.getfixturevalue("page" if request.param == "desktop" else "phone_page")


@pytest.fixture
def dead_quote(make_job):
    """A quoted job whose emails went out, but the quote's was refused for good."""
    job, secret = make_job(JobState.QUOTED)
    while sender.drain().claimed:
        pass
    email = Notification.objects.get(job=job, event=EventType.QUOTE_SENT)
    Notification.objects.filter(pk=email.pk).update(
        state=NotificationState.DEAD, last_error="Recipient refused: 550 no such user"
    )
    return job, secret, email


def test_an_operator_reads_a_dead_email_and_resends_it(any_page, dead_quote, operator):
    job, secret, email = dead_quote
    log_in(any_page, "olga", "pw-olga")
    any_page.goto(f"/desk/jobs/{job.reference}/")
    row = any_page.locator(f"#email-{email.pk}")
    expect(row.get_by_text("Gave up")).to_be_visible()
    expect(row.get_by_text("550 no such user")).to_be_visible()

    any_page.get_by_text(f"Read email #{email.pk}").click()
    expect(any_page.get_by_text(email.subject).first).to_be_visible()
    assert secret not in any_page.content()
    assert serious_violations(any_page) == []

    row.get_by_role("button", name=f"Resend email #{email.pk}").click()

    expect(any_page.get_by_text(f"Email #{email.pk} will be sent again")).to_be_visible()
    copy = Notification.objects.get(resend_of=email)
    expect(any_page.locator(f"#email-{copy.pk}").get_by_text("Queued")).to_be_visible()
    expect(any_page.get_by_text(f"resend of #{email.pk}")).to_be_visible()


def test_an_admin_retries_from_the_outbox(any_page, dead_quote, admin):
    job, _, email = dead_quote
    staff_email = Notification.objects.get(job=job, audience=Audience.STAFF)
    Notification.objects.filter(pk=staff_email.pk).update(state=NotificationState.FAILED)
    log_in(any_page, "ada", "pw-ada")
    any_page.get_by_role("link", name="Admin").click()
    any_page.get_by_role("navigation", name="Admin sections").get_by_role(
        "link", name="Outbox"
    ).click()
    expect(any_page.get_by_role("heading", name="Outbox")).to_be_visible()
    assert serious_violations(any_page) == []

    any_page.get_by_label(f"Retry email #{email.pk}").check()
    any_page.get_by_role("button", name="Retry selected").click()

    expect(any_page.get_by_text("1 email(s) queued again")).to_be_visible()
    assert Notification.objects.get(pk=email.pk).state == NotificationState.QUEUED
    assert Notification.objects.get(pk=staff_email.pk).state == NotificationState.FAILED
