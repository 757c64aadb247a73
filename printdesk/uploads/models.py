"""Resumable uploads in progress: their state lives here, their bytes in `chunks`."""

import uuid

from django.conf import settings
from django.db import models

from printdesk.files.models import DraftUpload
from printdesk.jobs.models import Job


class OwnerKind(models.TextChoices):
    DRAFT = "draft", "Request form draft"
    JOB = "job", "Job through its link"
    STAFF = "staff", "Operator"


class UploadState(models.TextChoices):
    UPLOADING = "uploading", "Uploading"
    COMPLETE = "complete", "Complete"
    REFUSED = "refused", "Refused by the file checks"


class TusUpload(models.Model):
    """One tus upload. Exactly one owner field is set, as `owner_kind` says; an operator's
    upload may also name the job it is for (`job`), which then counts it towards its room.

    `offset` only ever counts bytes already durable: written and synced to the partial file on
    local disk (after a crash it may hold more, cut back to `offset` before the next write), or
    in S3 the recorded parts plus the tail object.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_kind = models.CharField(max_length=10, choices=OwnerKind.choices)
    # A draft's token is never stored: only its hash, as DraftUpload.token_hash.
    draft_token_hash = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    filename = models.CharField(max_length=255, help_text="Sanitised name from the metadata.")
    length = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    # Times the offset went back (recover found fewer bytes than recorded, after a crash lost
    # synced data): a hash kept in memory for an earlier pass over those bytes no longer holds.
    rewinds = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=10, choices=UploadState.choices, default=UploadState.UPLOADING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # Filled in on completion, from store_upload.
    stored_key = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    refusal = models.TextField(blank=True, help_text="Why the file checks refused the file.")
    draft = models.ForeignKey(DraftUpload, null=True, blank=True, on_delete=models.SET_NULL)

    # With S3 (chunks_s3.py) the bytes are one multipart upload per tus upload, straight to
    # its final key; `s3_parts` lists the parts [number, etag, size] that `offset` counts, and
    # `s3_tail` is the object holding the bytes after them (under 5 MiB, S3's smallest part).
    # Database defaults, so a process of the previous version can still create rows.
    s3_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    s3_upload_id = models.CharField(max_length=1024, blank=True, default="", db_default="")
    s3_parts = models.JSONField(null=True, blank=True)
    s3_tail = models.CharField(max_length=1024, blank=True, default="", db_default="")
    # The lock across hosts for S3 (an flock cannot be): who writes, and until when. A killed
    # process's lock simply runs out.
    lock_owner = models.CharField(max_length=32, blank=True, default="", db_default="")
    lock_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["expires_at"], name="tus_upload_expires")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uuid})"
