"""On local disk a finished upload is moved into storage, not copied (bench/uploads.py)."""

import hashlib
import os
from pathlib import Path

from printdesk.uploads.models import TusUpload

from .conftest import PART


def test_the_partial_file_is_moved_into_storage_and_nothing_is_left_behind(staff, settings):
    url = staff.create()["Location"]
    partial = Path(settings.MEDIA_ROOT) / "uploads-partial" / url.rstrip("/").rsplit("/", 1)[-1]
    inode = partial.stat().st_ino
    assert staff.patch(url, PART, 0).status_code == 204

    upload = TusUpload.objects.get()
    stored = Path(settings.MEDIA_ROOT) / upload.stored_key
    assert stored.stat().st_ino == inode  # the same file, renamed: no gigabyte copied
    assert stored.stat().st_nlink == 1
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == upload.sha256
    assert os.listdir(partial.parent) == []
