"""The tus uploads with S3 storage (moto's server): the finished file lands in the bucket,
intact, by multipart upload when it is large; termination takes it out again."""

import hashlib
import io

import pytest
from tusclient.client import TusClient

from printdesk.uploads.auth import issue_draft_token
from printdesk.uploads.models import TusUpload, UploadState
from tests.storage.test_s3_files import binary_stl

from .conftest import PART, sha1_header

LARGE = binary_stl(9 * 1024 * 1024)  # past the 8 MiB multipart threshold


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def row(url: str) -> TusUpload:
    return TusUpload.objects.get(uuid=url.rstrip("/").rsplit("/", 1)[-1])


def test_a_finished_upload_is_stored_in_the_bucket(s3_storage, staff):
    url = staff.upload(PART)

    upload = row(url)
    assert upload.state == UploadState.COMPLETE
    assert s3_storage.keys() == [upload.stored_key]
    assert s3_storage.sha256(upload.stored_key) == sha256(PART) == upload.sha256


def test_a_chunked_upload_resumes_after_a_checksum_mismatch_and_arrives_by_multipart(
    s3_storage, customer
):
    before = s3_storage.keys()  # the job's first file
    url = customer.create(len(LARGE), "large.stl")["Location"]
    third = len(LARGE) // 3
    first, second, rest = LARGE[:third], LARGE[third : 2 * third], LARGE[2 * third :]
    assert (
        customer.patch(url, first, 0, **{"Upload-Checksum": sha1_header(first)}).status_code == 204
    )

    refused = customer.patch(url, second, third, **{"Upload-Checksum": sha1_header(first)})
    assert refused.status_code == 460
    assert customer.head(url)["Upload-Offset"] == str(third)
    # No file reaches the bucket before the last byte: only the partial data's tail object.
    assert [k for k in s3_storage.keys() if not k.startswith("uploads-partial/")] == before

    assert (
        customer.patch(url, second, third, **{"Upload-Checksum": sha1_header(second)}).status_code
        == 204
    )
    assert customer.patch(url, rest, 2 * third).status_code == 204
    upload = row(url)
    assert upload.state == UploadState.COMPLETE
    assert s3_storage.sha256(upload.stored_key) == sha256(LARGE) == upload.sha256
    assert s3_storage.etag(upload.stored_key).endswith("-2")  # two 8 MiB-or-less parts


def test_terminating_a_finished_draft_removes_it_from_the_bucket(s3_storage, draft):
    url = draft.upload()
    assert len(s3_storage.keys()) == 1

    assert draft.delete(url).status_code == 204

    assert s3_storage.keys() == []
    assert draft.head(url).status_code == 404


def test_terminating_an_unfinished_upload_leaves_the_bucket_alone(s3_storage, draft):
    url = draft.create()["Location"]
    draft.patch(url, PART[:100], 0)

    assert draft.delete(url).status_code == 204

    assert s3_storage.keys() == []
    assert not TusUpload.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_in_chunks_to_the_bucket(s3_storage, live_server):
    client = TusClient(
        f"{live_server.url}/uploads/", headers={"Upload-Token": issue_draft_token("d" * 32)}
    )
    uploader = client.uploader(
        file_stream=io.BytesIO(LARGE),
        chunk_size=4 * 1024 * 1024,
        metadata={"filename": "large.stl"},
    )
    uploader.upload()

    upload = TusUpload.objects.get()
    assert upload.state == UploadState.COMPLETE
    assert s3_storage.keys() == [upload.stored_key]
    assert s3_storage.sha256(upload.stored_key) == sha256(LARGE)
    assert s3_storage.etag(upload.stored_key).endswith("-2")
