"""What staff do with emails already in the outbox: send one again, or retry the ones that failed.

Both go through the lifecycle like any other action on a job (`Action.RESEND_EMAIL`): the job
is claimed with its version, so a double click or a stale page acts once, and the audit trail
records who asked (event EMAIL_RESENT).

When a row may be sent again (`can_resend`): once it was sent (the customer lost it) or when it
gave up (dead) and has no copy yet. A row still queued, sending or failed is still on its way:
a copy then could arrive next to the original, so it is refused; an admin retries those.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from printdesk.jobs.actions import Actor, _acting, _claim, _record
from printdesk.jobs.errors import ActionError, Conflict, NotAllowed
from printdesk.jobs.lifecycle import Action, ActorKind
from printdesk.jobs.models import Job
from printdesk.notifications.models import Notification, NotificationState

RETRYABLE = (NotificationState.FAILED, NotificationState.DEAD)


def can_resend(notification: Notification, *, has_copy: bool) -> bool:
    """Whether staff may send `notification` again (see the module's docstring)."""
    if notification.state == NotificationState.SENT:
        return True
    return notification.state == NotificationState.DEAD and not has_copy


def resend(
    *, notification: Notification, actor: Actor, expected_version: int | None = None
) -> Notification:
    """Queue a copy of `notification`, as staff asked from the job page or the API.

    Steps, in one transaction: claim the job (refused if it changed since `expected_version`
    or the actor is not staff); check the row may be sent again, judged on the row as it is
    now; write the EMAIL_RESENT audit entry; create the copy: same audience, recipient,
    template and snapshot (so the same words go out), its own row, audit event and
    Message-ID, queued now. Returns the copy.
    """
    job = notification.job
    with _acting(job):
        transition, old = _claim(job, Action.RESEND_EMAIL, actor, expected_version)
        original = Notification.objects.get(pk=notification.pk)
        if not can_resend(original, has_copy=original.resends.exists()):
            raise Conflict(_not_resendable(original))
        details = {
            "notification_id": original.pk,
            "event": original.event,
            "recipient": original.recipient,
        }
        audit = _record(job, old, transition, actor, details)
        copy = Notification.objects.create(
            job=job,
            audit_event=audit,
            resend_of=original,
            event=original.event,
            audience=original.audience,
            recipient=original.recipient,
            context=original.context,
            template=original.template,
            subject=original.subject,
            body_text=original.body_text,
            body_html=original.body_html,
            rendered_at=original.rendered_at,
            next_attempt_at=timezone.now(),
        )
    return copy


def _not_resendable(row: Notification) -> str:
    if row.state == NotificationState.DEAD:
        return f"Email #{row.pk} was resent already: resend its copy instead."
    state = NotificationState(row.state).label.lower()
    return f"Email #{row.pk} is still on its way ({state}); an admin can retry it from the outbox."


def retry(*, notifications: Iterable[Notification], actor: Actor) -> list[int]:
    """Put failed and dead rows back in the queue now, with a fresh allowance of attempts.

    For an admin (the outbox page). Per job, in one transaction: lock the job; requeue each
    chosen row with a conditional update from the state it is in (so a row a worker took
    meanwhile, or one retried or resent already, is left alone); if any was requeued, claim
    the job and write one EMAIL_RESENT audit entry listing them (details `retried`). The last
    error stays until the next attempt replaces it. Returns the ids requeued: clicking twice
    requeues nothing the second time.
    """
    if actor.kind != ActorKind.ADMIN:
        raise NotAllowed("Only an admin can retry emails.")
    by_job: dict[int, list[int]] = defaultdict(list)
    for row in notifications:
        by_job[row.job_id].append(row.pk)
    requeued: list[int] = []
    for job_id, ids in sorted(by_job.items()):
        try:
            requeued += _retry_job(job_id, ids, actor)
        except ActionError:
            continue  # the job changed under us (SQLite has no row locks): nothing was done
    return requeued


def _retry_job(job_id: int, ids: list[int], actor: Actor) -> list[int]:
    with transaction.atomic():
        # The lock orders this against a resend of the same row (which claims the job first).
        job = Job.objects.select_for_update().get(pk=job_id)
        candidates = list(
            Notification.objects.filter(
                pk__in=ids, job_id=job_id, state__in=RETRYABLE, resends__isnull=True
            ).values_list("id", "state", "attempts")
        )
        now = timezone.now()
        done = [
            pk
            for pk, state, attempts in candidates
            if Notification.objects.filter(pk=pk, state=state, attempts=attempts).update(
                state=NotificationState.QUEUED, attempts=0, next_attempt_at=now
            )
        ]
        if done:
            transition, old = _claim(job, Action.RESEND_EMAIL, actor, None)
            _record(job, old, transition, actor, {"retried": sorted(done)})
    return sorted(done)
