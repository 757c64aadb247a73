"""The outbox: one row per email to send, written in the transaction of the event behind it."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from printdesk.jobs.lifecycle import Audience, EventType
from printdesk.jobs.models import AuditEvent, Job


class NotificationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Gave up"


class Notification(models.Model):
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="notifications")
    # The audit event is the occurrence: one email per (event occurrence, audience), so a
    # retried or doubled action can never queue a second one.
    audit_event = models.ForeignKey(
        AuditEvent, on_delete=models.PROTECT, related_name="notifications"
    )
    event = models.CharField(max_length=30, choices=EventType.choices)
    audience = models.CharField(max_length=20, choices=Audience.choices)
    recipient = models.EmailField()
    # What the template needs beyond the job and its audit event. Never the private link: it
    # is derived again when sending (jobs.models.link_secret), so no table holds it.
    context = models.JSONField(default=dict, blank=True)
    # The template it is written from (e.g. "customer/quote_sent"), and what it said: rendered
    # once, when a worker first takes it, so every retry and resend sends the same message.
    # The private link is kept out of the snapshot (a placeholder) and filled in when sending.
    template = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    # A copy an operator asked for: same snapshot, its own row, audit event and Message-ID.
    resend_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="resends"
    )

    state = models.CharField(
        max_length=20, choices=NotificationState.choices, default=NotificationState.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["audit_event", "audience"], name="notification_once_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["queued", "failed", "sending"]),
                name="notification_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job}: {self.event} to {self.audience}"


class EmailTemplate(models.Model):
    """An admin's wording for one email, in place of the shipped files under templates/emails/.

    Django template syntax, checked when saved; if it still fails when rendering, the shipped
    files are used (render.py), so a broken override never stops an email.
    """

    # As in Notification.template: "customer/quote_sent", "staff/submitted"...
    name = models.CharField(max_length=100, unique=True)
    subject = models.TextField()
    text = models.TextField()
    # Blank: the HTML part is the text part, escaped, inside the shipped HTML layout.
    html = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
