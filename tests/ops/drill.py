"""An installation with data and files to back up, and what "everything is back" means.

`fill()` loads the demo (a dozen jobs in every state, their audit trails, quotes, emails and
print files) and adds a real sample mesh with its rendered preview, thumbnail and viewer mesh, a
request-form draft, and a group and permissions (restored by natural key). `rows()` and
`stored()` are what a restore must give back exactly.
"""

import hashlib
import shutil
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core import serializers
from django.core.files import File
from django.core.management import call_command

from printdesk.catalogue.models import Material
from printdesk.files.models import FileVersion
from printdesk.files.storage import keep_draft, new_draft_token
from printdesk.jobs import actions
from printdesk.jobs.models import Job
from printdesk.ops import backup
from printdesk.ops.stored import read_chunks, referenced_files
from tests.conftest import sample_upload, stl_upload
from tests.files.analysed import analysed

SAMPLE = "20mm-xyz-cube.stl"


def fill(*, with_preview: bool = True) -> Job:
    """Demo data plus a customer's real sample file; the sample's job."""
    call_command("load_demo", stdout=StringIO())
    job = submit(sample_upload(SAMPLE))
    if with_preview:  # rendered in this process: tests/files/analysed.py reads a local path
        analysed(FileVersion.objects.get(job_file__job=job))
    keep_draft(stl_upload("draft.stl"), new_draft_token())
    night_shift = Group.objects.create(name="Night shift")
    night_shift.permissions.add(Permission.objects.get(codename="view_job"))
    operator = get_user_model().objects.get(username="operator")
    operator.groups.add(night_shift)
    operator.user_permissions.add(Permission.objects.get(codename="change_material"))
    return job


def submit(upload: File) -> Job:
    """A customer's request for one file, in the demo's PLA."""
    job, _ = actions.submit_request(
        customer_name="Sam Sample",
        customer_email="sam@sample.test",
        material_id=Material.objects.get(name="PLA").pk,
        colour="orange",
        quantity=1,
        files=[upload],
    )
    return job


def rows() -> dict[str, list]:
    """Every backed-up row, as Django serializes it (natural keys for users and permissions)."""
    return {
        model._meta.label_lower: serializers.serialize(
            "python", backup.rows(model), use_natural_foreign_keys=True
        )
        for model in backup.backed_up_models()
    }


def stored() -> dict[str, str]:
    """sha256 of every stored file the database names, read from storage itself."""
    found = {}
    for entry in referenced_files():
        digest = hashlib.sha256()
        for chunk in read_chunks(entry.key):
            digest.update(chunk)
        found[entry.key] = digest.hexdigest()
    return found


def wipe() -> None:
    """A new, empty installation: the database flushed (as after `migrate`), storage emptied."""
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(settings.MEDIA_ROOT)
    Path(settings.MEDIA_ROOT).mkdir()
