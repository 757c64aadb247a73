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
    """One tus upload. Exactly one owner field is set, as `owner_kind` says.

    `offset` only ever counts bytes already written (and synced) to the partial file; after a
    crash the partial file may hold more, and is cut back to `offset` before the next write.
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

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["expires_at"], name="tus_upload_expires")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uuid})"
