"""A job's print files. A revision adds a version; a stored version is never changed."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from printdesk.jobs.lifecycle import ActorKind
from printdesk.jobs.models import Job

if TYPE_CHECKING:
    from printdesk.files.mesh import Report


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


class AnalysisState(models.TextChoices):
    PENDING = "pending", "Waiting for analysis"
    RUNNING = "running", "Being analysed"
    DONE = "done", "Analysed"
    FAILED = "failed", "Could not be analysed"
    UNSUPPORTED = "unsupported", "Not analysed (STEP)"


# Rows a worker may still take: waiting, or running under a lease that may have run out.
ANALYSIS_OPEN = (AnalysisState.PENDING, AnalysisState.RUNNING)
# Formats the mesh analysis reads; STEP is accepted but never analysed.
ANALYSED_EXTENSIONS = frozenset({"stl", "3mf", "obj"})


class Analysis(models.Model):
    """What the worker measured of one file version, its preview images and viewer mesh.

    The row is the queue (as the notification outbox): created `pending` with the version
    (`unsupported` for STEP), claimed by a worker with a conditional update that makes it
    `running` under a lease (`next_attempt_at`), then `done` or `failed` (printdesk/files/
    analysis.py). An operator's scale (a file drawn in inches or metres) is kept here too.
    """

    version = models.OneToOneField(FileVersion, on_delete=models.PROTECT, related_name="analysis")
    state = models.CharField(
        max_length=20, choices=AnalysisState.choices, default=AnalysisState.PENDING
    )
    reason = models.TextField(blank=True, help_text="Why it failed, in plain words.")
    # mesh.Report.to_json() without its list of bodies; {} until done.
    metrics = models.JSONField(default=dict, blank=True)
    # The report's list of bodies (the largest mesh.MAX_BODIES_LISTED, by volume), kept apart
    # from `metrics` because it can run to a thousand entries while the customer's pages,
    # polled every few seconds, need only the count: they load the row without this column
    # (`summary`). None: not listed (a large file), or not measured.
    bodies = models.JSONField(null=True, blank=True)
    # Generated keys in default storage (PNG), never derived from the file's name.
    preview = models.FileField(blank=True, max_length=255)
    thumbnail = models.FileField(blank=True, max_length=255)
    # The 3D view's mesh (files/viewer_mesh.py), beside the preview; "" when none was made
    # (an analysis recorded before the viewer existed: `manage.py analyse --all` makes one).
    viewer_mesh = models.FileField(blank=True, max_length=255, default="", db_default="")
    # Chosen by an operator (actions.set_scale): every size, volume and estimate is multiplied.
    scale = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(1))
    attempts = models.PositiveIntegerField(default=0)
    # When it may be taken: now for a pending row; the end of the lease for a running one.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version_id"]
        verbose_name_plural = "analyses"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "running"]),
                name="analysis_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(scale__gt=0), name="analysis_scale_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id}: {self.state}"

    @property
    def report(self) -> "Report | None":
        """The measurements as mesh.Report (in the file's own numbers: `scale` not applied),
        with the list of bodies."""
        # A row an older worker recorded during an upgrade has its bodies in `metrics`.
        return self._report(self.metrics.get("bodies") if self.bodies is None else self.bodies)

    @property
    def summary(self) -> "Report | None":
        """The report without its list of bodies (`body_count` still counts them). It reads
        only `metrics`, so a row loaded with `defer("bodies")` costs no further query."""
        return self._report(None)

    @staticmethod
    def columns(report: "Report") -> dict[str, Any]:
        """A report as the row keeps it: `metrics`, and its list of bodies apart."""
        metrics = report.to_json()
        return {"bodies": metrics.pop("bodies"), "metrics": metrics}

    def _report(self, bodies: list | None) -> "Report | None":
        if self.state != AnalysisState.DONE or not self.metrics:
            return None
        from printdesk.files.mesh import Report

        return Report.from_json({**self.metrics, "bodies": bodies})
