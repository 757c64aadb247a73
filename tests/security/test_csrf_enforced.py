"""CSRF on every form that changes something (issue 6), with the CSRF-enforcing test client.

Django's test client skips the CSRF check unless told; here every browser enforces it, as a
real one is held to. Every POST route of the permission matrix (tests/security/matrix.py)
refuses a POST without its token (403) and takes it with one. The API and the tus uploads are
CSRF-exempt because their credentials are headers; the one cookie credential they take, a desk
session, must still carry a CSRF token for anything but a read. Forms on the customer's
no-referrer pages pass with `Origin: null` only when the browser says the request is
same-origin (printdesk/security/middleware.py).
"""

import pytest
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from printdesk.uploads.auth import Uploader
from tests.api.conftest import check_answer
from tests.security import matrix
from tests.security.matrix import (
    API,
    PART,
    TUS,
    URLS,
    P,
    Rule,
    World,
    api_job,
    api_path,
    fresh,
    has_files,
    new_upload,
    rightful,
    send,
    served_urls,
)

pytestmark = pytest.mark.django_db
world = matrix.world  # built once for the module
_test_settings = matrix._test_settings  # its settings hold for the whole module

# Views that opt out of Django's CSRF check, and why that is safe. Anything else that opts out
# fails test_only_these_views_skip_csrf.
CSRF_EXEMPT = {
    "uploads:collection": "tus: credentials in headers; a desk session is checked in auth.py",
    "uploads:upload": "tus: credentials in headers; a desk session is checked in auth.py",
    "uploads:status": "GET only",
    "api/v1/^": "the API's catch-all: 404 to every method",
}
# The API's operations are CSRF-exempt views too (django-ninja): StaffSession checks CSRF.

FORMS = [name for name, url in URLS.items() if "POST" in url.ok and name not in CSRF_EXEMPT]


def test_only_these_views_skip_csrf():
    exempt = {key for key, view in served_urls() if getattr(view, "csrf_exempt", False)}

    assert exempt == set(CSRF_EXEMPT)


def test_every_state_changing_form_is_checked():
    # Every URL that takes a POST and is not exempt is in FORMS: the matrix lists them all.
    assert {"desk:login", "desk:job_cancel", "portal:accept", "desk:admin_outbox_retry"} <= set(
        FORMS
    )
    assert not set(FORMS) & set(CSRF_EXEMPT)


def _browser(world: World, persona: P) -> Client:
    return world.personas[persona].browser(enforce_csrf_checks=True)


def _with_token(client: Client) -> str:
    """Give the browser its CSRF cookie; returns the token a form must echo."""
    secret = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    return secret


def _post_form(world: World, name: str, token: str | None, client: Client, headers=None):
    url = URLS[name]
    persona = rightful(url.rule)
    job = url.target(world, persona) if url.target else None
    data = dict(url.data(world, job)) if url.data else {}
    if token is not None:
        data["csrfmiddlewaretoken"] = token
    return client.post(url.path(world, persona), data, headers=headers or {})


def _guarded(world: World, name: str) -> list[tuple]:
    url = URLS[name]
    job = url.target(world, rightful(url.rule)) if url.target else world.mine
    return [(j.state, j.version, j.link_hash) for j in (fresh(world.mine), fresh(job))]


@pytest.mark.parametrize("name", FORMS)
def test_a_form_without_its_token_is_refused(world, name):
    client = _browser(world, rightful(URLS[name].rule))
    _with_token(client)  # the cookie alone proves nothing: the form must echo it
    before = _guarded(world, name)

    response = _post_form(world, name, None, client)

    assert response.status_code == 403
    assert _guarded(world, name) == before


@pytest.mark.parametrize("name", FORMS)
def test_a_form_with_its_token_is_taken(world, name):
    client = _browser(world, rightful(URLS[name].rule))

    response = _post_form(world, name, _with_token(client), client)

    assert response.status_code == URLS[name].ok["POST"]


@pytest.mark.parametrize("name", FORMS)
def test_a_form_with_a_wrong_token_is_refused(world, name):
    client = _browser(world, rightful(URLS[name].rule))
    _with_token(client)

    response = _post_form(world, name, get_random_string(32), client)

    assert response.status_code == 403


# --- Origin: null on no-referrer pages (SameOriginFormMiddleware) ------------------------------


@pytest.mark.parametrize("fetch_site", [None, "cross-site", "same-site", "none"])
@pytest.mark.parametrize("name", FORMS)
def test_a_null_origin_is_refused_unless_the_browser_says_same_origin(world, name, fetch_site):
    client = _browser(world, rightful(URLS[name].rule))
    headers = {"Origin": "null"}
    if fetch_site:
        headers["Sec-Fetch-Site"] = fetch_site
    before = _guarded(world, name)

    response = _post_form(world, name, _with_token(client), client, headers)

    assert response.status_code == 403
    assert _guarded(world, name) == before


@pytest.mark.parametrize("name", FORMS)
def test_a_null_origin_from_the_same_origin_is_taken(world, name):
    client = _browser(world, rightful(URLS[name].rule))
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}

    response = _post_form(world, name, _with_token(client), client, headers)

    assert response.status_code == URLS[name].ok["POST"]


# --- the API with a desk session ---------------------------------------------------------------

STAFF_POSTS = [key for key, op in API.items() if op.rule == Rule.API_STAFF and key[0] == "POST"]
STAFF_GETS = [key for key, op in API.items() if op.rule == Rule.API_STAFF and key[0] == "GET"]
CUSTOMER_POSTS = [
    key for key, op in API.items() if op.rule == Rule.API_CUSTOMER and key[0] != "GET"
]
PUBLIC_POSTS = [key for key, op in API.items() if op.rule == Rule.PUBLIC and key[0] == "POST"]


def _session_call(world: World, key: tuple[str, str], headers: dict[str, str]):
    """Call an operation from the operator's logged-in browser (no token, no link)."""
    method, path = key
    operation = API[key]
    job = api_job(world, operation, P.OPERATOR)
    body = operation.body(world, job) if operation.body else None
    client = _browser(world, P.OPERATOR)
    secret = _with_token(client)
    headers = {name: secret if value == "<token>" else value for name, value in headers.items()}
    response = send(
        client, method, api_path(path, job), body, headers, json=not (body and has_files(body))
    )
    check_answer(response)
    return response, job


@pytest.mark.parametrize("key", STAFF_POSTS, ids=" ".join)
def test_a_session_api_call_without_its_token_is_refused(world, key):
    job = api_job(world, API[key], P.OPERATOR)
    before = (fresh(job).version, fresh(world.mine).version)

    response, _ = _session_call(world, key, {})

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert (fresh(job).version, fresh(world.mine).version) == before


@pytest.mark.parametrize("key", STAFF_POSTS, ids=" ".join)
def test_a_session_api_call_with_its_token_is_taken(world, key):
    response, _ = _session_call(world, key, {"X-CSRFToken": "<token>"})

    assert response.status_code == API[key].ok


@pytest.mark.parametrize("key", STAFF_GETS, ids=" ".join)
def test_a_session_api_read_needs_no_token(world, key):
    response, _ = _session_call(world, key, {})

    assert response.status_code == 200


@pytest.mark.parametrize("key", CUSTOMER_POSTS, ids=" ".join)
def test_a_desk_session_opens_no_customer_endpoint(world, key):
    response, _ = _session_call(world, key, {"X-CSRFToken": "<token>"})

    assert response.status_code == 401


@pytest.mark.parametrize("key", PUBLIC_POSTS, ids=" ".join)
def test_public_operations_take_no_cookie_credentials(world, key):
    # A request form and a password-for-token exchange: a session adds nothing to either, so
    # a cross-site POST gains nothing a direct one would not.
    response, _ = _session_call(world, key, {})

    assert response.status_code == API[key].ok


# --- tus uploads with a desk session -----------------------------------------------------------

CREATE = {
    **TUS,
    "Upload-Length": str(len(PART)),
    "Upload-Metadata": URLS["uploads:collection"].headers["Upload-Metadata"],
}


def _staff_upload_url(world: World) -> str:
    upload = new_upload(Uploader(user_id=world.users[P.OPERATOR].pk))
    return f"/uploads/{upload.uuid}/"


@pytest.mark.parametrize(("with_token", "status"), [(False, 401), (True, 201)])
def test_a_session_creates_an_upload_only_with_its_token(world, with_token, status):
    client = _browser(world, P.OPERATOR)
    secret = _with_token(client)
    headers = {**CREATE, **({"X-CSRFToken": secret} if with_token else {})}

    assert client.post("/uploads/", headers=headers).status_code == status


@pytest.mark.parametrize(("with_token", "status"), [(False, 404), (True, 204)])
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_session_changes_its_upload_only_with_its_token(world, method, with_token, status):
    client = _browser(world, P.OPERATOR)
    secret = _with_token(client)
    headers = {**TUS, "Upload-Offset": "0", **({"X-CSRFToken": secret} if with_token else {})}
    url = _staff_upload_url(world)

    response = send(client, method, url, PART, headers)

    assert response.status_code == status


def test_a_session_reads_its_upload_without_a_token(world):
    client = _browser(world, P.OPERATOR)

    response = client.head(_staff_upload_url(world), headers=TUS)

    assert response.status_code == 200
