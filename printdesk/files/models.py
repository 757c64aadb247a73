"""A job's print files. A revision adds a version; a stored version is never changed."""

from django.db import models

from printdesk.jobs.lifecycle import ActorKind
from printdesk.jobs.models import Job


class JobFile(models.Model):
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=255, help_text="Sanitised name of the first upload.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "id"]

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
        ordering = ["job_file", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job_file", "number"], name="file_version_unique"),
        ]
