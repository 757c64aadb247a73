"""Forms on no-referrer pages: the browser sends `Origin: null`, and CSRF must still hold."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _post_login_form(origin: str, fetch_site: str | None, secure: bool = False):
    """A CSRF-checked POST (the desk login form) with the given origin headers."""
    client = Client(enforce_csrf_checks=True)
    client.get("/desk/login/", secure=secure)
    token = client.cookies["csrftoken"].value
    headers = {"Origin": origin}
    if fetch_site is not None:
        headers["Sec-Fetch-Site"] = fetch_site
    return client.post(
        "/desk/login/",
        {"username": "nobody", "password": "x", "csrfmiddlewaretoken": token},
        headers=headers,
        secure=secure,
    )


@pytest.mark.parametrize("secure", [False, True])
def test_a_same_origin_form_with_a_hidden_origin_passes_csrf(secure):
    # 200: the login form re-rendered with its error, not 403 from CSRF.
    assert _post_login_form("null", "same-origin", secure).status_code == 200


@pytest.mark.parametrize("fetch_site", [None, "cross-site", "same-site", "none"])
def test_a_null_origin_from_anywhere_else_is_still_refused(fetch_site):
    assert _post_login_form("null", fetch_site).status_code == 403


def test_a_foreign_origin_is_refused_whatever_fetch_site_claims():
    assert _post_login_form("https://evil.example", "same-origin").status_code == 403


def test_the_token_is_still_required():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/desk/login/",
        {"username": "nobody", "password": "x"},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 403
