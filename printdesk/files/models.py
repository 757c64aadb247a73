"""A job's print files. A revision adds a version; a stored version is never changed."""

from django.db import models

from printdesk.jobs.lifecycle import ActorKind
from printdesk.jobs.models import Job


class JobFile(models.Model):
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=255, help_text="Sanitised name of the first upload.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "id"]

    def __str__(self) -> str:
        return self.name


class FileVersion(models.Model):
    job_file = models.ForeignKey(JobFile, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # A generated storage key: never derived from what the customer called the file.
    blob = models.FileField(max_length=255)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.CharField(max_length=20, choices=ActorKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_file_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job_file", "number"], name="file_version_unique"),
        ]


class DraftUpload(models.Model):
    """A print file received by the request form before the request as a whole was valid.

    The form keeps an unguessable token in a hidden field; only its hash is stored here. When
    the request goes through, the drafts' blobs become the job's first file versions and the
    rows are deleted; drafts nobody submits are pruned after a day (`prune_drafts`).
    """

    token_hash = models.CharField(max_length=64)
    # A generated storage key, as FileVersion.blob.
    blob = models.FileField(max_length=255)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["token_hash"], name="draft_upload_token"),
            models.Index(fields=["created_at"], name="draft_upload_created"),
        ]
