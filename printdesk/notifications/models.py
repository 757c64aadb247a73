"""The outbox: one row per email to send, written in the transaction of the event behind it."""

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
    # What the template needs beyond the job itself, e.g. the private link on submission
    # (the only place it exists outside the customer's hands).
    context = models.JSONField(default=dict, blank=True)

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
