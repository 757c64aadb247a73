"""The pages' side of the browser uploader: what the forms tell it, and what they do with the
uploads it finished (request form drafts; revisions posted as an upload_id)."""

import base64
import hashlib
import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from printdesk.files.models import FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.uploads.auth import SALT
from printdesk.uploads.models import TusUpload, UploadState
from tests.conftest import SAMPLES
from tests.portal.conftest import status_url

CUBE = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def attribute(page: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', page)
    assert match, f"the form carries {name}"
    return match.group(1)


def tus_upload(client: Client, credential: dict, data: bytes, name: str, *, finish=True) -> str:
    """Drive the tus endpoints as the uploader does; returns the upload's URL."""
    created = client.post(
        reverse("uploads:collection"),
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA="filename " + base64.b64encode(name.encode()).decode(),
        **TUS,
        **credential,
    )
    assert created.status_code == 201, created.content
    url = created["Location"]
    half = len(data) // 2
    for start, end in ((0, half), (half, len(data)) if finish else (0, 0)):
        if end == start:
            continue
        response = client.generic(
            "PATCH",
            url,
            data[start:end],
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(start),
            **TUS,
            **credential,
        )
        assert response.status_code == 204, response.content
    return url


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# --- the request form ---------------------------------------------------------------------------


def test_the_request_form_tells_the_uploader_where_and_how(client, catalogue, settings):
    page = client.get(reverse("portal:request")).content.decode()

    assert attribute(page, "data-upload-endpoint") == "/uploads/"
    assert int(attribute(page, "data-max-bytes")) == settings.MAX_FILE_BYTES
    assert int(attribute(page, "data-chunk-bytes")) == 5 * 1024 * 1024
    assert attribute(page, "data-extensions").split() == list(settings.ALLOWED_FILE_EXTENSIONS)
    assert "data-upload-input" in page
    token = attribute(page, "data-upload-token")
    payload = signing.loads(token, salt=SALT, max_age=settings.UPLOAD_TOKEN_MAX_AGE)
    assert payload == {"draft": draft_token_of(page)}
    assert '<script src="/static/printdesk/uploader.js" defer></script>' in page
    assert "onclick" not in page and "<script>" not in page


def test_a_request_whose_files_came_by_tus_is_sent_with_them(client, send_request, catalogue):
    page = client.get(reverse("portal:request")).content.decode()
    token = draft_token_of(page)
    credential = {"HTTP_UPLOAD_TOKEN": attribute(page, "data-upload-token")}
    tus_upload(client, credential, CUBE, "cube.stl")

    response = send_request(client, files=[], draft=token)

    assert response.status_code == 302
    version = FileVersion.objects.get()
    assert version.original_name == "cube.stl"
    assert version.sha256 == hashlib.sha256(CUBE).hexdigest()
    assert version.blob.read() == CUBE


def test_an_unfinished_tus_upload_is_not_sent_with_the_request(client, send_request, catalogue):
    page = client.get(reverse("portal:request")).content.decode()
    credential = {"HTTP_UPLOAD_TOKEN": attribute(page, "data-upload-token")}
    tus_upload(client, credential, CUBE, "cube.stl", finish=False)

    response = send_request(client, files=[], draft=draft_token_of(page))

    assert response.status_code == 422
    assert "Attach at least one print file." in response.content.decode()
    assert not FileVersion.objects.exists()


def draft_token_of(page: str) -> str:
    match = re.search(r'name="draft" value="([^"]+)"', page)
    assert match
    return match.group(1)


# --- revisions through the status page ----------------------------------------------------------


@pytest.fixture
def quoted(make_job):
    return make_job(JobState.QUOTED)


def revise(client: Client, job, secret: str, upload: str):
    return client.post(
        reverse("portal:revise", args=[secret]),
        {"expected_version": job.version, "file_id": job.files.get().pk, "upload_id": upload},
    )


def test_the_revision_form_tells_the_uploader_its_link(client, quoted):
    _, secret = quoted
    page = client.get(status_url(secret)).content.decode()

    assert attribute(page, "data-job-link") == secret
    assert attribute(page, "data-upload-endpoint") == "/uploads/"
    assert attribute(page, "data-max-files") == "1"


def test_a_revision_can_be_a_finished_upload(client, quoted):
    job, secret = quoted
    url = tus_upload(client, {"HTTP_X_JOB_LINK": secret}, CUBE, "part-v2.stl")

    response = revise(client, job, secret, upload_id(url))

    assert response.status_code == 302
    version = job.files.get().versions.get(number=2)
    assert version.original_name == "part-v2.stl"
    assert version.sha256 == hashlib.sha256(CUBE).hexdigest()
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED


def test_an_upload_becomes_one_version_only(client, quoted):
    job, secret = quoted
    url = tus_upload(client, {"HTTP_X_JOB_LINK": secret}, CUBE, "part-v2.stl")
    assert revise(client, job, secret, upload_id(url)).status_code == 302
    job.refresh_from_db()

    again = revise(client, job, secret, upload_id(url))

    assert again.status_code == 422
    assert "That upload is not there any more" in again.content.decode()
    assert FileVersion.objects.count() == 2


def test_another_jobs_upload_is_refused(client, quoted, make_job):
    job, secret = quoted
    _, other_secret = make_job(JobState.SUBMITTED)
    url = tus_upload(client, {"HTTP_X_JOB_LINK": other_secret}, CUBE, "theirs.stl")

    response = revise(client, job, secret, upload_id(url))

    assert response.status_code == 422
    assert "That upload is not there any more" in response.content.decode()
    assert FileVersion.objects.count() == 2  # one per job, as they were
    assert TusUpload.objects.get().state == UploadState.COMPLETE  # still the other job's


def test_an_unfinished_upload_is_refused(client, quoted):
    job, secret = quoted
    url = tus_upload(client, {"HTTP_X_JOB_LINK": secret}, CUBE, "part-v2.stl", finish=False)

    response = revise(client, job, secret, upload_id(url))

    assert response.status_code == 422
    assert "has not finished uploading yet" in response.content.decode()
    job.refresh_from_db()
    assert job.state == JobState.QUOTED
    assert FileVersion.objects.count() == 1


def test_a_refused_revision_leaves_the_upload_usable(client, quoted):
    job, secret = quoted
    url = tus_upload(client, {"HTTP_X_JOB_LINK": secret}, CUBE, "part-v2.stl")
    stale = {"expected_version": job.version, "file_id": 999999, "upload_id": upload_id(url)}

    refused = client.post(reverse("portal:revise", args=[secret]), stale)

    assert refused.status_code == 422
    assert TusUpload.objects.filter(state=UploadState.COMPLETE).count() == 1
    assert revise(client, job, secret, upload_id(url)).status_code == 302


def test_a_revision_needs_a_file_or_an_upload(client, quoted):
    job, secret = quoted

    response = client.post(
        reverse("portal:revise", args=[secret]), {"expected_version": job.version}
    )

    assert response.status_code == 422
    assert "Choose the revised file." in response.content.decode()


def test_a_malformed_upload_id_is_refused(client, quoted):
    job, secret = quoted

    response = revise(client, job, secret, "not-a-uuid")

    assert response.status_code == 400
    assert FileVersion.objects.count() == 1
