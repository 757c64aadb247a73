"""store_upload with the content checks: a refused file leaves nothing behind, wherever it came
from (the API, the request form's drafts, a revision, a file already on disk)."""

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.urls import reverse

from printdesk.files.models import DraftUpload, FileVersion
from printdesk.files.storage import keep_draft, store_upload
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import InvalidInput
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from tests.conftest import SAMPLES, sample_upload
from tests.files.makers import binary_stl, three_mf, upload

BROKEN = {
    "cut.stl": binary_stl(10)[:300],
    "notes.stl": b"Just some notes, renamed.\n",
    "empty.stl": (SAMPLES / "empty.stl").read_bytes(),
    "box.3mf": b"not a zip at all",
    "hollow.3mf": three_mf({"3D/3dmodel.model": None}),
    "points.obj": b"v 0 0 0\n",
    "part.step": b"hello",
}


def _blobs() -> list[Path]:
    return [path for path in Path(django_settings.MEDIA_ROOT).rglob("*") if path.is_file()]


@pytest.mark.parametrize("name", BROKEN)
def test_a_refused_file_leaves_nothing_in_storage(name):
    with pytest.raises(InvalidInput) as refusal:
        store_upload(upload(name, BROKEN[name]), field="file")

    assert refusal.value.field == "file"
    assert refusal.value.message.startswith(name)
    assert _blobs() == []


def test_a_good_file_is_stored_whole_after_its_check():
    data = (SAMPLES / "3mf/box.3mf").read_bytes()

    stored = store_upload(sample_upload("3mf/box.3mf"))

    assert re.fullmatch(r"files/\d{4}/\d{2}/[0-9a-f]{32}\.3mf", stored.key)
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert Path(django_settings.MEDIA_ROOT, stored.key).read_bytes() == data


def test_a_file_spooled_to_disk_is_checked_the_same_way():
    spooled = TemporaryUploadedFile("cut.stl", "model/stl", 0, None)
    spooled.write(binary_stl(10)[:300])
    spooled.size = 300

    with pytest.raises(InvalidInput) as refusal:
        store_upload(spooled)

    assert refusal.value.message.startswith("cut.stl is cut short: its header promises 10 ")
    assert _blobs() == []
    spooled.close()


def test_a_hostile_name_is_made_safe_and_the_content_still_checked():
    hostile = "../../etc/\x00pass\x1b[31mwd\r\n.stl"

    with pytest.raises(InvalidInput) as refusal:
        store_upload(upload(hostile, b"root:x:0:0:root:/root:/bin/bash\n"))
    stored = store_upload(upload(hostile, binary_stl(1)))

    assert refusal.value.message.startswith("pass_31mwd_.stl is not an STL file: it is text")
    assert stored.original_name == "pass_31mwd_.stl"
    assert re.fullmatch(r"files/\d{4}/\d{2}/[0-9a-f]{32}\.stl", stored.key)
    assert [path.name for path in _blobs()] == [Path(stored.key).name]


@pytest.mark.django_db
def test_a_refused_draft_keeps_no_row_and_no_blob():
    with pytest.raises(InvalidInput):
        keep_draft(sample_upload("empty.stl"), "a-token")

    assert not DraftUpload.objects.exists()
    assert _blobs() == []


def test_a_request_with_a_broken_file_creates_no_job_and_keeps_no_blob(catalogue):
    with pytest.raises(InvalidInput) as refusal:
        actions.submit_request(
            customer_name="Cara Customer",
            customer_email="cara@example.com",
            material_id=catalogue["pla"].pk,
            colour="black",
            quantity=1,
            files=[upload("cut.stl", BROKEN["cut.stl"])],
        )

    assert refusal.value.field == "files"
    assert not Job.objects.exists()
    assert _blobs() == []


def test_a_revision_with_a_broken_file_changes_nothing(make_job, operator):
    job, _ = make_job(JobState.QUOTED)
    blobs, versions = _blobs(), FileVersion.objects.count()

    with pytest.raises(InvalidInput) as refusal:
        actions.revise_file(
            job=job, actor=Actor.staff(operator), upload=upload("box.3mf", BROKEN["box.3mf"])
        )

    assert refusal.value.field == "file"
    assert refusal.value.message == (
        "box.3mf is not a 3MF file: a 3MF file is a zip archive, and this is not."
    )
    assert (_blobs(), FileVersion.objects.count()) == (blobs, versions)
    job.refresh_from_db()
    assert job.state == JobState.QUOTED


def test_the_request_form_shows_the_reason_and_keeps_the_good_file(client, catalogue):
    payload = {
        "customer_name": "Cara Customer",
        "customer_email": "cara@example.com",
        "material": str(catalogue["pla"].pk),
        "colour": "white",
        "quantity": "1",
        "website": "",
        "files": [sample_upload("20mm-xyz-cube.stl"), sample_upload("empty.stl")],
    }

    response = client.post(reverse("portal:request"), payload)

    assert response.status_code == 422
    page = response.content.decode()
    assert "empty.stl has no triangles: there is nothing to print." in page
    assert "Already received: 20mm-xyz-cube.stl" in page
    assert [draft.original_name for draft in DraftUpload.objects.all()] == ["20mm-xyz-cube.stl"]
    assert len(_blobs()) == 1
    assert not Job.objects.exists()
