"""Putting uploaded files into storage under generated, never-reused keys."""

import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone

from printdesk.jobs.errors import InvalidInput


@dataclass(frozen=True)
class StoredFile:
    key: str
    original_name: str
    size: int
    sha256: str


def sanitise_filename(name: str) -> str:
    """A display name safe to show and to offer as a download name."""
    name = unicodedata.normalize("NFKC", os.path.basename(name.replace("\\", "/")))
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" ._")
    return name[:200] or "file"


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def store_upload(upload: File, field: str = "files") -> StoredFile:
    """Check an uploaded file's name and size, hash it and save it under a new key.

    Called before the action's transaction: a refused action leaves an unreferenced blob,
    never a job pointing at a missing one.
    """
    original = sanitise_filename(upload.name or "")
    ext = extension(original)
    if ext not in settings.ALLOWED_FILE_EXTENSIONS:
        allowed = ", ".join(f".{e}" for e in settings.ALLOWED_FILE_EXTENSIONS)
        raise InvalidInput(f"{original}: only {allowed} files can be printed.", field=field)
    size = upload.size or 0
    if size == 0:
        raise InvalidInput(f"{original} is empty.", field=field)
    if size > settings.MAX_FILE_BYTES:
        raise InvalidInput(f"{original} is larger than the limit per file.", field=field)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    key = f"files/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext}"
    saved = default_storage.save(key, upload)
    return StoredFile(key=saved, original_name=original, size=size, sha256=digest.hexdigest())
