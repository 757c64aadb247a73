"""The public endpoints: the catalogue and the request form (multipart with print files)."""

import pytest

from printdesk.catalogue.models import Material, Printer
from printdesk.files.models import JobFile
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, hash_link_secret
from printdesk.notifications.models import Notification
from tests.conftest import sample_upload, stl_upload


def test_the_catalogue_lists_active_materials_and_printers(api, catalogue):
    Material.objects.create(name="Old nylon", process="sls", active=False)
    Printer.objects.create(
        name="Broken one", process="fdm", build_x_mm=1, build_y_mm=1, build_z_mm=1, active=False
    )

    response = api.get("/catalogue")

    assert response.status_code == 200
    body = response.json()
    assert [m["name"] for m in body["materials"]] == ["PLA", "Tough resin"]
    assert body["materials"][0]["colours"] == ["black", "white"]
    assert [p["name"] for p in body["printers"]] == ["Form 3", "Prusa MK4"]
    assert body["printers"][1]["build_x_mm"] == 250


def _form(catalogue, **fields) -> dict:
    form = {
        "customer_name": "Cara Customer",
        "customer_email": "cara@example.com",
        "customer_company": "Cara's Cogs",
        "material_id": catalogue["pla"].pk,
        "colour": "white",
        "quantity": 4,
        "notes": "Matte please.",
        "files": [stl_upload()],
    }
    form.update(fields)
    return form


def test_a_request_creates_a_job_and_answers_its_private_link(api, customer_api, catalogue):
    response = api.upload("/requests", _form(catalogue))

    assert response.status_code == 201
    body = response.json()
    job = Job.objects.get()
    assert body["reference"] == job.reference
    assert body["link"].endswith(f"/j/{body['secret']}/")
    assert (job.state, job.quantity, job.colour) == (JobState.SUBMITTED, 4, "white")
    assert job.link_hash == hash_link_secret(body["secret"])  # the secret itself is not kept
    mine = customer_api(body["secret"]).get("/customer/job")
    assert mine.status_code == 200
    assert mine.json()["reference"] == job.reference
    assert set(Notification.objects.values_list("audience", flat=True)) == {"customer", "staff"}


def test_a_request_keeps_every_file(api, catalogue):
    files = [
        sample_upload("20mm-xyz-cube.stl"),
        sample_upload("3mf/box.3mf"),
        sample_upload("rabbit.obj"),
    ]

    response = api.upload("/requests", _form(catalogue, files=files))

    assert response.status_code == 201
    names = list(JobFile.objects.values_list("name", flat=True))
    assert names == ["20mm-xyz-cube.stl", "box.3mf", "rabbit.obj"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"customer_name": "  "}, "Please tell us your name."),
        ({"customer_email": "not-an-email"}, "Please give a valid email address."),
        ({"quantity": 0}, "Quantity must be between 1 and 100000."),
        ({"colour": "purple"}, "PLA comes in: black, white."),
        ({"desired_date": "2001-01-01"}, "The desired date is in the past."),
        ({"files": [stl_upload("drawing.pdf")]}, "drawing.pdf: only .stl"),
        ({"files": [stl_upload("part.stl", b"")]}, "part.stl is empty."),
    ],
)
def test_a_refused_request_says_why_and_creates_nothing(api, catalogue, fields, message):
    response = api.upload("/requests", _form(catalogue, **fields))

    assert response.status_code == 422
    assert message in response.json()["message"]
    assert not Job.objects.exists()


def test_a_request_for_an_inactive_material_is_refused(api, catalogue):
    Material.objects.filter(pk=catalogue["pla"].pk).update(active=False)

    response = api.upload("/requests", _form(catalogue))

    assert response.status_code == 422
    assert response.json()["field"] == "material"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": "a dozen"}, "quantity"),
        ({"material_id": "PLA"}, "material_id"),
        ({"desired_date": "next week"}, "desired_date"),
    ],
)
def test_a_request_with_a_wrong_type_is_a_422_naming_the_field(api, catalogue, fields, field):
    response = api.upload("/requests", _form(catalogue, **fields))

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{field}: ")
    assert not Job.objects.exists()


def test_a_request_without_files_is_a_422(api, catalogue):
    form = _form(catalogue)
    del form["files"]

    response = api.upload("/requests", form)

    assert response.status_code == 422
    assert "files: Field required" in response.json()["message"]


def test_a_request_without_any_field_names_them_all(api, catalogue):
    response = api.upload("/requests", {})

    assert response.status_code == 422
    message = response.json()["message"]
    for field in ("customer_name", "customer_email", "material_id", "quantity", "files"):
        assert f"{field}: Field required" in message


def test_a_request_with_too_many_files_is_refused(api, catalogue, settings):
    settings.MAX_FILES_PER_JOB = 2
    files = [stl_upload(f"part{n}.stl") for n in range(3)]

    response = api.upload("/requests", _form(catalogue, files=files))

    assert response.status_code == 422
    assert response.json()["message"] == "Attach at most 2 files."
