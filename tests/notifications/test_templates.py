"""What each email says: one real email of every kind, through the real actions and renderer."""

import re

import pytest

from printdesk.jobs.lifecycle import CUSTOMER_NOTIFIED, STAFF_NOTIFIED_WHEN_CUSTOMER_ACTS, JobState
from printdesk.jobs.models import DispatchMethod, Job, link_secret
from printdesk.notifications import render
from printdesk.notifications.models import Notification
from tests.notifications.emails import every_email

LINK = re.compile(r"/j/[\w-]{40,}/")


def words(row: Notification) -> str:
    """The text part with its wrapping undone."""
    return " ".join(row.body_text.split())


@pytest.fixture
def emails(make_job, operator) -> dict[str, Notification]:
    return every_email(make_job, operator)


def test_every_emailed_event_has_its_own_template_for_each_audience(emails):
    expected = {f"customer/{event}" for event in CUSTOMER_NOTIFIED} | {
        f"staff/{event}" for event in STAFF_NOTIFIED_WHEN_CUSTOMER_ACTS
    }
    assert set(render.TEMPLATE_NAMES) == expected
    assert set(emails) == expected  # and the lifecycle really sends each of them


def test_each_snapshot_has_a_subject_with_the_reference_and_text_and_html_parts(emails):
    for name, row in emails.items():
        assert row.subject.startswith(f"[{row.job.reference}] "), name
        assert row.job.reference in row.body_text, name
        assert row.body_html.startswith("<!doctype html>") and '<html lang="en">' in row.body_html
        assert row.rendered_at is not None


def test_customer_emails_carry_the_link_only_when_sent_never_in_the_row(emails):
    for name, row in emails.items():
        if row.audience != "customer":
            continue
        assert render.LINK_PLACEHOLDER in row.body_text, name
        assert render.LINK_PLACEHOLDER in row.body_html, name
        assert not LINK.search(row.body_text + row.body_html), name

        email = render.to_email(row)
        link = f"/j/{link_secret(Job.objects.get(pk=row.job_id))}/"
        assert link in email.body, name
        assert f'href="http://127.0.0.1:8000{link}"' in email.alternatives[0].content, name
        assert render.LINK_PLACEHOLDER not in email.body + email.alternatives[0].content


def test_customer_emails_say_what_happens_next(emails):
    for name, row in emails.items():
        if row.audience == "customer":
            heading = "How to accept" if name == "customer/quote_sent" else "What happens next"
            assert heading in row.body_text, name
            assert f">{heading}</h2>" in row.body_html, name


def test_staff_emails_link_to_the_desk_and_never_to_the_customers_page(emails):
    for name, row in emails.items():
        if row.audience != "staff":
            continue
        desk = f"http://127.0.0.1:8000/desk/jobs/{row.job.reference}/"
        email = render.to_email(row)
        assert desk in email.body, name
        assert f'href="{desk}"' in email.alternatives[0].content, name
        assert not LINK.search(email.body + email.alternatives[0].content), name
        assert row.recipient != row.job.customer_email


def test_the_quote_email_shows_its_lines_total_validity_and_how_to_accept(emails):
    row = emails["customer/quote_sent"]
    quote = row.job.quotes.get(version=1)
    assert row.subject == f"[{row.job.reference}] Your quote: 37.50 EUR"
    text = row.body_text
    assert "3 x Part (PLA, black) at 12.50 EUR = 37.50 EUR" in text
    assert "Total: 37.50 EUR" in text
    assert f"Valid until: {quote.valid_until:%-d %B %Y}" in text
    assert "Lead time: 5 days" in text
    assert 'choose "Accept quote"' in text
    html = row.body_html
    assert "<td style" in html and ">Part<br>" in html
    assert "37.50 EUR</td>" in html
    assert "<strong>Accept quote</strong>" in html


def test_a_quote_email_shows_the_quote_of_its_own_event_not_the_latest(emails):
    # The revised job's first quote email, rendered after version 2 (20.00 a part) was sent.
    first = Notification.objects.filter(
        template="customer/quote_sent",
        job__quotes__version=2,
        audit_event__details__quote_version=1,
    ).get()
    assert "Total: 37.50 EUR" in first.body_text
    assert "60.00" not in first.body_text
    second = Notification.objects.get(
        template="customer/quote_sent", audit_event__details__quote_version=2
    )
    assert "Total: 60.00 EUR" in second.body_text
    assert "replaces the earlier one" in second.body_text
    assert "Thicker walls <now>." in second.body_text
    assert "Thicker walls &lt;now&gt;." in second.body_html


def test_the_dispatch_email_gives_carrier_and_tracking_number(emails):
    row = emails["customer/dispatched"]
    assert row.subject.endswith("Your parts are on their way")
    assert "on their way with DHL" in row.body_text
    assert "Tracking number: JD0001" in row.body_text
    assert ">JD0001</strong>" in row.body_html


def test_a_handed_over_job_gets_hand_over_wording(make_job, operator):
    from printdesk.jobs import actions
    from printdesk.jobs.actions import Actor

    job, _ = make_job(JobState.READY)
    actions.dispatch(job=job, actor=Actor.staff(operator), method=DispatchMethod.HAND_OVER)
    row = Notification.objects.get(job=job, event="dispatched")
    render.take_snapshot(row)
    assert row.subject.endswith("Your parts have been handed over")
    assert "Tracking" not in row.body_text


def test_decline_and_cancel_emails_give_the_reason(emails):
    assert "Walls under 0.4 mm" in emails["customer/request_declined"].body_text
    assert "Found another bureau" in emails["customer/cancelled"].body_text
    assert "As you asked" in emails["customer/cancelled"].body_text
    assert "Found another bureau" in emails["staff/cancelled"].body_text
    declined = emails["staff/quote_declined"]
    assert "declined quote version 2 (60.00 EUR)" in declined.body_text


def test_the_revision_email_says_the_old_quote_no_longer_applies(emails):
    customer = emails["customer/file_revised"]
    assert "bracket-v2.stl" in customer.body_text
    assert "Quote version 1 no longer applies" in customer.body_text
    assert "needs a new quote" in emails["staff/file_revised"].body_text


def test_the_new_link_email_says_the_old_link_stopped_working(emails):
    assert "The link you had before no longer works." in words(emails["customer/link_rotated"])


def test_customer_text_is_escaped_in_html_and_left_as_typed_in_text(emails):
    row = emails["customer/submitted"]  # from "Cara <Customer> & Co"
    assert "Hello Cara <Customer> & Co," in row.body_text
    assert "Cara &lt;Customer&gt; &amp; Co" in row.body_html
    assert "<Customer>" not in row.body_html
    declined = emails["staff/quote_declined"]
    assert "Too dear <b>now</b>" in declined.body_text
    assert "Too dear &lt;b&gt;now&lt;/b&gt;" in declined.body_html


def test_the_text_part_is_wrapped_for_reading_without_breaking_links(emails):
    for name, row in emails.items():
        email = render.to_email(row)
        for line in email.body.splitlines():
            assert len(line) <= render.WRAP or " " not in line.strip(), (name, line)


def test_the_layout_signs_with_the_bureau_and_offers_reply(emails):
    row = emails["customer/ready"]
    assert "\n-- \nprintdesk demo bureau\n" in row.body_text
    assert "Questions? Reply to this email." in row.body_text
