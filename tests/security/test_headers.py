"""The security headers on each kind of page: the customer's form and link pages, the desk and
its admin pages, the Django admin site, the API (JSON and its docs), tus, /healthz, and the 404
and 410 pages. Requests are made as over HTTPS (`secure=True`), as production serves them."""

import pytest
from django.conf import settings
from django.urls import reverse

from printdesk.desk.admin_email_templates import PREVIEW_HTML_POLICY
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor

# What every page's Content-Security-Policy must say, directive by directive.
POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}


def policy(response) -> dict[str, set[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


def assert_hardened(response, *, referrer: str = "same-origin") -> None:
    assert policy(response) == POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == referrer
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    if settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}; includeSubDomains"
        assert response["Strict-Transport-Security"] == hsts


@pytest.fixture
def link(make_job) -> str:
    _, secret = make_job()
    return secret


@pytest.fixture
def rotated_link(make_job, operator) -> str:
    job, secret = make_job()
    actions.rotate_link(job=job, actor=Actor.staff(operator))
    return secret


def test_the_policy_allows_no_inline_script_and_nothing_third_party():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    every_source = {source for values in directives.values() for source in values}
    assert "'unsafe-inline'" not in every_source and "'unsafe-eval'" not in every_source
    assert every_source <= {"'self'", "'none'", "data:"}


def test_the_request_form(client, catalogue):
    response = client.get("/", secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_private_job_page_sends_no_referrer(client, link):
    response = client.get(reverse("portal:status", args=[link]), secure=True)
    assert response.status_code == 200
    assert_hardened(response, referrer="no-referrer")
    assert response["Cache-Control"] == "no-store"


def test_an_unknown_link_answers_404_hardened(client, db):
    response = client.get(reverse("portal:status", args=["x" * 43]), secure=True)
    assert response.status_code == 404
    assert_hardened(response, referrer="no-referrer")


def test_a_replaced_link_answers_410_hardened(client, rotated_link):
    response = client.get(reverse("portal:status", args=[rotated_link]), secure=True)
    assert response.status_code == 410
    assert_hardened(response, referrer="no-referrer")


def test_django_s_own_404_page(client, db):
    response = client.get("/no-such-page/", secure=True)
    assert response.status_code == 404
    assert_hardened(response)


def test_the_lost_link_page(client, db):
    response = client.get(reverse("portal:lost_link"), secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_desk_login_and_queue(client, operator):
    assert_hardened(client.get(reverse("desk:login"), secure=True))
    client.force_login(operator)
    response = client.get(reverse("desk:queue"), secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_desk_job_page(client, operator, make_job):
    job, _ = make_job()
    client.force_login(operator)
    response = client.get(reverse("desk:job", args=[job.reference]), secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_desk_admin_pages(client, admin):
    client.force_login(admin)
    response = client.get(reverse("desk:admin_home"), secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_django_admin_site(client, admin):
    client.force_login(admin)
    response = client.get("/admin/", secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_api_json(client, catalogue):
    response = client.get("/api/v1/catalogue", secure=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert_hardened(response)


def test_the_api_docs(client, db):
    for path in ("/api/v1/docs", "/api/v1/openapi.json"):
        response = client.get(path, secure=True)
        assert response.status_code == 200, path
        assert_hardened(response)


def test_tus(client, db):
    response = client.options("/uploads/", secure=True)
    assert response.status_code == 204
    assert_hardened(response)


def test_healthz(client, db):
    response = client.get("/healthz", secure=True)
    assert response.status_code == 200
    assert_hardened(response)


def test_the_email_preview_frame_has_its_own_narrow_policy(client, admin):
    client.force_login(admin)
    url = reverse("desk:admin_email_template_preview_html", args=["customer", "quote_sent"])

    response = client.get(url, secure=True)

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PREVIEW_HTML_POLICY
    frame_policy = policy(response)
    assert frame_policy["default-src"] == {"'none'"}
    assert frame_policy["style-src"] == {"'unsafe-inline'"}  # emails are styled inline
    assert "script-src" not in frame_policy  # falls back to default-src 'none'
    assert "sandbox" in frame_policy
    assert frame_policy["frame-ancestors"] == {"'self'"}
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert 'style="' in response.content.decode()


def test_https_pages_set_secure_cookies_when_configured(client, operator, settings):
    assert settings.SESSION_COOKIE_SECURE == settings.CSRF_COOKIE_SECURE == settings.HTTPS
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True

    page = client.get(reverse("desk:login"), secure=True)
    login = client.post(
        reverse("desk:login"),
        {"username": "olga", "password": "pw-olga"},
        secure=True,
    )

    assert page.cookies[settings.CSRF_COOKIE_NAME]["secure"] is True
    session = login.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True and session["httponly"] is True
