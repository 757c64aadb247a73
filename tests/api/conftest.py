"""API fixtures: clients for each kind of caller, checking what every answer must look like.

- `api`: anonymous; `staff_api` / `admin_api`: bearer token of `operator` / `admin`
- `customer_api(secret)`: a client holding a job's private link
- `session_api(user)`: a logged-in desk session with CSRF enforced, as a browser has it
- `staff_token`: the operator's token secret, issued through `ApiToken.issue`
- `snapshot(job)`: everything a refused request must leave as it was

Every response passes `check_answer`: never a 5xx, and every error is JSON with a message and a
code. A test that needs the raw answer still gets it back.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from printdesk.accounts.models import ApiToken
from printdesk.files.models import FileVersion
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications.models import Notification

API = "/api/v1"


def check_answer(response) -> None:
    """What every API answer must be, whatever was asked."""
    status = response.status_code
    assert status < 500, f"{status} from {response.request['PATH_INFO']}: {response.content!r}"
    if status >= 400:
        assert response["Content-Type"].startswith("application/json"), response.content
        body = response.json()
        assert isinstance(body.get("message"), str) and body["message"], body
        assert isinstance(body.get("code"), str) and body["code"], body


class ApiClient:
    """A Django test client for /api/v1/ with the caller's credentials in every request."""

    def __init__(self, client: Client, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = dict(headers or {})

    def request(self, method: str, path: str, **kwargs: Any):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        call = getattr(self.client, method.lower())
        response = call(API + path, headers=headers, **kwargs)
        check_answer(response)
        return response

    def get(self, path: str, params: dict | None = None, **kwargs: Any):
        return self.request("GET", path, data=params, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any):
        """POST `body` as JSON (an empty object when None)."""
        payload = json.dumps({} if body is None else body, default=str)
        return self.request("POST", path, data=payload, content_type="application/json", **kwargs)

    def post_raw(self, path: str, data: str, **kwargs: Any):
        """POST exactly these characters as the JSON body (for malformed bodies)."""
        return self.request("POST", path, data=data, content_type="application/json", **kwargs)

    def upload(self, path: str, data: dict, **kwargs: Any):
        """POST multipart form data: files as SimpleUploadedFile values."""
        return self.request("POST", path, data=data, **kwargs)


def snapshot(job: Job) -> dict:
    """The job and everything hanging off it: a refused request leaves all of it as it was."""
    fresh = Job.objects.get(pk=job.pk)
    return {
        "state": fresh.state,
        "version": fresh.version,
        "audit": AuditEvent.objects.filter(job=job).count(),
        "notifications": Notification.objects.filter(job=job).count(),
        "quotes": list(fresh.quotes.values_list("version", "status")),
        "runs": list(fresh.runs.values_list("quantity", "state")),
        "files": list(
            FileVersion.objects.filter(job_file__job=job).values_list("job_file", "number")
        ),
        "notes": fresh.internal_notes.count(),
    }


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token_for(user) -> str:
    _, secret = ApiToken.issue(user, "tests")
    return secret


def with_csrf(client: Client) -> dict[str, str]:
    """Give a browser client the desk's CSRF cookie; returns the header that must echo it."""
    secret = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    return {"X-CSRFToken": secret}


@pytest.fixture
def api(db) -> ApiClient:
    return ApiClient(Client())


@pytest.fixture
def staff_token(operator) -> str:
    return token_for(operator)


@pytest.fixture
def staff_api(staff_token) -> ApiClient:
    return ApiClient(Client(), bearer(staff_token))


@pytest.fixture
def admin_api(admin) -> ApiClient:
    return ApiClient(Client(), bearer(token_for(admin)))


@pytest.fixture
def customer_api(db) -> Callable[[str], ApiClient]:
    def make(secret: str) -> ApiClient:
        return ApiClient(Client(), {"X-Job-Link": secret})

    return make


@pytest.fixture
def session_api(db) -> Callable[..., ApiClient]:
    """A logged-in browser: CSRF enforced, as in real life (the test client skips it)."""

    def make(user=None) -> ApiClient:
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        return ApiClient(client)

    return make
