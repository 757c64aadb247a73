"""Browser tests: Playwright for Python driving Debian's chromium against a live test server.

Never a browser download: the executable is `chromium` on PATH (or $CHROMIUM). Without one,
these tests are skipped with a reason on a developer's machine and FAIL under CI (CI set),
so a CI run can never pass without having driven a real browser.
"""

import os
import shutil
import time
from collections.abc import Callable, Iterator

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls between
# browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    path = chromium_path()
    if path is None:
        message = "no Chromium on this machine (apt-get install chromium): browser tests not run"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


# Every CSP violation, from any frame, as a console line `watched` collects.
REPORT = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched(browser, live_server):
    """A page whose CSP complaints, from any frame, land in `page.violations`."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    context.add_init_script(REPORT)
    page = context.new_page()
    page.violations = []  # type: ignore[attr-defined]

    def on_console(message) -> None:
        text = message.text
        if "Content Security Policy" in text or "CSP violation" in text:
            page.violations.append(f"{page.url}: {text}")  # type: ignore[attr-defined]

    page.on("console", on_console)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def staff_page(browser, live_server):
    """A second browser context, so the operator and the customer never share cookies."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/desk/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/desk/")


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state()  # after a click that navigates, the new page may still be arriving
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"]][:5]
            found.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} {targets}"
            )
    return found


def wait_for(page, condition: Callable[[], bool], timeout: float = 30) -> None:
    """Poll until `condition()` holds while the browser works (no fixed sleeps); fail after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not so after {timeout} s"
        page.wait_for_timeout(10)
