"""POST /api/v1/requests is limited as the portal's request form is, and counted with it: per
client IP, then per address; 429 with a reason and Retry-After (issue 6)."""

from django.urls import reverse

from printdesk.jobs.models import Job
from tests.conftest import stl_upload


def _form(catalogue, email: str = "cara@example.com") -> dict:
    return {
        "customer_name": "Cara Customer",
        "customer_email": email,
        "material_id": catalogue["pla"].pk,
        "colour": "white",
        "quantity": 1,
        "files": [stl_upload()],
    }


def test_requests_per_address_are_limited_with_retry_after(api, catalogue, settings):
    settings.REQUEST_RATE_LIMIT = 2
    settings.REQUEST_RATE_WINDOW = 600
    for _ in range(2):
        assert api.upload("/requests", _form(catalogue)).status_code == 201

    refused = api.upload("/requests", _form(catalogue, "CARA@example.com"))

    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests"
    assert "Too many requests" in refused.json()["message"]
    assert 0 < int(refused["Retry-After"]) <= 600
    assert Job.objects.count() == 2
    assert api.upload("/requests", _form(catalogue, "dan@example.com")).status_code == 201


def test_requests_per_client_ip_are_limited(api, catalogue, settings):
    settings.PUBLIC_IP_RATE_LIMIT = 2
    for n in range(2):
        assert api.upload("/requests", _form(catalogue, f"p{n}@example.com")).status_code == 201

    refused = api.upload("/requests", _form(catalogue, "p9@example.com"))

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Job.objects.count() == 2


def test_the_api_and_the_form_share_one_count_per_ip(api, client, catalogue, settings):
    settings.PUBLIC_IP_RATE_LIMIT = 2
    client.post(reverse("portal:request"), {})  # the form counts the attempt, valid or not
    assert api.upload("/requests", _form(catalogue)).status_code == 201

    assert api.upload("/requests", _form(catalogue, "dan@example.com")).status_code == 429


def test_the_openapi_description_lists_the_429(api):
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/requests"]["post"]
    assert "429" in operation["responses"]
