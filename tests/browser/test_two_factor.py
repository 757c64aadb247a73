"""Two-factor login in a real browser: an operator sets it up from the QR page's key, as they
would in an app, is shown their recovery codes, from then on logs in with a code, and makes
a new set of recovery codes. The pages break no CSP rule (the QR code is inline SVG, with no
script) and pass axe."""

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.browser.conftest import log_in, serious_violations

pytestmark = pytest.mark.django_db(transaction=True)


def app_code(key: str, steps: int = 0) -> str:
    """What an authenticator app given `key` (as the page shows it) displays now."""
    totp = TOTP(b32decode(key.replace(" ", "")))
    totp.time = time.time() + steps * 30
    return f"{totp.token():06d}"


@pytest.fixture(autouse=True)
def _whole_time_step():
    left = 30 - time.time() % 30
    if left < 12:
        time.sleep(left + 0.1)


def test_an_operator_turns_two_factor_on_and_logs_in_with_a_code(watched, operator):
    page = watched  # it records CSP complaints in `violations`
    log_in(page, "olga", "pw-olga")
    page.get_by_role("link", name="Two-factor login").click()
    expect(page.locator(".qr-box svg")).to_be_visible()
    assert serious_violations(page) == []
    key = page.locator("code.secret").inner_text()

    page.get_by_label("Code").fill(app_code(key, -1))
    page.get_by_role("button", name="Turn two-factor login on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    expect(page.locator(".recovery-codes li")).to_have_count(10)

    page.get_by_role("button", name="Log out").click()
    page.goto("/desk/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("pw-olga")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/desk/login/code/")
    assert serious_violations(page) == []

    page.get_by_label("Code").fill("000000" if app_code(key) != "000000" else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")

    time.sleep(1.1)  # django-otp's delay after one wrong code
    page.get_by_label("Code").fill(app_code(key))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/desk/")

    # Recovery codes running out: a new set, for the app's next code (this one is spent).
    page.goto("/desk/two-factor/")
    assert serious_violations(page) == []
    page.locator("#id_codes_code").fill(app_code(key, 1))
    page.get_by_role("button", name="Make new recovery codes").click()
    page.get_by_role("heading", name="Your new recovery codes").wait_for()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert page.violations == []
