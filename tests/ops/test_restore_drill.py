"""The restore drill: back up a working installation, wipe it, restore it, find it whole."""

import hashlib
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse

from printdesk.files.models import FileVersion
from printdesk.jobs.models import AuditEvent, Job, link_secret
from printdesk.notifications.models import Notification
from printdesk.ops.backup import FILES
from printdesk.ops.stored import referenced_files
from printdesk.settings import _storages
from tests.conftest import SAMPLES, stl_upload
from tests.ops.drill import SAMPLE, fill, rows, stored, submit, wipe
from tests.s3 import Bucket, use_s3

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_restored_installation_has_every_row_and_file_back(tmp_path, client):
    job = fill()
    before_rows, before_files = rows(), stored()
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    wipe()
    assert not Job.objects.exists() and not default_storage.listdir("")[0]

    call_command("restore", str(tmp_path / "backup"), stdout=StringIO())

    assert rows() == before_rows
    assert stored() == before_files
    assert Job.objects.count() >= 13 and AuditEvent.objects.count() > Job.objects.count()
    assert Notification.objects.exists() and get_user_model().objects.count() == 2
    # + preview, thumbnail, viewer mesh, draft
    assert len(before_files) == FileVersion.objects.count() + 4
    sample = FileVersion.objects.get(job_file__job=job)
    assert sample.sha256 == hashlib.sha256((SAMPLES / SAMPLE).read_bytes()).hexdigest()

    client.force_login(get_user_model().objects.get(username="operator"))
    page = client.get(reverse("desk:job", args=[job.reference]))
    assert page.status_code == 200 and b"Sam Sample" in page.content
    download = client.get(reverse("desk:file_download", args=[sample.pk]))
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == sample.sha256
    assert client.get(f"/j/{link_secret(job)}/").status_code == 200


def test_restored_ids_continue_after_the_restored_rows(tmp_path):
    fill(with_preview=False)
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    highest = Job.objects.order_by("-pk").first().pk
    wipe()
    call_command("restore", str(tmp_path / "backup"), stdout=StringIO())

    job = submit(stl_upload())  # PostgreSQL: a sequence left at 1 would collide here

    assert job.pk > highest


def test_it_refuses_an_installation_that_already_holds_jobs(tmp_path):
    fill(with_preview=False)
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    before_rows, before_files = rows(), stored()

    with pytest.raises(CommandError, match=r"database is not empty \(.*jobs\.job.*Nothing was"):
        call_command("restore", str(tmp_path / "backup"))

    assert rows() == before_rows and stored() == before_files


def test_it_refuses_storage_that_holds_a_backed_up_key_with_other_content(tmp_path):
    job = fill(with_preview=False)
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    key = FileVersion.objects.get(job_file__job=job).blob.name
    wipe()
    other = b"solid someone else's\nendsolid\n"
    default_storage.save(key, ContentFile(other))

    with pytest.raises(CommandError, match=rf"Storage already holds 1 .*\({key}\).*Nothing was"):
        call_command("restore", str(tmp_path / "backup"))

    assert not Job.objects.exists() and default_storage.listdir("")[0] == ["files"]
    assert default_storage.open(key).read() == other


def test_a_tampered_file_in_the_backup_fails_verification_and_is_not_stored(tmp_path):
    job = fill(with_preview=False)
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    key = FileVersion.objects.get(job_file__job=job).blob.name
    copy = tmp_path / "backup" / FILES / key
    tampered = bytearray(copy.read_bytes())
    tampered[100] ^= 0x01  # one bit, size unchanged
    copy.write_bytes(tampered)
    wipe()

    with pytest.raises(CommandError, match=rf"1 problem.*\n  {key}: failed verification"):
        call_command("restore", str(tmp_path / "backup"), stdout=StringIO())

    assert not default_storage.exists(key)  # never bytes that differ from what was recorded
    assert Job.objects.filter(pk=job.pk).exists()  # everything else is back
    others = {entry.key for entry in referenced_files()} - {key}
    assert others and all(default_storage.exists(other) for other in others)


def test_a_backup_taken_with_s3_restores_into_an_empty_bucket(
    tmp_path, s3_storage, moto_endpoint, settings, monkeypatch
):
    fill(with_preview=False)
    before_rows, before_files = rows(), stored()
    assert set(before_files) <= set(s3_storage.keys())
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    call_command("flush", interactive=False, verbosity=0)
    fresh = Bucket(moto_endpoint, s3_storage.name + "-new")
    monkeypatch.setenv("PRINTDESK_S3_BUCKET", fresh.name)
    settings.STORAGES = _storages()

    call_command("restore", str(tmp_path / "backup"), stdout=StringIO())

    assert rows() == before_rows
    assert {key: fresh.sha256(key) for key in fresh.keys()} == before_files


def test_a_backup_from_local_disk_restores_into_a_bucket(tmp_path, bucket, settings, monkeypatch):
    """Moving to S3 (docs/operations.md): every row back, every file in the bucket, verified."""
    fill()
    before_rows, before_files = rows(), stored()
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    wipe()
    use_s3(settings, monkeypatch, bucket)

    call_command("restore", str(tmp_path / "backup"), stdout=StringIO())

    assert rows() == before_rows
    assert {key: bucket.sha256(key) for key in bucket.keys()} == before_files


def test_a_backup_without_files_restores_over_the_kept_storage(tmp_path):
    fill(with_preview=False)
    before_rows, before_files = rows(), stored()
    call_command("backup", str(tmp_path / "backup"), "--no-files", stdout=StringIO())
    assert not (tmp_path / "backup" / FILES).exists()
    call_command("flush", interactive=False, verbosity=0)  # the bucket survives, as replicated

    call_command("restore", str(tmp_path / "backup"), stdout=StringIO())

    assert rows() == before_rows and stored() == before_files


def test_a_backup_without_files_says_which_files_storage_lacks(tmp_path):
    job = fill(with_preview=False)
    call_command("backup", str(tmp_path / "backup"), "--no-files", stdout=StringIO())
    key = FileVersion.objects.get(job_file__job=job).blob.name
    call_command("flush", interactive=False, verbosity=0)
    default_storage.delete(key)

    with pytest.raises(CommandError, match=rf"{key}: not in storage.*--no-files"):
        call_command("restore", str(tmp_path / "backup"), stdout=StringIO())
