"""Print files through the API: revisions by customer and staff, what uploads are refused, and
downloads that give back exactly what was uploaded.

An upload is checked for its extension, emptiness, size and content (is it an STL, a 3MF, an
OBJ or a STEP file at all?) before anything is stored: see docs/files.md and tests/files/.
"""

import hashlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from printdesk.jobs.lifecycle import JobState
from printdesk.uploads.models import TusUpload, UploadState
from tests.api.conftest import snapshot
from tests.conftest import SAMPLES, sample_upload, stl_upload
from tests.portal.test_uploader import tus_upload, upload_id


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


GOOD_SAMPLES = ["20mm-xyz-cube.stl", "3mf/box.3mf", "rabbit.obj", "unit_cube.STL", "counterX.3MF"]
WRONG_EXTENSION = ["README.md", "LICENSE-trimesh-models.md", "3mf/LICENSE-3mf-samples"]
# Right extension, wrong content: refused by the content checks, with what is wrong.
BROKEN_CONTENT = {
    "empty.stl": "empty.stl has no triangles: there is nothing to print.",
    "3mf/MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf": (
        "MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf is damaged: its part 3D/3dmodel.model is "
        "not valid XML (junk after document element, line 88). Please export it again."
    ),
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored_blobs() -> int:
    return sum(1 for path in Path(django_settings.MEDIA_ROOT).rglob("*") if path.is_file())


def _download(staff_api, job, file_id: int, number: int):
    response = staff_api.get(f"/jobs/{job.reference}/files/{file_id}/versions/{number}")
    assert response.status_code == 200
    return response


@pytest.fixture(params=["customer", "staff"])
def uploader(request, staff_api, customer_api):
    """Upload as the customer (through their link) or as staff: the same rules apply."""

    def upload(job, secret, data: dict):
        if request.param == "customer":
            return customer_api(secret).upload("/customer/job/files", data)
        return staff_api.upload(f"/jobs/{job.reference}/files", data)

    return upload


@pytest.mark.parametrize("sample", GOOD_SAMPLES)
def test_a_good_print_file_is_accepted_and_given_back_byte_for_byte(
    make_job, staff_api, uploader, sample
):
    job, secret = make_job()
    content = (SAMPLES / sample).read_bytes()

    response = uploader(job, secret, {"file": sample_upload(sample)})

    assert response.status_code == 201
    new_file = job.files.order_by("id").last()
    assert new_file.name == Path(sample).name
    download = _download(staff_api, job, new_file.pk, 1)
    assert _sha256(download.getvalue()) == _sha256(content)
    assert download["Content-Disposition"] == f'attachment; filename="{Path(sample).name}"'
    detail = staff_api.get(f"/jobs/{job.reference}").json()
    version = detail["files"][-1]["versions"][0]
    assert (version["size"], version["sha256"]) == (len(content), _sha256(content))


@pytest.mark.parametrize("sample", WRONG_EXTENSION)
def test_a_file_that_is_not_a_print_file_is_refused_and_nothing_changes(make_job, uploader, sample):
    job, secret = make_job(JobState.QUOTED)
    before, blobs = snapshot(job), _stored_blobs()

    response = uploader(job, secret, {"file": sample_upload(sample)})

    assert response.status_code == 422
    body = response.json()
    assert body["message"] == (
        f"{Path(sample).name}: only .stl, .3mf, .obj, .step, .stp files can be printed."
    )
    assert body["field"] == "file"
    assert snapshot(job) == before
    assert _stored_blobs() == blobs


def test_an_empty_file_is_refused_and_nothing_changes(make_job, uploader):
    job, secret = make_job(JobState.QUOTED)
    before, blobs = snapshot(job), _stored_blobs()

    response = uploader(job, secret, {"file": stl_upload("revised.stl", b"")})

    assert response.status_code == 422
    assert response.json()["message"] == "revised.stl is empty."
    assert snapshot(job) == before
    assert _stored_blobs() == blobs


def test_a_file_over_the_size_limit_is_refused(make_job, uploader, settings):
    settings.MAX_FILE_BYTES = 10_000
    job, secret = make_job(JobState.QUOTED)
    before = snapshot(job)

    response = uploader(job, secret, {"file": sample_upload("20mm-xyz-cube.stl")})

    assert response.status_code == 422
    assert response.json()["message"] == "20mm-xyz-cube.stl is larger than the limit per file."
    assert snapshot(job) == before


@pytest.mark.parametrize("sample", BROKEN_CONTENT)
def test_a_broken_mesh_never_crashes_an_upload(make_job, uploader, sample):
    job, secret = make_job()

    response = uploader(job, secret, {"file": sample_upload(sample)})

    assert response.status_code in (201, 422)  # and, as always, never a 5xx


@pytest.mark.parametrize("sample", BROKEN_CONTENT)
def test_a_broken_mesh_is_refused_clearly(make_job, uploader, sample):
    job, secret = make_job()
    before, blobs = snapshot(job), _stored_blobs()

    response = uploader(job, secret, {"file": sample_upload(sample)})

    assert response.status_code == 422
    assert response.json()["message"] == BROKEN_CONTENT[sample]
    assert response.json()["field"] == "file"
    assert snapshot(job) == before
    assert _stored_blobs() == blobs


def test_an_upload_without_a_file_is_a_422(make_job, uploader):
    job, secret = make_job()

    response = uploader(job, secret, {"file_id": job.files.get().pk})

    assert response.status_code == 422
    assert response.json()["message"].startswith("Send the file, or the id of a finished upload")


def test_a_revision_of_another_jobs_file_is_refused(make_job, uploader):
    job, secret = make_job(JobState.QUOTED)
    other, _ = make_job()
    before, other_before = snapshot(job), snapshot(other)

    response = uploader(job, secret, {"file": stl_upload(), "file_id": other.files.get().pk})

    assert response.status_code == 422
    assert response.json()["message"] == "That file is not part of this job."
    assert (snapshot(job), snapshot(other)) == (before, other_before)


def test_a_file_id_that_is_not_a_number_is_a_422(make_job, uploader):
    job, secret = make_job()

    response = uploader(job, secret, {"file": stl_upload(), "file_id": "first"})

    assert response.status_code == 422
    assert response.json()["message"].startswith("file_id: ")


def test_every_version_stays_downloadable(make_job, staff_api, customer_api):
    job, secret = make_job()
    job_file = job.files.get()
    with job_file.versions.get().blob.open("rb") as blob:
        first = blob.read()
    cube = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()

    response = customer_api(secret).upload(
        "/customer/job/files",
        {"file": sample_upload("20mm-xyz-cube.stl"), "file_id": job_file.pk},
    )

    assert response.status_code == 201
    [shown] = response.json()["files"]
    assert (shown["id"], shown["name"], shown["versions"]) == (job_file.pk, "part.stl", 2)
    assert (shown["analysis"]["version"], shown["analysis"]["state"]) == (2, "pending")
    old = _download(staff_api, job, job_file.pk, 1)
    new = _download(staff_api, job, job_file.pk, 2)
    assert _sha256(old.getvalue()) == _sha256(first)
    assert _sha256(new.getvalue()) == _sha256(cube)
    assert new["Content-Disposition"] == 'attachment; filename="20mm-xyz-cube.stl"'
    versions = staff_api.get(f"/jobs/{job.reference}").json()["files"][0]["versions"]
    assert [(v["number"], v["uploaded_by"]) for v in versions] == [(1, "customer"), (2, "customer")]


def test_staff_uploads_are_recorded_as_theirs(make_job, staff_api):
    job, _ = make_job()

    response = staff_api.upload(
        f"/jobs/{job.reference}/files", {"file": stl_upload(), "file_id": job.files.get().pk}
    )

    assert response.status_code == 201
    assert response.json()["files"][0]["versions"][1]["uploaded_by"] == "operator"
    assert response.json()["audit"][-1]["event"] == "file_revised"


def test_an_upload_name_is_made_safe(make_job, staff_api):
    job, _ = make_job()

    response = staff_api.upload(
        f"/jobs/{job.reference}/files", {"file": stl_upload("../../etc/my <part>.stl")}
    )

    assert response.status_code == 201
    new_file = job.files.order_by("id").last()
    assert new_file.name == "my _part_.stl"
    download = _download(staff_api, job, new_file.pk, 1)
    assert download["Content-Disposition"] == 'attachment; filename="my _part_.stl"'


def test_a_revision_before_any_quote_keeps_the_job_submitted(make_job, customer_api):
    _, secret = make_job()

    response = customer_api(secret).upload("/customer/job/files", {"file": stl_upload()})

    assert response.status_code == 201
    assert (response.json()["state"], response.json()["version"]) == ("submitted", 2)


@pytest.mark.parametrize("state", [JobState.QUOTED, JobState.ACCEPTED])
def test_a_revision_after_a_quote_sends_the_job_back_for_quoting(
    make_job, staff_api, customer_api, state
):
    job, secret = make_job(state)

    response = customer_api(secret).upload("/customer/job/files", {"file": stl_upload()})

    assert response.status_code == 201
    assert response.json()["state"] == "submitted"
    assert response.json()["quote"] is None
    quotes = staff_api.get(f"/jobs/{job.reference}").json()["quotes"]
    assert [q["status"] for q in quotes] == ["superseded"]


@pytest.mark.parametrize(
    "state", [JobState.IN_PRODUCTION, JobState.READY, JobState.CANCELLED, JobState.DISPATCHED]
)
def test_files_are_not_revised_once_production_started_or_the_job_ended(make_job, uploader, state):
    job, secret = make_job(state)
    before = snapshot(job)

    response = uploader(job, secret, {"file": stl_upload()})

    assert response.status_code == 409
    assert snapshot(job) == before


def test_a_stale_expected_version_refuses_an_upload(make_job, uploader):
    job, secret = make_job(JobState.QUOTED)
    before = snapshot(job)

    response = uploader(job, secret, {"file": stl_upload(), "expected_version": job.version - 1})

    assert response.status_code == 409
    assert response.json()["code"] == "job_changed"
    assert snapshot(job) == before


def test_a_version_missing_from_storage_is_a_410_with_a_message(make_job, staff_api):
    job, _ = make_job()
    version = job.files.first().versions.first()
    Path(django_settings.MEDIA_ROOT, version.blob.name).unlink()

    response = staff_api.get(f"/jobs/{job.reference}/files/{job.files.first().pk}/versions/1")

    assert response.status_code == 410
    assert "missing" in response.json()["message"]


# --- large files: first by tus, then named by upload_id -----------------------------------------


@pytest.fixture(params=["customer", "staff"])
def tus_then_api(request, staff_api, customer_api, staff_token):
    """A file sent by tus with the API call's own credential (the job's link, or the token),
    then the revision naming it by `upload_id`: as `uploader` above, large files' way."""

    def upload(job, secret: str, data: bytes) -> str:
        credential = {"HTTP_X_JOB_LINK": secret}
        if request.param == "staff":
            credential = bearer(staff_token)
        return upload_id(tus_upload(Client(), credential, data, "part-v2.stl"))

    def revise(job, secret: str, body: dict):
        if request.param == "customer":
            return customer_api(secret).upload("/customer/job/files", body)
        return staff_api.upload(f"/jobs/{job.reference}/files", body)

    return upload, revise


def test_a_finished_upload_becomes_the_revision(make_job, tus_then_api):
    job, secret = make_job(JobState.QUOTED)
    upload, uploader = tus_then_api
    data = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()
    finished = upload(job, secret, data)

    response = uploader(job, secret, {"upload_id": finished, "file_id": job.files.get().pk})

    assert response.status_code == 201, response.content
    version = job.files.get().versions.get(number=2)
    assert (version.original_name, version.sha256) == ("part-v2.stl", _sha256(data))
    assert not TusUpload.objects.exists()  # used up: it becomes this one version only
    again = uploader(job, secret, {"upload_id": finished, "file_id": job.files.get().pk})
    assert again.status_code == 422
    assert again.json()["message"].startswith("That upload is not there any more")


def test_a_file_and_an_upload_id_together_are_refused(make_job, tus_then_api):
    job, secret = make_job()
    upload, uploader = tus_then_api
    finished = upload(job, secret, (SAMPLES / "20mm-xyz-cube.stl").read_bytes())
    before = snapshot(job)

    response = uploader(job, secret, {"file": stl_upload(), "upload_id": finished})

    assert response.status_code == 422
    assert response.json()["field"] == "file"
    assert snapshot(job) == before
    assert TusUpload.objects.get().state == UploadState.COMPLETE  # still usable


def test_a_customer_cannot_use_an_operators_upload_nor_the_reverse(
    make_job, staff_api, customer_api, staff_token
):
    job, secret = make_job()
    data = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()
    operators = upload_id(tus_upload(Client(), bearer(staff_token), data, "ops.stl"))
    customers = upload_id(tus_upload(Client(), {"HTTP_X_JOB_LINK": secret}, data, "mine.stl"))
    before = snapshot(job)

    refused = [
        customer_api(secret).upload("/customer/job/files", {"upload_id": operators}),
        staff_api.upload(f"/jobs/{job.reference}/files", {"upload_id": customers}),
    ]

    assert [r.status_code for r in refused] == [422, 422]
    assert all(r.json()["message"].startswith("That upload is not there any") for r in refused)
    assert snapshot(job) == before
    assert TusUpload.objects.filter(state=UploadState.COMPLETE).count() == 2
