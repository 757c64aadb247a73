"""The 3D view's mesh of a file version, on the desk and behind the customer's link.

Served with the preview's rules: staff on the desk, the link's holder on the portal, only for
that job's versions; and only named on the pages (the viewer's data attribute) when there is one.
"""

import pytest
from django.urls import reverse

from printdesk.files.models import Analysis
from printdesk.files.viewer_mesh import decode
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from tests.conftest import sample_upload
from tests.files.analysed import analysed, newest_version

pytestmark = pytest.mark.django_db

OCTETS = "application/octet-stream"


@pytest.fixture
def cube(make_job):
    """A job whose one file (the 20 mm calibration cube) is analysed, with its link."""
    job, secret = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    version = newest_version(job)
    analysed(version)
    return job, secret, version


def desk_url(job, version_id: int) -> str:
    return reverse("desk:file_mesh", args=[job.reference, version_id])


def portal_url(secret: str, version_id: int) -> str:
    return reverse("portal:file_mesh", args=[secret, version_id])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def stored(version) -> bytes:
    with Analysis.objects.get(version=version).viewer_mesh.open("rb") as handle:
        return handle.read()


# --- the desk -----------------------------------------------------------------------------------


def test_an_operator_gets_the_mesh_from_storage(client, operator, cube):
    job, _, version = cube
    client.force_login(operator)

    response = client.get(desk_url(job, version.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == OCTETS
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"
    data = body(response)
    assert data == stored(version)
    assert len(decode(data)[0]) == 260


def test_the_job_page_names_the_mesh_and_loads_the_viewer(client, operator, cube):
    job, _, version = cube
    client.force_login(operator)

    html = client.get(reverse("desk:job", args=[job.reference])).content.decode()

    assert f'data-viewer-mesh="{desk_url(job, version.pk)}"' in html
    assert 'data-viewer-name="20mm-xyz-cube.stl, version 1"' in html
    assert "printdesk/viewer.js" in html


def test_a_version_without_a_mesh_gets_no_viewer(client, operator, cube):
    job, _, version = cube
    Analysis.objects.filter(version=version).update(viewer_mesh="")  # analysed before it existed
    client.force_login(operator)

    html = client.get(reverse("desk:job", args=[job.reference])).content.decode()

    assert "data-viewer-mesh" not in html and "Preview of 20mm-xyz-cube.stl" in html
    assert client.get(desk_url(job, version.pk)).status_code == 404


def test_an_admin_gets_it_too(client, admin, cube):
    job, _, version = cube
    client.force_login(admin)

    assert client.get(desk_url(job, version.pk)).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client, cube):
    job, _, version = cube

    response = client.get(desk_url(job, version.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_a_user_who_is_not_staff_is_refused(client, stranger_user, cube):
    job, _, version = cube
    client.force_login(stranger_user)

    assert client.get(desk_url(job, version.pk)).status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_desk_mesh_only_answers_get(client, operator, cube, method):
    job, _, version = cube
    client.force_login(operator)

    assert getattr(client, method)(desk_url(job, version.pk)).status_code == 405


def test_a_version_of_another_job_is_not_found(client, operator, cube, make_job):
    _, _, version = cube
    other, _ = make_job()
    client.force_login(operator)

    assert client.get(desk_url(other, version.pk)).status_code == 404


def test_bad_ids_are_not_found(client, operator, cube):
    job, _, version = cube
    client.force_login(operator)

    assert client.get(desk_url(job, 987_654)).status_code == 404
    assert client.get(reverse("desk:file_mesh", args=["PD-98765", version.pk])).status_code == 404


def test_a_version_not_analysed_yet_has_no_mesh(client, operator, make_job):
    job, _ = make_job()
    client.force_login(operator)

    assert client.get(desk_url(job, newest_version(job).pk)).status_code == 404


def test_a_mesh_lost_from_storage_is_not_found(client, operator, cube):
    job, _, version = cube
    made = Analysis.objects.get(version=version).viewer_mesh
    made.storage.delete(made.name or "")
    client.force_login(operator)

    assert client.get(desk_url(job, version.pk)).status_code == 404


# --- the portal ---------------------------------------------------------------------------------


def test_the_link_holder_gets_the_mesh_kept_out_of_caches(client, cube):
    _, secret, version = cube

    response = client.get(portal_url(secret, version.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == OCTETS
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert body(response) == stored(version)


def test_the_status_page_names_the_mesh_and_loads_the_viewer(client, cube):
    _, secret, version = cube

    html = client.get(reverse("portal:status", args=[secret])).content.decode()

    assert f'data-viewer-mesh="{portal_url(secret, version.pk)}"' in html
    assert "printdesk/viewer.js" in html and "printdesk/portal.js" in html


def test_a_link_opens_only_its_own_jobs_mesh(client, cube, make_job):
    _, _, version = cube
    _, other_secret = make_job()

    response = client.get(portal_url(other_secret, version.pk))

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"


def test_a_made_up_link_opens_nothing(client, cube):
    _, _, version = cube

    assert client.get(portal_url("x" * 43, version.pk)).status_code == 404


def test_a_replaced_link_is_gone(client, cube, operator):
    job, secret, version = cube
    actions.rotate_link(job=job, actor=Actor.staff(operator))

    response = client.get(portal_url(secret, version.pk))

    assert response.status_code == 410
    assert b"PDVM" not in response.content


def test_the_portal_mesh_only_answers_get(client, cube):
    _, secret, version = cube

    assert client.post(portal_url(secret, version.pk)).status_code == 405


def test_a_bad_version_id_on_the_portal_is_not_found(client, cube):
    _, secret, _ = cube

    assert client.get(portal_url(secret, 987_654)).status_code == 404


def test_a_pending_version_has_no_mesh_on_the_portal(client, make_job):
    job, secret = make_job()

    response = client.get(portal_url(secret, newest_version(job).pk))

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
