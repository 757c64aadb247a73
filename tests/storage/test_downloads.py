"""printdesk.files.downloads: a version's bytes streamed as an attachment, from disk or S3."""

import hashlib

import pytest
from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse

from printdesk.files.downloads import STREAM_BYTES, MissingFile, file_response
from printdesk.files.models import FileVersion
from tests.conftest import stl_upload
from tests.storage.test_s3_files import binary_stl


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def large_version(make_job):
    """A job whose one file is a 300 KB binary STL, with an awkward name."""
    content = binary_stl(300_000)
    job, _ = make_job(files=[stl_upload("Träger (links).stl", content)])
    return FileVersion.objects.get(job_file__job=job), content


def _check_headers(response, content: bytes) -> None:
    assert response.streaming
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Tr%C3%A4ger%20%28links%29.stl"
    )


def test_from_local_disk_it_is_a_file_response(large_version):
    version, content = large_version

    response = file_response(version)

    assert isinstance(response, FileResponse)
    _check_headers(response, content)
    assert b"".join(response.streaming_content) == content


def test_from_s3_the_object_is_streamed_without_a_temporary_copy(s3_storage, large_version):
    version, content = large_version

    response = file_response(version)

    # Not FileResponse over django-storages' S3File, which downloads it all first.
    assert type(response) is StreamingHttpResponse
    _check_headers(response, content)
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert len(first) == STREAM_BYTES  # the first piece is there before the rest is read
    assert sha256(first + b"".join(chunks)) == sha256(content)


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_a_missing_object_raises_missing_file(storage, request, large_version):
    if storage == "s3":
        request.getfixturevalue("s3_storage")
    version, _ = large_version
    default_storage.delete(version.blob.name)

    with pytest.raises(MissingFile):
        file_response(version)


def test_the_desk_download_streams_from_s3(s3_storage, large_version, client, operator):
    version, content = large_version
    client.force_login(operator)

    response = client.get(reverse("desk:file_download", args=[version.pk]))

    assert response.status_code == 200
    _check_headers(response, content)
    assert b"".join(response.streaming_content) == content


def test_the_api_download_streams_from_disk(large_version, staff_api):
    version, content = large_version
    job = version.job_file.job

    response = staff_api.get(f"/jobs/{job.reference}/files/{version.job_file_id}/versions/1")

    assert response.status_code == 200
    _check_headers(response, content)
    assert b"".join(response.streaming_content) == content


def test_the_desk_answers_410_for_a_missing_object(s3_storage, large_version, client, operator):
    version, _ = large_version
    default_storage.delete(version.blob.name)
    client.force_login(operator)

    response = client.get(reverse("desk:file_download", args=[version.pk]))

    assert response.status_code == 410
