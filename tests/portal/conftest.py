"""The customer, as the portal tests see them: a browser without an account.

- `request_data`: the request form's fields, filled in well (override any)
- `send_request(client, files=[...], **fields)`: POST the request form
- `status_url(secret)`: the private link's page
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import stl_upload

TOKEN_RE = re.compile(r'name="draft" value="([^"]+)"')


@pytest.fixture
def request_data(catalogue):
    def data(**overrides) -> dict:
        values = {
            "customer_name": "Cara Customer",
            "customer_email": "cara@example.com",
            "customer_phone": "+44 20 7946 0000",
            "customer_company": "Cara's Cogs",
            "material": str(catalogue["pla"].pk),
            "colour": "white",
            "quantity": "4",
            "desired_date": "",
            "notes": "Matte finish please",
            "website": "",
        }
        values.update(overrides)
        return values

    return data


@pytest.fixture
def send_request(request_data):
    def send(client: Client, files=None, follow: bool = False, **fields):
        payload = request_data(**fields)
        payload["files"] = [stl_upload("bracket.stl")] if files is None else files
        return client.post(reverse("portal:request"), payload, follow=follow)

    return send


def draft_token(response) -> str:
    match = TOKEN_RE.search(response.content.decode())
    assert match, "the form carries its draft token"
    return match.group(1)


def status_url(secret: str) -> str:
    return reverse("portal:status", args=[secret])


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_token(client: Client, url: str) -> str:
    """Load a page the way a browser does and take the CSRF token from its form."""
    response = client.get(url)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match
    return match.group(1)
