"""The desk's revision form with the browser uploader: an operator's file goes by tus under the
desk session (any size: behind the proxy only /uploads/ takes large bodies), then the form
posts its upload id, which becomes one version of this job's file."""

import base64
import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from printdesk.files.models import FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.uploads.models import OwnerKind, TusUpload, UploadState
from tests.desk.test_job_actions import fresh, post, said, snapshot
from tests.portal.test_uploader import CUBE, TUS, attribute, tus_upload, upload_id

FIELD = "revision-upload_id"


@pytest.fixture
def quoted(make_job):
    job, _ = make_job(JobState.QUOTED)
    return job


def revise(desk: Client, job, upload: str):
    data = {FIELD: upload, "revision-file_id": str(job.files.get().pk)}
    return post(desk, "job_revise_file", job, data)


def test_the_form_tells_the_uploader_where_its_job_and_its_field(desk, quoted):
    page = desk.get(reverse("desk:job", args=[quoted.reference])).content.decode()

    revision = re.search(r"<form[^>]*data-uploader[^>]*>", page)
    assert revision is not None
    tag = revision.group(0)
    assert attribute(tag, "data-upload-endpoint") == "/uploads/"
    assert attribute(tag, "data-upload-job") == quoted.reference
    assert attribute(tag, "data-upload-id-name") == FIELD
    assert attribute(tag, "data-max-files") == "1"
    assert "data-upload-input" in page
    assert '<script src="/static/printdesk/uploader.js" defer></script>' in page


def test_an_operators_finished_upload_becomes_the_new_version(desk, quoted):
    url = tus_upload(desk, {}, CUBE, "part-fixed.stl")  # the desk session: no other credential

    response = revise(desk, quoted, upload_id(url))

    assert response.status_code == 302
    assert said(response) == ["Version 2 of part-fixed.stl added. The job needs a new quote."]
    version = quoted.files.get().versions.get(number=2)
    assert version.sha256 == hashlib.sha256(CUBE).hexdigest()
    assert fresh(quoted).state == JobState.SUBMITTED
    assert not TusUpload.objects.exists()  # used up


def test_an_upload_becomes_one_version_only(desk, quoted):
    url = tus_upload(desk, {}, CUBE, "part-fixed.stl")
    assert revise(desk, quoted, upload_id(url)).status_code == 302

    again = revise(desk, fresh(quoted), upload_id(url))

    assert again.status_code == 422
    assert "That upload is not there any more" in again.content.decode()
    assert FileVersion.objects.count() == 2


def test_an_upload_named_for_another_job_is_refused(desk, quoted, make_job):
    other, _ = make_job(JobState.SUBMITTED)
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in (("filename", "theirs.stl"), ("job", other.reference))
    )
    created = desk.post(
        reverse("uploads:collection"),
        HTTP_UPLOAD_LENGTH=str(len(CUBE)),
        HTTP_UPLOAD_METADATA=metadata,
        **TUS,
    )
    url = created["Location"]
    desk.generic(
        "PATCH",
        url,
        CUBE,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    before = snapshot(quoted)

    response = revise(desk, quoted, upload_id(url))

    assert response.status_code == 422
    assert "That upload is not there any more" in response.content.decode()
    assert snapshot(quoted) == before
    assert TusUpload.objects.get().state == UploadState.COMPLETE  # still there, for the other


def test_another_operators_or_a_customers_upload_is_refused(desk, quoted, admin, make_job):
    theirs = Client()
    theirs.force_login(admin)
    url = tus_upload(theirs, {}, CUBE, "admins.stl")
    _, secret = make_job(JobState.SUBMITTED)
    customers = tus_upload(Client(), {"HTTP_X_JOB_LINK": secret}, CUBE, "customers.stl")
    before = snapshot(quoted)

    for upload in (upload_id(url), upload_id(customers)):
        response = revise(desk, quoted, upload)

        assert response.status_code == 422
        assert "That upload is not there any more" in response.content.decode()
    assert snapshot(quoted) == before
    assert set(TusUpload.objects.values_list("owner_kind", flat=True)) == {
        OwnerKind.STAFF,
        OwnerKind.JOB,
    }


def test_an_unfinished_upload_is_refused_and_the_job_kept(desk, quoted):
    url = tus_upload(desk, {}, CUBE, "part-fixed.stl", finish=False)
    before = snapshot(quoted)

    response = revise(desk, quoted, upload_id(url))

    assert response.status_code == 422
    assert "has not finished uploading yet" in response.content.decode()
    assert snapshot(quoted) == before


def test_a_refused_revision_leaves_the_upload_usable(desk, quoted):
    url = tus_upload(desk, {}, CUBE, "part-fixed.stl")
    data = {FIELD: upload_id(url), "revision-file_id": "999999"}

    refused = post(desk, "job_revise_file", quoted, data)

    assert refused.status_code == 422
    assert TusUpload.objects.filter(state=UploadState.COMPLETE).count() == 1
    assert revise(desk, quoted, upload_id(url)).status_code == 302


def test_the_form_needs_a_file_or_an_upload(desk, quoted):
    before = snapshot(quoted)

    response = post(desk, "job_revise_file", quoted, {})

    assert response.status_code == 422
    assert 'id="id_revision-file_error">Choose the revised file.' in response.content.decode()
    assert snapshot(quoted) == before


def test_a_malformed_upload_id_is_refused(desk, quoted):
    before = snapshot(quoted)

    response = revise(desk, quoted, "not-a-uuid")

    assert response.status_code == 422
    assert (
        'id="id_revision-file_error">That upload is not there any more' in response.content.decode()
    )
    assert snapshot(quoted) == before
