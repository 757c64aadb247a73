"""Uploaders for the tus tests: a request form draft, a customer's job link, an operator's
API token; and `tus`, a small Django-test-client helper that speaks the protocol's headers."""

import base64
import hashlib
from dataclasses import dataclass, field

import pytest
from django.test import Client

from printdesk.accounts.models import ApiToken
from printdesk.files.storage import new_draft_token
from printdesk.lib.demo import box_stl
from printdesk.uploads.auth import issue_draft_token

PART = box_stl("part.stl")


def meta(filename: str) -> str:
    return "filename " + base64.b64encode(filename.encode()).decode()


def sha1_header(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()


@dataclass
class Tus:
    """Speaks tus through the Django test client, with one uploader's credentials."""

    client: Client
    credentials: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"Tus-Resumable": "1.0.0", **self.credentials, **extra}

    def create(self, length: int = len(PART), filename: str = "part.stl", **headers: str):
        headers = {"Upload-Length": str(length), "Upload-Metadata": meta(filename), **headers}
        return self.client.post("/uploads/", headers=self._headers(headers))

    def head(self, url: str, **headers: str):
        return self.client.head(url, headers=self._headers(headers))

    def patch(self, url: str, data: bytes, offset: int, **headers: str):
        headers = {"Upload-Offset": str(offset), **headers}
        content_type = headers.pop("Content-Type", "application/offset+octet-stream")
        return self.client.patch(
            url, data=data, content_type=content_type, headers=self._headers(headers)
        )

    def delete(self, url: str, **headers: str):
        return self.client.delete(url, headers=self._headers(headers))

    def upload(self, data: bytes = PART, filename: str = "part.stl") -> str:
        """Create and send the whole file in one PATCH; the upload's URL."""
        url = self.create(len(data), filename)["Location"]
        response = self.patch(url, data, 0)
        assert response.status_code == 204, response.content
        return url


@pytest.fixture
def draft_token() -> str:
    return new_draft_token()


@pytest.fixture
def draft(db, client, draft_token) -> Tus:
    """The request form's uploader, holding the signed token the page issued."""
    return Tus(client, {"Upload-Token": issue_draft_token(draft_token)})


@pytest.fixture
def other_draft(db) -> Tus:
    return Tus(Client(), {"Upload-Token": issue_draft_token(new_draft_token())})


@pytest.fixture
def job_and_link(make_job):
    return make_job()


@pytest.fixture
def customer(job_and_link) -> Tus:
    """A customer revising a file of their job, through its link."""
    return Tus(Client(), {"X-Job-Link": job_and_link[1]})


@pytest.fixture
def staff(operator) -> Tus:
    _, secret = ApiToken.issue(operator, "uploads")
    return Tus(Client(), {"Authorization": f"Bearer {secret}"})


@pytest.fixture
def anonymous(db) -> Tus:
    return Tus(Client())
