"""Print files in an S3 bucket (moto's server on 127.0.0.1): every upload path puts the right
bytes under a generated key, every download gives them back, and nothing overwrites or deletes
a stored object. Each test looks in the bucket with boto3, not only through Django.
"""

import hashlib
import re
import struct

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from printdesk.files.models import DraftUpload, FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from tests.api.conftest import ApiClient
from tests.conftest import SAMPLES, sample_upload, stl_upload

KEY_RE = re.compile(r"^files/\d{4}/\d{2}/[0-9a-f]{32}\.(stl|3mf|obj)$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def binary_stl(size: int) -> bytes:
    """A binary STL of about `size` bytes: 84 + 50 * n bytes, with n in its header."""
    count = (size - 84) // 50
    tile = b"".join(
        struct.pack("<12fH", 0, 0, 1, i, 0, 0, i + 1, 0, 0, i, 1, 0, 0) for i in range(1000)
    )
    triangles = (tile * (count // 1000 + 1))[: count * 50]
    return b"printdesk storage test".ljust(80, b" ") + struct.pack("<I", count) + triangles


def request_form(catalogue, files) -> dict:
    return {
        "customer_name": "Cara Customer",
        "customer_email": "cara@example.com",
        "material_id": catalogue["pla"].pk,
        "colour": "white",
        "quantity": 2,
        "files": files,
    }


def versions(job: Job) -> list[FileVersion]:
    return list(FileVersion.objects.filter(job_file__job=job).order_by("job_file_id", "number"))


def streamed(response) -> bytes:
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


# --- the upload paths ------------------------------------------------------------------------


def test_an_api_request_stores_its_files_in_the_bucket(s3_storage, api, catalogue):
    cube = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()
    box = (SAMPLES / "3mf/box.3mf").read_bytes()
    files = [sample_upload("20mm-xyz-cube.stl"), sample_upload("3mf/box.3mf")]

    response = api.upload("/requests", request_form(catalogue, files))

    assert response.status_code == 201
    stored = versions(Job.objects.get())
    assert s3_storage.keys() == sorted(v.blob.name for v in stored)
    for version, content in zip(stored, [cube, box], strict=True):
        assert KEY_RE.match(version.blob.name), version.blob.name
        assert s3_storage.sha256(version.blob.name) == sha256(content) == version.sha256
        assert s3_storage.head(version.blob.name)["ContentLength"] == len(content)


def test_the_request_form_stores_its_files_in_the_bucket(s3_storage, client, send_request):
    cube = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()

    response = send_request(client, files=[sample_upload("20mm-xyz-cube.stl")])

    assert response.status_code == 302
    [version] = versions(Job.objects.get())
    assert not DraftUpload.objects.exists()  # the draft's object became the job's file
    assert s3_storage.keys() == [version.blob.name]
    assert KEY_RE.match(version.blob.name)
    assert s3_storage.sha256(version.blob.name) == sha256(cube)


def test_a_form_that_comes_back_with_errors_keeps_its_file_in_the_bucket(
    s3_storage, client, send_request
):
    response = send_request(client, files=[stl_upload("bracket.stl")], customer_email="nope")

    assert response.status_code == 422  # the form again, with the file kept as a draft
    [draft] = DraftUpload.objects.all()
    assert s3_storage.keys() == [draft.blob.name]
    assert s3_storage.sha256(draft.blob.name) == draft.sha256


# --- downloads -------------------------------------------------------------------------------


@pytest.fixture
def job_in_bucket(s3_storage, make_job):
    content = (SAMPLES / "torus.STL").read_bytes()
    job, secret = make_job(files=[sample_upload("torus.STL")])
    [version] = versions(job)
    assert s3_storage.sha256(version.blob.name) == sha256(content)
    return job, secret, version, content


def test_the_customer_downloads_the_same_bytes(job_in_bucket, client):
    _, secret, version, content = job_in_bucket

    response = client.get(reverse("portal:download", args=[secret, version.pk]))

    assert sha256(streamed(response)) == sha256(content)
    assert response["Content-Disposition"] == 'attachment; filename="torus.STL"'
    assert response["Content-Length"] == str(len(content))


def test_staff_download_the_same_bytes_from_the_desk(job_in_bucket, client, operator):
    _, _, version, content = job_in_bucket
    client.force_login(operator)

    response = client.get(reverse("desk:file_download", args=[version.pk]))

    assert sha256(streamed(response)) == sha256(content)
    assert response["Content-Disposition"] == 'attachment; filename="torus.STL"'


def test_staff_download_the_same_bytes_through_the_api(job_in_bucket, staff_api):
    job, _, version, content = job_in_bucket
    path = f"/jobs/{job.reference}/files/{version.job_file_id}/versions/1"

    response = staff_api.get(path)

    assert sha256(streamed(response)) == sha256(content)
    assert response["Content-Disposition"] == 'attachment; filename="torus.STL"'


def test_an_object_missing_from_the_bucket_is_reported_not_crashed(job_in_bucket, staff_api):
    job, _, version, _ = job_in_bucket
    bucket = default_storage.bucket_name
    default_storage.connection.meta.client.delete_object(Bucket=bucket, Key=version.blob.name)

    response = staff_api.get(f"/jobs/{job.reference}/files/{version.job_file_id}/versions/1")

    assert response.status_code == 410


# --- immutability ----------------------------------------------------------------------------


def test_a_revision_is_a_new_object_and_the_first_is_untouched(s3_storage, make_job, customer_api):
    job, secret = make_job(JobState.QUOTED)
    [first] = versions(job)
    first_etag, first_sha = s3_storage.etag(first.blob.name), s3_storage.sha256(first.blob.name)
    revised = (SAMPLES / "7_8ths_cube.stl").read_bytes()

    response = customer_api(secret).upload(
        "/customer/job/files",
        {"file": sample_upload("7_8ths_cube.stl"), "file_id": first.job_file_id},
    )

    assert response.status_code == 201
    _, second = versions(job)
    assert second.number == 2 and second.blob.name != first.blob.name
    assert s3_storage.keys() == sorted([first.blob.name, second.blob.name])
    assert s3_storage.sha256(second.blob.name) == sha256(revised)
    assert s3_storage.etag(first.blob.name) == first_etag
    assert s3_storage.sha256(first.blob.name) == first_sha


def test_saving_to_an_existing_key_never_overwrites(s3_storage):
    key = "files/2026/01/0123456789abcdef0123456789abcdef.stl"
    assert default_storage.save(key, ContentFile(b"first")) == key

    again = default_storage.save(key, ContentFile(b"second"))

    assert again != key
    assert s3_storage.body(key) == b"first"
    assert s3_storage.body(again) == b"second"


# --- large files -----------------------------------------------------------------------------


def test_a_large_file_reaches_the_bucket_by_multipart_upload(s3_storage, api, catalogue):
    content = binary_stl(20 * 1024**2)
    upload = stl_upload("big.stl", content)

    response = api.upload("/requests", request_form(catalogue, [upload]))

    assert response.status_code == 201
    [version] = versions(Job.objects.get())
    # A multipart object's ETag is "<md5 of the parts' md5s>-<number of parts>": 8 MiB parts.
    assert s3_storage.etag(version.blob.name).endswith("-3")
    assert s3_storage.head(version.blob.name)["ContentLength"] == len(content)
    assert s3_storage.sha256(version.blob.name) == sha256(content) == version.sha256
    secret = response.json()["secret"]
    download = Client().get(reverse("portal:download", args=[secret, version.pk]))
    assert sha256(streamed(download)) == sha256(content)


# --- refusals and state changes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", b"not a print file"), ("empty.stl", b"")],
    ids=["wrong-extension", "empty"],
)
def test_a_refused_file_leaves_nothing_in_the_bucket(
    s3_storage, api: ApiClient, catalogue, name, content
):
    upload = stl_upload(name, content)

    response = api.upload("/requests", request_form(catalogue, [upload]))

    assert response.status_code == 422
    assert not Job.objects.exists()
    assert s3_storage.keys() == []


def test_a_refused_revision_leaves_the_bucket_as_it_was(s3_storage, make_job, customer_api):
    _, secret = make_job(JobState.QUOTED)
    before = s3_storage.keys()

    response = customer_api(secret).upload("/customer/job/files", {"file": stl_upload("x.txt")})

    assert response.status_code == 422
    assert s3_storage.keys() == before


def test_cancelling_a_job_deletes_none_of_its_objects(s3_storage, make_job, customer_api):
    job, secret = make_job(JobState.QUOTED)
    customer_api(secret).upload("/customer/job/files", {"file": stl_upload("second.stl")})
    keys = sorted(v.blob.name for v in versions(job))
    sums = {key: s3_storage.sha256(key) for key in keys}

    response = customer_api(secret).post("/customer/job/cancel", {"reason": "Changed my mind"})

    assert response.status_code == 200
    assert Job.objects.get(pk=job.pk).state == JobState.CANCELLED
    assert s3_storage.keys() == keys
    assert {key: s3_storage.sha256(key) for key in keys} == sums


def test_health_check_answers_with_the_bucket(s3_storage, client, db):
    response = client.get("/readyz")  # issue 8: readiness asks the storage, liveness does not
    assert response.status_code == 200


@pytest.mark.parametrize("state", [JobState.DECLINED, JobState.DISPATCHED])
def test_a_job_that_ends_keeps_its_objects(s3_storage, make_job, state):
    job, _ = make_job(state)
    [version] = versions(job)

    assert job.state == state
    assert s3_storage.keys() == [version.blob.name]
    assert s3_storage.sha256(version.blob.name) == version.sha256
