"""Queueing notifications: called by the lifecycle actions inside their transaction."""

from django.conf import settings
from django.utils import timezone

from printdesk.jobs import lifecycle
from printdesk.jobs.lifecycle import ActorKind, Audience
from printdesk.jobs.models import AuditEvent, Job
from printdesk.notifications.models import Notification


def queue_for_event(
    *, job: Job, audit: AuditEvent, actor_kind: ActorKind, customer_context: dict | None = None
) -> list[Notification]:
    """Create the outbox rows this event calls for, one per audience.

    `customer_context` goes to the customer's email only (the private link, for one).
    The unique (audit event, audience) constraint makes a second row for the same occurrence
    impossible, whoever calls this.
    """
    now = timezone.now()
    rows = []
    for audience in lifecycle.audiences(lifecycle.EventType(audit.event), actor_kind):
        recipient = (
            job.customer_email
            if audience == Audience.CUSTOMER
            else settings.STAFF_NOTIFICATION_EMAIL
        )
        rows.append(
            Notification(
                job=job,
                audit_event=audit,
                event=audit.event,
                audience=audience,
                recipient=recipient,
                context=(customer_context or {}) if audience == Audience.CUSTOMER else {},
                next_attempt_at=now,
            )
        )
    return Notification.objects.bulk_create(rows)
