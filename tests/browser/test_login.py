"""The staff login page in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, serious_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_logs_in_and_lands_on_the_queue(page, operator):
    log_in(page, "olga", "pw-olga")
    assert page.url.endswith("/desk/")


def test_a_wrong_password_is_refused_on_the_page(page, operator):
    page.goto("/desk/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    # The form posts back to its own address, so the URL alone cannot tell that the answer came:
    # wait for the message itself.
    expect(page.get_by_role("alert")).to_be_visible()
    assert "/desk/login/" in page.url


def test_the_login_page_has_no_serious_accessibility_violations(page):
    page.goto("/desk/login/")
    assert serious_violations(page) == []
