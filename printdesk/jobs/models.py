"""Jobs and what hangs off them: quotes, print runs, dispatch, notes and the audit trail.

State only changes through `printdesk.jobs.actions`; these classes hold data, not rules.
"""

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.crypto import salted_hmac

from printdesk.catalogue.models import Material, Printer
from printdesk.jobs.lifecycle import TERMINAL_STATES, ActorKind, EventType, JobState
from printdesk.lib import logs

REFERENCE_PREFIX = "PD-"
REFERENCE_RE = re.compile(r"^\s*(?:PD-?)?0*(\d{1,18})\s*$", re.IGNORECASE)


# Keeps these HMACs apart from any other use of SECRET_KEY.
LINK_SALT = "printdesk.job-link"


def hash_link_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_link_nonce() -> str:
    """The random, stored half of a private link (64 hex characters: 256 bits)."""
    return secrets.token_hex(32)


def derive_link_secret(nonce: str, key: str | bytes | None = None) -> str:
    """The link secret for `nonce`: HMAC-SHA256 under SECRET_KEY (or `key`), urlsafe base64.

    The database holds the nonce and the secret's hash, never the secret: reading the tables
    gives no working link without the server's key.
    """
    digest = salted_hmac(LINK_SALT, nonce, secret=key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_secret(job: "Job") -> str | None:
    """The job's current link secret, derived again; None when it cannot be.

    That is a link made before derivation (blank nonce) or one derived with a key that is
    neither SECRET_KEY nor in SECRET_KEY_FALLBACKS any more: the hash check tells which key
    (if any) made it, so a rotated key never produces a link that does not open the job.
    """
    if not job.link_nonce:
        return None
    for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        secret = derive_link_secret(job.link_nonce, key)
        if hmac.compare_digest(hash_link_secret(secret), job.link_hash):
            return secret
    return None


def parse_reference(text: str) -> int | None:
    """`PD-00042`, `pd42` or `42` -> 42; anything else -> None."""
    match = REFERENCE_RE.match(text)
    return int(match.group(1)) if match else None


class Job(models.Model):
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField()
    customer_phone = models.CharField(max_length=50, blank=True)
    customer_company = models.CharField(max_length=200, blank=True)
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="jobs")
    colour = models.CharField(max_length=50, blank=True)
    quantity = models.PositiveIntegerField()
    desired_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    state = models.CharField(max_length=20, choices=JobState.choices)
    # Bumped by every action: a page or client that sends the version it saw is refused
    # when someone else acted in between, and two concurrent actions cannot both apply.
    version = models.PositiveIntegerField(default=1)
    # SHA-256 of the customer's private link secret; the secret itself is never stored.
    link_hash = models.CharField(max_length=64, unique=True)
    # The random input the secret is derived from with a key only the server holds (see
    # `link_secret`), so the worker can put the link in every email the customer gets. Blank for
    # links made before derivation: their emails point to "Lost your link?" instead.
    link_nonce = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="job_created"),
            models.Index(fields=["state", "-created_at", "-id"], name="job_state_created"),
            # Addresses are matched case-insensitively (link recovery): index what is compared.
            models.Index(Upper("customer_email"), name="job_email_upper"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=JobState.values), name="job_state_is_declared"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="job_quantity_positive"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"{REFERENCE_PREFIX}{self.pk:05d}"


class RevokedLink(models.Model):
    """The hash of a link that was replaced: it opens nothing, but answers 410, not 404.

    Written by `actions.rotate_link` in the rotation's transaction. Only the hash is kept, as
    for the live link, so this table gives no working link either.
    """

    link_hash = models.CharField(max_length=64, unique=True)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="revoked_links")
    revoked_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=30, default="rotated")

    class Meta:
        ordering = ["job_id", "id"]

    def __str__(self) -> str:
        return f"{self.job}: link revoked {self.revoked_at:%Y-%m-%d}"


class LinkGone(Exception):
    """A link that opened a job once and no longer does: answered with 410 and a way to ask
    for a fresh link. It never says which job it was."""

    REVOKED = "revoked"
    EXPIRED = "expired"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        if reason == self.REVOKED:
            self.message = "This link was replaced by a newer one and no longer works."
        else:
            days = settings.LINK_EXPIRY_DAYS
            self.message = f"This link has expired: its job ended more than {days} days ago."
        super().__init__(self.message)


def link_expired(job: Job) -> bool:
    """Links stop working LINK_EXPIRY_DAYS after their job ended (terminal states never move
    on, so state_changed_at is when it ended)."""
    if job.state not in TERMINAL_STATES:
        return False
    return job.state_changed_at <= timezone.now() - timedelta(days=settings.LINK_EXPIRY_DAYS)


def job_for_link(secret: str, jobs: "models.QuerySet[Job] | None" = None) -> Job | None:
    """The job `secret` opens (from `jobs`, to load what the caller shows), or None for a link
    that never opened one. Raises LinkGone for a replaced link or one whose job ended too
    long ago. A working link costs one query; only a failing one looks for a revocation."""
    link_hash = hash_link_secret(secret)
    job = (Job.objects.all() if jobs is None else jobs).filter(link_hash=link_hash).first()
    if job is None:
        if RevokedLink.objects.filter(link_hash=link_hash).exists():
            raise LinkGone(LinkGone.REVOKED)
        return None
    if link_expired(job):
        raise LinkGone(LinkGone.EXPIRED)
    logs.set_job(job.reference)  # the request's log lines now name the job it opened
    return job


class QuoteStatus(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    # Never stored: a current quote past its valid-until date shows as expired (effective_status)
    # and can no longer be accepted; the bureau sends a new version.
    EXPIRED = "expired", "Expired"


# The quote a customer can act on, or has accepted: at most one per job, always its latest.
LIVE_QUOTE = (QuoteStatus.CURRENT, QuoteStatus.ACCEPTED)


class Quote(models.Model):
    """One sent version of a quote. Never edited after it is created: a new version supersedes it.

    Only `status` and `decided_at` move, and only through the lifecycle actions.
    """

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="quotes")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=QuoteStatus.choices)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    lead_time_days = models.PositiveIntegerField()
    valid_until = models.DateField()
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # By the job's id column, not "job": ordering by the relation would join every child
        # query (prefetches included) to jobs_job only to sort by the job's own ordering.
        ordering = ["job_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["job", "version"], name="quote_version_unique"),
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(status__in=LIVE_QUOTE),
                name="quote_one_live_per_job",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} quote v{self.version}"

    @property
    def effective_status(self) -> str:
        if self.status == QuoteStatus.CURRENT and self.valid_until < timezone.localdate():
            return QuoteStatus.EXPIRED
        return self.status


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.PROTECT, related_name="lines")
    job_file = models.ForeignKey(
        "files.JobFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=200)
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    colour = models.CharField(max_length=50, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["quote_id", "id"]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    PRINTING = "printing", "Printing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# Where a run may go from where it is. Done and failed are final: a reprint is a new run.
RUN_MOVES: dict[str, frozenset[str]] = {
    RunState.QUEUED: frozenset({RunState.PRINTING, RunState.DONE, RunState.FAILED}),
    RunState.PRINTING: frozenset({RunState.DONE, RunState.FAILED}),
    RunState.DONE: frozenset(),
    RunState.FAILED: frozenset(),
}


class PrintRun(models.Model):
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="runs")
    quantity = models.PositiveIntegerField()
    printer = models.ForeignKey(
        Printer, on_delete=models.PROTECT, null=True, blank=True, related_name="runs"
    )
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    colour = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=20, choices=RunState.choices, default=RunState.QUEUED)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job_id", "id"]


class DispatchMethod(models.TextChoices):
    CARRIER = "carrier", "Carrier"
    HAND_OVER = "hand_over", "Handed over"


class Dispatch(models.Model):
    job = models.OneToOneField(Job, on_delete=models.PROTECT, related_name="dispatch")
    method = models.CharField(max_length=20, choices=DispatchMethod.choices)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Note(models.Model):
    """An operator's internal note: never shown to the customer."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="internal_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "created_at", "id"]


class AuditEvent(models.Model):
    """Append-only: written inside the action that caused it, never updated or deleted."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="audit_events")
    event = models.CharField(max_length=30, choices=EventType.choices)
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    from_state = models.CharField(max_length=20, choices=JobState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=JobState.choices)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "id"]
        # The desk's dashboard reads one kind of event over a recent time range (quotes sent,
        # dispatches in the last weeks): this keeps that a range scan at any table size.
        indexes = [models.Index(fields=["event", "created_at"], name="audit_event_time")]

    def __str__(self) -> str:
        return f"{self.job}: {self.event}"

    @property
    def actor_label(self) -> str:
        if self.actor_user is not None:
            return self.actor_user.get_username()
        return ActorKind(self.actor_kind).label
