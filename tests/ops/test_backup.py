"""`manage.py backup`: what the manifest says about each stored file, and what it refuses."""

import hashlib
import json
import threading
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connections

from printdesk.catalogue.models import Material
from printdesk.files.models import FileVersion
from printdesk.jobs.models import Job
from printdesk.ops.backup import DATA, FILES, MANIFEST, read_snapshot
from tests.conftest import stl_upload
from tests.ops.drill import submit

pytestmark = pytest.mark.django_db(transaction=True)


def manifest_of(path) -> dict:
    return json.loads((path / MANIFEST).read_text())


def test_the_manifest_lists_each_file_with_its_size_and_sha256(tmp_path, pla):
    job = submit(stl_upload())
    version = FileVersion.objects.get(job_file__job=job)

    call_command("backup", str(tmp_path / "b"), stdout=StringIO())

    [entry] = manifest_of(tmp_path / "b")["files"]
    assert entry["key"] == version.blob.name and entry["status"] == "ok"
    assert (entry["size"], entry["sha256"]) == (version.size, version.sha256)
    assert entry["referenced_by"] == [f"files.fileversion {version.pk}"]
    copy = (tmp_path / "b" / FILES / version.blob.name).read_bytes()
    assert hashlib.sha256(copy).hexdigest() == version.sha256


def test_it_flags_a_missing_file_and_one_that_differs_from_its_record(tmp_path, pla):
    gone = FileVersion.objects.get(job_file__job=submit(stl_upload("gone.stl")))
    changed = FileVersion.objects.get(job_file__job=submit(stl_upload("changed.stl")))
    default_storage.delete(gone.blob.name)
    default_storage.delete(changed.blob.name)
    default_storage.save(changed.blob.name, ContentFile(b"solid other\nendsolid other\n"))

    with pytest.raises(CommandError, match=r"2 stored file\(s\).*missing or damaged") as raised:
        call_command("backup", str(tmp_path / "b"), stdout=StringIO())

    assert f"{gone.blob.name}: missing (files.fileversion {gone.pk})" in str(raised.value)
    statuses = {entry["key"]: entry["status"] for entry in manifest_of(tmp_path / "b")["files"]}
    assert statuses == {gone.blob.name: "missing", changed.blob.name: "sha256_mismatch"}


def test_the_dump_sees_one_moment_while_the_site_keeps_writing(pla):
    submit(stl_upload())
    errors = []

    def another_request() -> None:
        try:
            submit(stl_upload("later.stl"))
        except Exception as error:  # reported below: a writer blocked by the backup
            errors.append(error)
        finally:
            connections.close_all()

    with read_snapshot():
        before = Job.objects.count()
        writer = threading.Thread(target=another_request)
        writer.start()
        writer.join(timeout=60)
        during = Job.objects.count()

    assert not writer.is_alive() and errors == []
    assert before == during == 1
    assert Job.objects.count() == 2


def test_it_refuses_a_folder_that_is_not_empty(tmp_path, pla):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "old.txt").write_text("an older backup")

    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("backup", str(tmp_path / "b"))

    assert [path.name for path in (tmp_path / "b").iterdir()] == ["old.txt"]


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path):
    with pytest.raises(CommandError, match=r"holds no manifest\.json"):
        call_command("restore", str(tmp_path))
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(CommandError, match="cannot be read as a printdesk manifest"):
        call_command("restore", str(tmp_path))


def test_restore_refuses_a_damaged_database_dump(tmp_path, pla):
    submit(stl_upload())
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    with open(tmp_path / "b" / DATA, "a") as data:
        data.write("\n")
    call_command("flush", interactive=False, verbosity=0)

    with pytest.raises(CommandError, match=r"does not match its sha256.*damaged"):
        call_command("restore", str(tmp_path / "b"))


def test_restore_refuses_a_backup_from_a_newer_version(tmp_path, pla):
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    manifest = manifest_of(tmp_path / "b")
    manifest["database"]["migrations"].append("jobs.9999_from_the_future")
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    call_command("flush", interactive=False, verbosity=0)

    with pytest.raises(CommandError, match=r"newer printdesk.*jobs\.9999_from_the_future"):
        call_command("restore", str(tmp_path / "b"))


def test_restore_refuses_a_manifest_whose_key_leaves_the_backup(tmp_path, pla):
    submit(stl_upload())
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    manifest = manifest_of(tmp_path / "b")
    manifest["files"][0]["key"] = "../../etc/passwd"
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    call_command("flush", interactive=False, verbosity=0)

    with pytest.raises(CommandError, match="is not a printdesk backup manifest"):
        call_command("restore", str(tmp_path / "b"))


def test_data_that_does_not_load_is_rolled_back_and_said_plainly(tmp_path, pla):
    submit(stl_upload())
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    data = tmp_path / "b" / DATA
    note = {"model": "jobs.note", "pk": 99, "fields": {"job": 1, "author": ["nobody"]}}
    data.write_text(data.read_text() + json.dumps(note) + "\n")
    manifest = manifest_of(tmp_path / "b")
    manifest["database"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    call_command("flush", interactive=False, verbosity=0)

    with pytest.raises(CommandError, match="Loading the database failed and was rolled back"):
        call_command("restore", str(tmp_path / "b"), stdout=StringIO())

    assert not Job.objects.exists()


def test_a_backup_from_the_previous_release_loads_into_the_new_schema(tmp_path, pla):
    submit(stl_upload())
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    data = tmp_path / "b" / DATA
    older = []  # as the release before catalogue 0004 wrote it
    for line in data.read_text().splitlines():
        row = json.loads(line)
        for name in ("price_per_gram", "density_g_cm3", "throughput_cm3_h"):
            row["fields"].pop(name, None)
        older.append(json.dumps(row))
    data.write_text("\n".join(older) + "\n")
    manifest = manifest_of(tmp_path / "b")
    manifest["database"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest["database"]["migrations"].remove("catalogue.0004_estimate_fields")
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    call_command("flush", interactive=False, verbosity=0)
    out = StringIO()

    call_command("restore", str(tmp_path / "b"), stdout=out)

    assert "predates 1 of this version's migrations" in out.getvalue()
    assert Job.objects.count() == 1 and Material.objects.get().density_g_cm3 == 0
