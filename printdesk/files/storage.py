"""Putting uploaded files into storage under generated, never-reused keys."""

import hashlib
import os
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone

from printdesk.files.checks import check_content
from printdesk.files.models import DraftUpload, FileVersion
from printdesk.jobs.errors import InvalidInput

# How long a file received by the request form waits for the request to go through.
DRAFT_LIFETIME = timedelta(days=1)


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


def store_upload(upload: File, field: str = "files", sha256: str | None = None) -> StoredFile:
    """Check an uploaded file's name, size and content, hash it and save it under a new key.

    `sha256` is the hash a caller computed while the bytes arrived (the tus server does);
    without it the file is read once more to hash it.

    The content check (files/checks.py) reads only what it needs and runs before anything is
    saved, so a refused file leaves nothing in storage. Called before the action's
    transaction: a refused action leaves an unreferenced blob, never a job pointing at a
    missing one.
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
    check_content(upload, ext, name=original, field=field)
    if sha256 is None:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        sha256 = digest.hexdigest()
    key = f"files/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext}"
    saved = default_storage.save(key, upload)
    return StoredFile(key=saved, original_name=original, size=size, sha256=sha256)


# --- drafts: files the request form received before the request itself was valid ------------


def new_draft_token() -> str:
    return secrets.token_urlsafe(24)


def draft_token_hash(token: str) -> str:
    """What DraftUpload keeps of a form's draft token (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def keep_draft(upload: File, token: str) -> DraftUpload:
    """Store one upload at once (checked as store_upload checks it) as a draft of `token`."""
    stored = store_upload(upload)
    return DraftUpload.objects.create(
        token_hash=draft_token_hash(token),
        blob=stored.key,
        original_name=stored.original_name,
        size=stored.size,
        sha256=stored.sha256,
    )


def drafts_for(token: str) -> QuerySet[DraftUpload]:
    return DraftUpload.objects.filter(token_hash=draft_token_hash(token)).order_by("id")


def as_stored(draft: DraftUpload) -> StoredFile:
    return StoredFile(
        key=draft.blob.name or "",
        original_name=draft.original_name,
        size=draft.size,
        sha256=draft.sha256,
    )


def claim_drafts(drafts: Iterable[DraftUpload]) -> bool:
    """Take drafts for a job (in the caller's transaction): False if any was already gone.

    Pruning and a second submission of the same form both delete the row first, so exactly one
    of them gets each draft; the caller rolls back when it did not get them all.
    """
    ids = [draft.pk for draft in drafts]
    return DraftUpload.objects.filter(pk__in=ids).delete()[0] == len(ids)


def discard_drafts(drafts: Iterable[DraftUpload]) -> int:
    """Delete drafts and their blobs, unless a job took a blob in the meantime."""
    discarded = 0
    for draft in drafts:
        if DraftUpload.objects.filter(pk=draft.pk).delete()[0] != 1:
            continue  # claimed by a submission, or discarded by someone else
        if not FileVersion.objects.filter(blob=draft.blob.name).exists():
            default_storage.delete(draft.blob.name or "")
        discarded += 1
    return discarded


def prune_drafts(older_than: timedelta = DRAFT_LIFETIME) -> int:
    """Housekeeping: drop drafts whose request never went through, with their files."""
    cutoff = timezone.now() - older_than
    return discard_drafts(DraftUpload.objects.filter(created_at__lt=cutoff).iterator())
