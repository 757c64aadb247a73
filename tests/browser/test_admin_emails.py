"""The email template editor in a real browser: the preview follows the typing."""

from printdesk.notifications.models import EmailTemplate
from tests.browser.conftest import log_in, serious_violations


def test_the_preview_follows_the_typing_and_saving_keeps_it(page, admin):
    log_in(page, "ada", "pw-ada")
    page.goto("/desk/admin/email-templates/")
    page.get_by_role("link", name="Quote sent").click()
    assert serious_violations(page) == []

    page.get_by_label("Subject").fill("Price for {{ job.reference }}: {{ quote.total }}")
    preview = page.locator("[data-preview-subject]")
    preview.filter(has_text="Price for PD-00042: 38.00").wait_for()
    page.get_by_label("HTML").fill("<h1>{{ job.customer_name }}</h1><a href='{{ link }}'>Job</a>")
    frame = page.frame_locator("[data-preview-html]")
    frame.get_by_role("heading", name="Cara Customer").wait_for()
    page.get_by_label("Plain text").fill("{% if %}")
    page.get_by_role("status").filter(has_text="Template error").wait_for()

    page.get_by_label("Plain text").fill("Your job: {{ link }}")
    page.get_by_role("button", name="Save wording").click()
    page.get_by_text("Saved the wording").wait_for()
    assert EmailTemplate.objects.get(name="customer/quote_sent").text == "Your job: {{ link }}"
