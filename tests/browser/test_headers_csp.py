"""The Content-Security-Policy in a real browser: every kind of page loads, runs its scripts
and shows its styles without one violation. A blocked script fails silently, so the browser's
own reports are collected: console errors and `securitypolicyviolation` events."""

import pytest
from django.urls import reverse

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from tests.browser.conftest import log_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def visit(page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status, (path, response)
    assert "Content-Security-Policy" in {name.title() for name in response.headers}
    page.wait_for_load_state("load")


def test_the_customer_pages_load_without_violations(watched, make_job, operator):
    _, secret = make_job()
    replaced, replaced_secret = make_job()
    actions.rotate_link(job=replaced, actor=Actor.staff(operator))

    visit(watched, "/")
    watched.get_by_label("Your name").fill("Cara")  # the form's script runs
    visit(watched, reverse("portal:status", args=[secret]))
    visit(watched, reverse("portal:status", args=[replaced_secret]), status=410)
    visit(watched, reverse("portal:lost_link"))
    visit(watched, reverse("portal:status", args=["x" * 43]), status=404)
    visit(watched, "/no-such-page/", status=404)

    assert watched.violations == []


def test_the_desk_and_its_admin_pages_load_without_violations(watched, make_job, admin):
    job, _ = make_job()
    log_in(watched, "ada", "pw-ada")
    for path in (
        reverse("desk:queue"),
        reverse("desk:job", args=[job.reference]),
        reverse("desk:admin_home"),
        reverse("desk:admin_email_templates"),
    ):
        visit(watched, path)

    assert watched.violations == []


def test_the_email_preview_shows_its_inline_styles_without_violations(watched, admin):
    log_in(watched, "ada", "pw-ada")
    visit(watched, reverse("desk:admin_email_template", args=["customer", "quote_sent"]))
    frame = watched.frame_locator("[data-preview-html]")
    button = frame.get_by_role("link", name="Open your job page")
    button.wait_for()
    # The email's own inline style applies inside the frame.
    colour = button.evaluate("(a) => getComputedStyle(a).backgroundColor")
    assert colour == "rgb(29, 78, 216)"

    watched.get_by_label("HTML").fill('<h1 style="color: #ff0000">{{ job.customer_name }}</h1>')
    heading = frame.get_by_role("heading", name="Cara Customer")
    heading.wait_for()
    assert heading.evaluate("(h) => getComputedStyle(h).color") == "rgb(255, 0, 0)"

    assert watched.violations == []


def test_the_django_admin_site_loads_without_violations(watched, admin):
    visit(watched, "/admin/login/")
    watched.get_by_label("Username").fill("ada")
    watched.get_by_label("Password").fill("pw-ada")
    watched.get_by_role("button", name="Log in").click()
    watched.wait_for_url("**/admin/")
    for path in (
        "/admin/",
        "/admin/catalogue/material/",  # a change list with its actions and filters
        "/admin/catalogue/material/add/",  # a change form with its widgets
        "/admin/jobs/job/",
    ):
        visit(watched, path)

    assert watched.violations == []


def test_the_api_docs_load_without_violations(watched, db):
    visit(watched, "/api/v1/docs")
    watched.locator(".swagger-ui .info").wait_for()

    assert watched.violations == []


def test_the_watch_catches_a_violation(watched, db):
    """The other tests' empty lists mean something: an inline script is refused and reported."""
    visit(watched, "/")
    watched.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "document.body.dataset.inline = 'ran'";
        document.body.append(script);
        const styled = document.createElement("p");
        styled.setAttribute("style", "color: red");
        document.body.append(styled);
    }"""
    )

    def reported(directive: str) -> bool:
        return any(directive in line for line in watched.violations)

    wait_for(watched, lambda: reported("script-src") and reported("style-src"), timeout=10)
    assert watched.evaluate("() => document.body.dataset.inline") is None
