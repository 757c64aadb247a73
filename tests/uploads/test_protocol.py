"""The tus 1.0.0 protocol at /uploads/, through the Django test client: every status code."""

import hashlib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from printdesk.files.models import DraftUpload
from printdesk.files.storage import draft_token_hash, drafts_for
from printdesk.jobs.lifecycle import JobState
from printdesk.uploads import chunks
from printdesk.uploads.actions import prune_expired
from printdesk.uploads.auth import issue_draft_token
from printdesk.uploads.models import TusUpload, UploadState

from .conftest import PART, Tus, meta, sha1_header


def partial(settings, url: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads-partial" / url.rstrip("/").rsplit("/", 1)[-1]


def row(url: str) -> TusUpload:
    return TusUpload.objects.get(uuid=url.rstrip("/").rsplit("/", 1)[-1])


# --- discovery and creation --------------------------------------------------------------


def test_options_lists_version_extensions_limit_and_checksum(client, settings):
    response = client.options("/uploads/")
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    }
    assert response["Tus-Max-Size"] == str(settings.MAX_FILE_BYTES)
    assert response["Tus-Checksum-Algorithm"] == "sha1"


def test_it_creates_an_upload_with_location_and_expiry(draft, settings):
    response = draft.create(filename="../../etc/Bracket\x07 v2.STL")
    assert response.status_code == 201
    assert response["Location"].startswith("/uploads/")
    assert response["Upload-Offset"] == "0"
    assert response["Upload-Expires"].endswith(" GMT")
    upload = row(response["Location"])
    assert upload.filename == "Bracket_ v2.STL"
    assert upload.length == len(PART)
    assert (upload.expires_at - upload.created_at).total_seconds() == pytest.approx(
        settings.UPLOAD_EXPIRY_HOURS * 3600, abs=5
    )
    assert partial(settings, response["Location"]).read_bytes() == b""


def test_it_requires_upload_length(draft):
    response = draft.client.post(
        "/uploads/", headers={"Tus-Resumable": "1.0.0", **draft.credentials}
    )
    assert response.status_code == 400
    assert b"Upload-Length" in response.content
    assert not TusUpload.objects.exists()


def test_it_refuses_an_upload_over_the_limit_at_creation(draft, settings):
    settings.MAX_FILE_BYTES = 1000
    response = draft.create(length=1001)
    assert response.status_code == 413
    assert b"larger than the limit" in response.content
    assert not TusUpload.objects.exists()


def test_it_refuses_a_wrong_extension_at_creation_with_the_reason(draft):
    response = draft.create(filename="invoice.pdf")
    assert response.status_code == 415
    assert b"invoice.pdf: only .stl" in response.content
    assert not TusUpload.objects.exists()


def test_it_refuses_an_empty_file_at_creation(draft):
    response = draft.create(length=0)
    assert response.status_code == 400
    assert b"empty" in response.content


def test_it_refuses_bad_metadata_and_deferred_length(draft):
    assert draft.create(**{"Upload-Metadata": "filename %%%"}).status_code == 400
    assert draft.create(**{"Upload-Defer-Length": "1"}).status_code == 400
    assert draft.create(length=-5).status_code == 400


def test_it_requires_the_tus_version_it_speaks(draft):
    for headers in ({}, {"Tus-Resumable": "0.2.2"}):
        response = draft.client.post(
            "/uploads/", headers={**draft.credentials, "Upload-Length": "10", **headers}
        )
        assert response.status_code == 412
        assert response["Tus-Version"] == "1.0.0"
    url = draft.create()["Location"]
    assert draft.client.head(url, headers=draft.credentials).status_code == 412


def test_creation_with_upload_stores_the_first_chunk(draft):
    response = draft.client.post(
        "/uploads/",
        data=PART[:100],
        content_type="application/offset+octet-stream",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(PART)),
            "Upload-Metadata": meta("part.stl"),
            **draft.credentials,
        },
    )
    assert response.status_code == 201
    assert response["Upload-Offset"] == "100"
    assert draft.patch(response["Location"], PART[100:], 100).status_code == 204


# --- credentials ------------------------------------------------------------------------


def test_creation_without_credentials_is_401(anonymous):
    assert anonymous.create().status_code == 401


def test_a_forged_or_expired_upload_token_is_401(client, draft_token, settings):
    forged = issue_draft_token(draft_token)[:-2] + "xx"
    assert Tus(client, {"Upload-Token": forged}).create().status_code == 401
    settings.UPLOAD_TOKEN_MAX_AGE = -1
    assert Tus(client, {"Upload-Token": issue_draft_token(draft_token)}).create().status_code == 401


def test_a_closed_jobs_link_cannot_upload(make_job):
    _, secret = make_job(state=JobState.CANCELLED)
    assert Tus(Client(), {"X-Job-Link": secret}).create().status_code == 401


def test_a_customer_and_an_operator_can_upload(customer, staff, job_and_link, operator):
    customer_upload = row(customer.upload())
    assert customer_upload.job == job_and_link[0]
    assert customer_upload.state == UploadState.COMPLETE
    staff_upload = row(staff.upload())
    assert staff_upload.user == operator
    assert staff_upload.state == UploadState.COMPLETE


def test_a_desk_session_needs_its_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert Tus(client).create().status_code == 401
    client.get("/desk/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    session = Tus(client, {"X-CSRFToken": token})
    response = session.create()
    assert response.status_code == 201
    url = response["Location"]
    assert Tus(client).patch(url, PART, 0).status_code == 404
    assert session.patch(url, PART, 0).status_code == 204


@pytest.mark.parametrize("stranger", ["other_draft", "customer", "staff", "anonymous"])
def test_nobody_else_can_see_append_to_or_terminate_an_upload(draft, stranger, request):
    url = draft.create()["Location"]
    other: Tus = request.getfixturevalue(stranger)
    assert other.head(url).status_code == 404
    assert other.patch(url, PART, 0).status_code == 404
    assert other.delete(url).status_code == 404
    assert other.client.get(url + "status", headers=other.credentials).status_code == 404
    assert row(url).offset == 0
    assert draft.head(url).status_code == 200


def test_bad_ids_and_wrong_methods(draft):
    assert draft.head("/uploads/not-a-uuid/").status_code == 404
    assert draft.head("/uploads/6d0f9c2e-5a55-4c4e-9a51-0b1f3c2d4e5f/").status_code == 404
    url = draft.create()["Location"]
    assert draft.client.get(url, headers=draft._headers({})).status_code == 405
    assert draft.client.put("/uploads/", headers=draft._headers({})).status_code == 405
    assert draft.client.post(url + "status", headers=draft.credentials).status_code == 405


# --- appending --------------------------------------------------------------------------


def test_head_reports_offset_and_length_uncached(draft):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    response = draft.head(url)
    assert response.status_code == 200
    assert response["Upload-Offset"] == "10"
    assert response["Upload-Length"] == str(len(PART))
    assert response["Cache-Control"] == "no-store"


def test_a_finished_draft_upload_is_stored_and_waits_on_the_request_form(
    draft, draft_token, settings
):
    url = draft.create()["Location"]
    first = draft.patch(url, PART[:500], 0, **{"Upload-Checksum": sha1_header(PART[:500])})
    assert first.status_code == 204
    assert first["Upload-Offset"] == "500"
    assert draft.patch(url, PART[500:], 500).status_code == 204
    upload = row(url)
    assert upload.state == UploadState.COMPLETE
    assert upload.sha256 == hashlib.sha256(PART).hexdigest()
    assert not partial(settings, url).exists()
    [kept] = drafts_for(draft_token)
    assert kept == upload.draft
    assert kept.blob.read() == PART
    assert kept.original_name == "part.stl"
    assert draft_token_hash(draft_token) == kept.token_hash
    status = draft.client.get(url + "status", headers=draft.credentials).json()
    assert status["state"] == "complete"
    assert status["sha256"] == upload.sha256


def test_a_chunk_is_streamed_past_the_in_memory_body_limit(draft, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    url = draft.create()["Location"]
    assert draft.patch(url, PART, 0).status_code == 204
    assert row(url).state == UploadState.COMPLETE


def test_a_wrong_offset_is_409(draft):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    response = draft.patch(url, PART[:10], 0)
    assert response.status_code == 409
    assert b"offset 10" in response.content
    assert row(url).offset == 10
    assert draft.patch(url, PART[:10], "x").status_code == 400
    assert draft.patch(url, PART[:10], "²").status_code == 400


def test_a_wrong_checksum_is_460_and_the_chunk_is_discarded(draft, settings):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    response = draft.patch(url, PART[10:50], 10, **{"Upload-Checksum": sha1_header(b"other")})
    assert response.status_code == 460
    assert row(url).offset == 10
    assert partial(settings, url).read_bytes() == PART[:10]
    assert draft.patch(url, PART[10:], 10).status_code == 204


def test_an_unknown_checksum_algorithm_is_400(draft):
    url = draft.create()["Location"]
    response = draft.patch(url, PART, 0, **{"Upload-Checksum": "md5 AAAA"})
    assert response.status_code == 400
    assert row(url).offset == 0


def test_a_wrong_content_type_is_415(draft):
    url = draft.create()["Location"]
    response = draft.patch(url, PART, 0, **{"Content-Type": "application/octet-stream"})
    assert response.status_code == 415
    assert row(url).offset == 0


def test_a_body_past_the_length_is_413_and_harms_nothing(draft, settings):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    assert draft.patch(url, PART + b"extra", 10).status_code == 413
    assert row(url).offset == 10
    assert partial(settings, url).read_bytes() == PART[:10]
    assert draft.patch(url, PART[10:], 10).status_code == 204


def test_a_second_writer_at_once_is_423(draft):
    url = draft.create()["Location"]
    with chunks.writer(str(row(url).uuid)):
        assert draft.patch(url, PART, 0).status_code == 423
        assert draft.head(url)["Upload-Offset"] == "0"
    assert draft.patch(url, PART, 0).status_code == 204


def test_bytes_a_crashed_request_left_behind_are_cut_off(draft, settings):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    with partial(settings, url).open("ab") as half_written:
        half_written.write(b"garbage from a killed process")
    assert draft.head(url)["Upload-Offset"] == "10"
    assert partial(settings, url).read_bytes() == PART[:10]
    assert draft.patch(url, PART[10:], 10).status_code == 204
    assert row(url).sha256 == hashlib.sha256(PART).hexdigest()


def test_a_file_the_checks_refuse_is_reported_with_its_reason(draft, draft_token, settings):
    url = draft.create()["Location"]
    settings.MAX_FILE_BYTES = 100  # the limit fell while the file was on its way
    response = draft.patch(url, PART, 0)
    assert response.status_code == 204
    assert "larger than the limit" in response["Upload-Refused"]
    assert draft.head(url)["Upload-Refused"] == response["Upload-Refused"]
    status = draft.client.get(url + "status", headers=draft.credentials).json()
    assert status["state"] == "refused"
    assert status["refusal"] == "part.stl is larger than the limit per file."
    assert not drafts_for(draft_token).exists()
    assert not partial(settings, url).exists()
    assert draft.patch(url, b"x", len(PART)).status_code == 409


# --- termination and expiry -------------------------------------------------------------


def test_a_chunk_for_an_upload_whose_data_vanished_is_410(draft, settings):
    url = draft.create()["Location"]
    partial(settings, url).unlink()
    assert draft.patch(url, PART, 0).status_code == 410
    assert draft.head(url).status_code == 410


def test_termination_forgets_the_upload(draft, settings):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    assert draft.delete(url).status_code == 204
    assert not partial(settings, url).exists()
    assert draft.head(url).status_code == 404
    assert draft.patch(url, PART[10:], 10).status_code == 404
    assert draft.delete(url).status_code == 404


def test_terminating_a_finished_draft_takes_it_off_the_form(draft, draft_token):
    url = draft.upload()
    blob = row(url).draft.blob
    assert draft.delete(url).status_code == 204
    assert not drafts_for(draft_token).exists()
    assert not blob.storage.exists(blob.name)


def test_an_expired_upload_is_410_then_pruned(draft, settings, clock):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    clock.advance(days=1)
    draft.upload()  # finished: its stored file stays after its row goes
    assert draft.head(url).status_code == 410
    assert draft.patch(url, PART[10:], 10).status_code == 410
    assert prune_expired() == 1
    assert not partial(settings, url).exists()
    assert draft.head(url).status_code == 404
    clock.advance(days=1)
    assert prune_expired() == 1
    assert DraftUpload.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the command closes its connection between batches
def test_the_worker_prunes_expired_uploads_in_its_housekeeping(draft, settings, clock):
    url = draft.create()["Location"]
    clock.advance(days=2)
    call_command("worker", "--once")
    assert not TusUpload.objects.exists()
    assert not partial(settings, url).exists()
