"""Downloading a file from the status page: an attachment, for the link's own job only."""

from django.urls import reverse

from printdesk.lib.demo import box_stl
from tests.conftest import stl_upload
from tests.portal.conftest import status_url


def download_url(secret: str, version_id: int) -> str:
    return reverse("portal:download", args=[secret, version_id])


def test_it_streams_the_file_as_an_attachment(client, make_job):
    job, secret = make_job(files=[stl_upload("bracket.stl")])
    version = job.files.get().versions.get()

    response = client.get(download_url(secret, version.pk))

    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == box_stl("bracket.stl")
    assert response["Content-Disposition"] == 'attachment; filename="bracket.stl"'
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_another_jobs_file_is_not_found_through_this_link(client, make_job):
    _, secret = make_job()
    other, _ = make_job(customer_email="dan@example.com")
    theirs = other.files.get().versions.get()

    response = client.get(download_url(secret, theirs.pk))

    assert response.status_code == 404
    assert b"solid" not in response.content


def test_an_unknown_link_or_version_is_not_found(client, make_job):
    job, secret = make_job()
    version = job.files.get().versions.get()
    assert client.get(download_url("wrong", version.pk)).status_code == 404
    assert client.get(download_url(secret, 999_999)).status_code == 404


def test_only_get_downloads(client, make_job):
    job, secret = make_job()
    version = job.files.get().versions.get()
    assert client.post(download_url(secret, version.pk)).status_code == 405


def test_the_status_page_links_to_the_download(client, make_job):
    job, secret = make_job()
    version = job.files.get().versions.get()
    assert download_url(secret, version.pk) in client.get(status_url(secret)).content.decode()
