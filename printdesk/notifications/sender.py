"""Sending queued notifications: claim rows, send each through Django's email backend, record
the outcome. Run by `manage.py worker`; several workers may run at once.

The delivery guarantee and its one narrow duplicate window are described in the docstring of
`send_claimed`.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from printdesk.catalogue.models import Bureau
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.notifications.models import Notification, NotificationState

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


def due() -> "Q":
    """Rows ready to send: new, failed and due for retry, or abandoned by a crashed worker."""
    now = timezone.now()
    waiting = Q(state__in=[NotificationState.QUEUED, NotificationState.FAILED])
    abandoned = Q(state=NotificationState.SENDING)  # its lease (next_attempt_at) has run out
    return (waiting | abandoned) & Q(next_attempt_at__lte=now)


def claim(limit: int = 20) -> list[Notification]:
    """Take up to `limit` due rows, each with a conditional update so no two workers share one."""
    lease = timezone.now() + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    candidates = Notification.objects.filter(due()).order_by("next_attempt_at", "id")
    claimed = []
    for row in candidates.values("id", "state", "attempts")[:limit]:
        won = Notification.objects.filter(
            pk=row["id"], state=row["state"], attempts=row["attempts"]
        ).update(state=NotificationState.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease)
        if won:
            claimed.append(row["id"])
    return list(Notification.objects.filter(pk__in=claimed).select_related("job", "job__material"))


def message_id(notification: Notification) -> str:
    """Stable per notification, so a provider or mail client can spot a repeat."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "printdesk.invalid"
    return f"<printdesk-notification-{notification.pk}@{domain}>"


def render(notification: Notification) -> EmailMultiAlternatives:
    job = notification.job
    bureau = Bureau.current()
    context = {
        "notification": notification,
        "job": job,
        "event_label": EventType(notification.event).label,
        "state_label": JobState(job.state).label,
        "bureau_name": bureau.name,
        "bureau_address": bureau.address,
        **notification.context,
    }
    subject = f"[{job.reference}] {context['event_label']}"
    body = render_to_string("emails/notification.txt", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[notification.recipient],
        reply_to=[bureau.reply_to] if bureau.reply_to else None,
        headers={"Message-ID": message_id(notification)},
    )
    return email


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


def send_claimed(notification: Notification) -> NotificationState:
    """Send one claimed row and record what happened.

    Steps: render, hand to the email backend, then mark sent with a conditional update on
    (state=sending, attempts) so a worker whose lease ran out cannot overwrite a newer claim.
    A crash between the backend accepting the message and the row being marked sent is the one
    window in which the message can be sent twice (after the lease expires); the stable
    Message-ID lets receiving systems recognise the repeat.
    """
    mine = Notification.objects.filter(
        pk=notification.pk, state=NotificationState.SENDING, attempts=notification.attempts
    )
    try:
        email = render(notification)
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        log.warning("notification %s refused by the server: %s", notification.pk, exc)
        mine.update(state=NotificationState.DEAD, last_error=f"Recipient refused: {exc}")
        return NotificationState.DEAD
    except Exception as exc:
        final = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        state = NotificationState.DEAD if final else NotificationState.FAILED
        log.warning(
            "notification %s failed (attempt %s): %s", notification.pk, notification.attempts, exc
        )
        mine.update(
            state=state,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + _backoff(notification.attempts),
        )
        return state
    provider_id = getattr(email, "anymail_status", None)
    mine.update(
        state=NotificationState.SENT,
        sent_at=timezone.now(),
        last_error="",
        provider_message_id=getattr(provider_id, "message_id", None)
        or email.extra_headers["Message-ID"],
    )
    return NotificationState.SENT


def drain(limit: int = 20) -> int:
    """Claim and send one batch. Returns how many rows it handled."""
    batch = claim(limit)
    for notification in batch:
        send_claimed(notification)
    return len(batch)
