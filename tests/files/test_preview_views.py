"""The preview images of a file version, on the desk and behind the customer's link.

Each is a PNG from storage, served only to who may see the job: staff on the desk, the link's
holder on the portal, and only for that job's versions.
"""

import pytest
from django.urls import reverse

from printdesk.files.models import Analysis
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from tests.conftest import sample_upload
from tests.files.analysed import analysed, newest_version

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGES = ["file_preview", "file_thumbnail"]
FIELD = {"file_preview": "preview", "file_thumbnail": "thumbnail"}


@pytest.fixture
def cube(make_job):
    """A job whose one file (the 20 mm calibration cube) is analysed, with its link."""
    job, secret = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    version = newest_version(job)
    analysed(version)
    return job, secret, version


def desk_url(name: str, job, version_id: int) -> str:
    return reverse(f"desk:{name}", args=[job.reference, version_id])


def portal_url(name: str, secret: str, version_id: int) -> str:
    return reverse(f"portal:{name}", args=[secret, version_id])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def stored(version, name: str) -> bytes:
    image = getattr(Analysis.objects.get(version=version), FIELD[name])
    with image.open("rb") as handle:
        return handle.read()


# --- the desk -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", IMAGES)
def test_an_operator_gets_the_png_from_storage(client, operator, cube, name):
    job, _, version = cube
    client.force_login(operator)

    response = client.get(desk_url(name, job, version.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"
    data = body(response)
    assert data.startswith(PNG_SIGNATURE)
    assert data == stored(version, name)


def test_the_thumbnail_is_smaller_than_the_preview(client, operator, cube):
    job, _, version = cube
    client.force_login(operator)

    preview = body(client.get(desk_url("file_preview", job, version.pk)))
    thumbnail = body(client.get(desk_url("file_thumbnail", job, version.pk)))

    assert len(thumbnail) < len(preview)


@pytest.mark.parametrize("name", IMAGES)
def test_an_admin_gets_it_too(client, admin, cube, name):
    job, _, version = cube
    client.force_login(admin)

    assert client.get(desk_url(name, job, version.pk)).status_code == 200


@pytest.mark.parametrize("name", IMAGES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, cube, name):
    job, _, version = cube

    response = client.get(desk_url(name, job, version.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


@pytest.mark.parametrize("name", IMAGES)
def test_a_user_who_is_not_staff_is_refused(client, stranger_user, cube, name):
    job, _, version = cube
    client.force_login(stranger_user)

    assert client.get(desk_url(name, job, version.pk)).status_code == 403


@pytest.mark.parametrize("name", IMAGES)
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_desk_images_only_answer_get(client, operator, cube, name, method):
    job, _, version = cube
    client.force_login(operator)

    response = getattr(client, method)(desk_url(name, job, version.pk))

    assert response.status_code == 405


@pytest.mark.parametrize("name", IMAGES)
def test_a_version_of_another_job_is_not_found(client, operator, cube, make_job, name):
    _, _, version = cube
    other, _ = make_job()
    client.force_login(operator)

    response = client.get(desk_url(name, other, version.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", IMAGES)
def test_bad_ids_are_not_found(client, operator, cube, name):
    job, _, version = cube
    client.force_login(operator)

    assert client.get(desk_url(name, job, 987_654)).status_code == 404
    assert client.get(reverse(f"desk:{name}", args=["PD-98765", version.pk])).status_code == 404
    assert client.get(reverse(f"desk:{name}", args=["nonsense", version.pk])).status_code == 404


@pytest.mark.parametrize("name", IMAGES)
def test_a_version_not_analysed_yet_has_no_image(client, operator, make_job, name):
    job, _ = make_job()
    client.force_login(operator)

    response = client.get(desk_url(name, job, newest_version(job).pk))

    assert response.status_code == 404


def test_an_image_lost_from_storage_is_not_found(client, operator, cube):
    job, _, version = cube
    analysis = Analysis.objects.get(version=version)
    analysis.preview.storage.delete(analysis.preview.name or "")
    client.force_login(operator)

    response = client.get(desk_url("file_preview", job, version.pk))

    assert response.status_code == 404


# --- the portal ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", IMAGES)
def test_the_link_holder_gets_the_png_kept_out_of_caches(client, cube, name):
    _, secret, version = cube

    response = client.get(portal_url(name, secret, version.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body(response) == stored(version, name)


@pytest.mark.parametrize("name", IMAGES)
def test_a_link_opens_only_its_own_jobs_images(client, cube, make_job, name):
    _, _, version = cube
    _, other_secret = make_job()

    response = client.get(portal_url(name, other_secret, version.pk))

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name", IMAGES)
def test_a_made_up_link_opens_nothing(client, cube, name):
    _, _, version = cube

    response = client.get(portal_url(name, "x" * 43, version.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", IMAGES)
def test_a_replaced_link_is_gone(client, cube, operator, name):
    job, secret, version = cube
    actions.rotate_link(job=job, actor=Actor.staff(operator))

    response = client.get(portal_url(name, secret, version.pk))

    assert response.status_code == 410
    assert b"PNG" not in response.content


@pytest.mark.parametrize("name", IMAGES)
def test_the_portal_images_only_answer_get(client, cube, name):
    _, secret, version = cube

    assert client.post(portal_url(name, secret, version.pk)).status_code == 405


@pytest.mark.parametrize("name", IMAGES)
def test_a_bad_version_id_on_the_portal_is_not_found(client, cube, name):
    _, secret, _ = cube

    assert client.get(portal_url(name, secret, 987_654)).status_code == 404


@pytest.mark.parametrize("name", IMAGES)
def test_a_pending_version_has_no_image_on_the_portal(client, make_job, name):
    job, secret = make_job()

    response = client.get(portal_url(name, secret, newest_version(job).pk))

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_dispatched_jobs_link_still_shows_its_preview(client, make_job):
    job, secret = make_job(JobState.DISPATCHED, files=[sample_upload("20mm-xyz-cube.stl")])
    version = newest_version(job)
    analysed(version)

    response = client.get(portal_url("file_preview", secret, version.pk))

    assert response.status_code == 200
