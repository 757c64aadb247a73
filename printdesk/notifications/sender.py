"""Sending queued notifications: claim a batch of rows, send them over one connection to the
email backend, record each outcome. Run by `manage.py worker`; several workers may run at once.

docs/email.md states the delivery guarantee; in short:
- a row is only ever sent by the worker whose claim it carries (`claim`: one conditional update
  in a short transaction) and is marked sent by a conditional update fenced on that claim;
- the one duplicate window is a crash (or a lease run out) after the server accepted a message
  and before its row was marked sent: the row is taken back after its lease and sent again,
  with the same Message-ID (`render.message_id`), so receiving systems can recognise it.

Failures are sorted three ways (`permanent`, `unreachable`, anything else):
- permanent (a refused recipient, an SMTP 5xx, a provider's 4xx other than 429): dead at once;
- the server or provider cannot be reached at all (connection refused, reset or timed out
  while connecting, a failed login): the row is handed back untried and costs no attempt, so
  an outage of any length loses nothing; the worker waits longer and longer between tries;
- anything else (an SMTP 4xx, a timeout or disconnect mid-message, a provider's 5xx or 429):
  failed, retried with exponential backoff until NOTIFICATION_MAX_ATTEMPTS, then dead.
"""

import logging
import smtplib
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from printdesk.catalogue.models import Bureau
from printdesk.lib import logs
from printdesk.notifications import render
from printdesk.notifications.models import Notification, NotificationState

log = logging.getLogger(__name__)

BATCH_SIZE = 50
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


@dataclass
class Batch:
    """What one `drain` did. `unreachable` says why the mail server could not be reached."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0
    unreachable: str = ""


def due() -> Q:
    """Rows ready to send: new, failed and due for retry, or abandoned by a crashed worker."""
    now = timezone.now()
    waiting = Q(state__in=[NotificationState.QUEUED, NotificationState.FAILED])
    abandoned = Q(state=NotificationState.SENDING)  # its lease (next_attempt_at) has run out
    return (waiting | abandoned) & Q(next_attempt_at__lte=now)


def claim(limit: int = BATCH_SIZE) -> list[Notification]:
    """Take up to `limit` due rows: each becomes `sending`, one attempt more, leased to us.

    One short transaction: on PostgreSQL the candidates are locked with SKIP LOCKED, so two
    workers take different rows instead of queueing behind each other; on SQLite the
    transaction holds the write lock from BEGIN (IMMEDIATE), so claims simply take turns. The
    update repeats the "due" condition, so a row can only be claimed while it is claimable.
    """
    lease = timezone.now() + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    with transaction.atomic():
        candidates = (
            Notification.objects.filter(due())
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
        )
        ids = list(candidates.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        Notification.objects.filter(due(), pk__in=ids).update(
            state=NotificationState.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease
        )
        rows = Notification.objects.filter(
            pk__in=ids, state=NotificationState.SENDING, next_attempt_at=lease
        )
        # What rendering reads for every row, fetched with it.
        return list(rows.select_related("job", "job__material", "audit_event").order_by("id"))


def _mine(notification: Notification) -> "QuerySet[Notification]":
    """The row, only while it still carries this claim: a worker whose lease ran out and was
    taken over can no longer record anything on it."""
    return Notification.objects.filter(
        pk=notification.pk, state=NotificationState.SENDING, attempts=notification.attempts
    )


def backoff(attempts: int) -> timedelta:
    """30 s after the first failed attempt, doubling, at most an hour."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


class Unreachable(Exception):
    """The mail server or provider could not be reached: the rows wait, no attempt spent."""


class NothingSent(Exception):
    """The backend took the message but sent nothing: it had no valid recipient."""


def _anymail() -> Any:
    """django-anymail's exceptions, if a provider backend loaded them: without one, none of
    its errors can occur (and the worker starts without importing requests)."""
    return sys.modules.get("anymail.exceptions")


def permanent(exc: BaseException) -> bool:
    """Whether sending again can never succeed: the message itself was refused for good."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # Refused at RCPT: 5xx is final ("no such user"); 4xx is "try later" (greylisting).
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):  # MAIL FROM or DATA answered
        return exc.smtp_code >= 500
    if isinstance(exc, NothingSent):
        return True
    anymail = _anymail()
    if anymail is None:
        return False
    if isinstance(exc, anymail.AnymailRecipientsRefused | anymail.AnymailInvalidAddress):
        return True
    if isinstance(exc, anymail.AnymailAPIError) and exc.status_code is not None:
        # The provider refused this request; 429 is its rate limit, which passes.
        return 400 <= exc.status_code < 500 and exc.status_code != 429
    return False


def unreachable(exc: BaseException) -> bool:
    """A provider API that could not be reached at all (no HTTP answer): like a server that
    refuses connections, the message is not at fault."""
    anymail = _anymail()
    return (
        anymail is not None
        and isinstance(exc, anymail.AnymailAPIError)
        and (exc.status_code is None)
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _release(rows: Sequence[Notification], reason: str = "") -> int:
    """Hand claimed rows back untried: due at once, and the claim's attempt given back, so
    rows a worker never got to (a stop, a server down) cost no attempt. `reason` is shown."""
    now = timezone.now()
    released = 0
    for notification in rows:
        error = reason or notification.last_error
        released += _mine(notification).update(
            state=NotificationState.FAILED if error else NotificationState.QUEUED,
            attempts=F("attempts") - 1,
            next_attempt_at=now,
            last_error=error,
        )
    return released


def _fail(notification: Notification, exc: BaseException) -> NotificationState:
    """Record a failed attempt: dead if it can never work or this was the last attempt."""
    final = permanent(exc) or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    state = NotificationState.DEAD if final else NotificationState.FAILED
    log.warning(
        "notification %s %s (attempt %s): %s",
        notification.pk,
        "gave up" if final else "failed, will retry",
        notification.attempts,
        exc,
    )
    _mine(notification).update(
        state=state,
        last_error=_describe(exc),
        next_attempt_at=timezone.now() + backoff(notification.attempts),
    )
    return state


def _mark_sent(notification: Notification, provider_id: str) -> None:
    """`_mine(notification).update(state=sent, sent_at=now, last_error="", provider id)`, as
    one prepared statement: it runs once per message, between one message and the next, and
    building it through the ORM each time cost more CPU than running it."""
    connection = connections[Notification.objects.db]
    sql = _mark_sent_sql(connection.alias)
    sent_at = Notification._meta.get_field("sent_at").get_db_prep_save(timezone.now(), connection)
    params = [
        NotificationState.SENT,
        sent_at,
        "",
        provider_id,
        notification.pk,
        NotificationState.SENDING,
        notification.attempts,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        marked = cursor.rowcount
    if not marked:
        # The lease ran out mid-send and another worker has the row: it may send it again.
        log.warning("notification %s: sent after its lease ran out", notification.pk)


@lru_cache(maxsize=4)
def _mark_sent_sql(alias: str) -> str:
    """UPDATE … SET state, sent_at, last_error, provider_message_id WHERE <the claim>: the
    same fence as `_mine` (id, state `sending`, the claim's attempt number)."""
    quote = connections[alias].ops.quote_name
    # These fields' columns are their names.
    assignments = ", ".join(
        f"{quote(name)} = %s" for name in ("state", "sent_at", "last_error", "provider_message_id")
    )
    fence = " AND ".join(f"{quote(name)} = %s" for name in ("id", "state", "attempts"))
    table = quote(Notification._meta.db_table)
    return f"UPDATE {table} SET {assignments} WHERE {fence}"  # noqa: S608


def _snapshots(batch: Sequence[Notification]) -> dict[int, Exception]:
    """Write the snapshots of the batch's rows that have none, all at once, before the first
    message goes out: render.py reads what the rows share once and stores every snapshot in
    one transaction. Returns the rows that could not be written, with why (each is recorded as
    a failed attempt when its turn comes). If the batch cannot be written as a whole (a
    database error), each row is written on its own when its turn comes, as before."""
    try:
        return render.take_snapshots(batch)
    except Exception:
        log.warning("writing the batch's snapshots failed; writing them one by one", exc_info=True)
        return {}


def _render(
    notification: Notification, error: Exception | None = None
) -> EmailMessage | NotificationState:
    """The message for a claimed row (its snapshot taken on the first claim only), or the
    state recorded if it could not be written (a template error: retried, and shown)."""
    try:
        if error is not None:  # the batch could not write this row's snapshot
            raise error
        render.take_snapshot(notification)  # nothing to do when the batch has written it
        return render.to_email(notification)
    except Exception as exc:
        return _fail(notification, exc)


def _outcome(notification: Notification, email: EmailMessage, sending: Future) -> NotificationState:
    """Wait for one send and record it: sent (at once, fenced on the claim), failed or dead.
    Raises only if the provider could not be reached: the caller hands the row back."""
    try:
        if not sending.result():  # Django's backends count what they sent
            raise NothingSent(f"Nothing was sent: no valid recipient in {email.to!r}")
    except Exception as exc:
        if unreachable(exc):
            raise Unreachable(_describe(exc)) from exc
        return _fail(notification, exc)
    status = getattr(email, "anymail_status", None)  # set by django-anymail backends
    _mark_sent(notification, getattr(status, "message_id", None) or render.message_id(notification))
    return NotificationState.SENT


def _close(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection: nothing to save
        log.debug("closing the email connection failed", exc_info=True)


def _lease_short(notification: Notification) -> bool:
    """Too little of the lease left for one more send: hand the row back rather than risk
    sending after another worker has taken it over."""
    # Two command timeouts, or half the lease if the lease is short (as in tests).
    lease_seconds = settings.NOTIFICATION_LEASE_SECONDS
    margin = timedelta(seconds=min(2 * (settings.EMAIL_TIMEOUT or 60), lease_seconds / 2))
    lease: datetime = notification.next_attempt_at
    return timezone.now() + margin > lease


class _Pipeline:
    """One batch's connection, and the one message in flight on it.

    The batch's snapshots are all written before the first send, so there is nothing left to
    overlap with a message's journey but building the next one: each message is sent in this
    thread (a sending thread cost more CPU in hand-offs than it saved), and its outcome is held
    until `settle` records it, after the next message is built and before anything else is
    sent. So at most one message is ever accepted by the server and not yet marked sent: the
    duplicate window stays one message wide (docs/email.md).
    """

    def __init__(self, batch: Sequence[Notification]) -> None:
        self.batch = batch
        self.result = Batch(claimed=len(batch))
        self.connection = get_connection(fail_silently=False)
        self.is_open = False
        self.in_flight: tuple[int, EmailMessage, Future] | None = None

    def send(self, index: int, email: EmailMessage) -> None:
        if not self.is_open:
            try:
                self.connection.open()
            except Exception as exc:  # refused, timed out, TLS or login failed
                raise Unreachable(_describe(exc)) from exc
            self.is_open = True
        sending: Future = Future()  # the outcome, for `settle` to record
        try:
            sending.set_result(self.connection.send_messages([email]))
        except Exception as exc:
            sending.set_exception(exc)
        self.in_flight = (index, email, sending)

    def settle(self) -> None:
        """Record the message in flight, if any. Raises if the provider was unreachable."""
        if self.in_flight is None:
            return
        index, email, sending = self.in_flight
        self.in_flight = None
        try:
            with logs.job_context(self.batch[index].job_id):
                state = _outcome(self.batch[index], email, sending)
        except Unreachable:
            self.in_flight = (index, email, sending)  # not sent: handed back with the rest
            raise
        self.count(state)
        if state != NotificationState.SENT:
            # The connection may be broken (a disconnect, a timeout): start afresh.
            _close(self.connection)
            self.is_open = False

    def count(self, state: NotificationState) -> None:
        if state == NotificationState.SENT:
            self.result.sent += 1
        elif state == NotificationState.DEAD:
            self.result.dead += 1
        else:
            self.result.failed += 1

    def hand_back(self, start: int, reason: str = "") -> None:
        self.result.released += _release(self.batch[start:], reason)

    def close(self) -> None:
        _close(self.connection)


def send_batch(
    batch: Sequence[Notification], *, stopping: Callable[[], bool] = lambda: False
) -> Batch:
    """Send claimed rows over one connection, opened once (again only after a failure).

    Before each row: if the worker is stopping, or the lease is nearly out, the message in
    flight is finished and the rest are handed back. If the server cannot be reached, the
    rest are handed back untried and `unreachable` says why; the caller waits before trying
    again.
    """
    if batch:
        # The bureau's name, address and reply-to, read once for the whole batch: render.py
        # uses the one it finds on the row instead of reading it per message.
        bureau = Bureau.current()
        for notification in batch:
            notification._printdesk_bureau = bureau  # type: ignore[attr-defined]
    unwritten = _snapshots(batch)
    pipe = _Pipeline(batch)
    index = 0
    try:
        for index, notification in enumerate(batch):
            if stopping() or _lease_short(notification):
                pipe.settle()
                pipe.hand_back(index)
                break
            with logs.job_context(notification.job_id):  # its log lines name the job
                email = _render(notification, unwritten.get(notification.pk))
            pipe.settle()
            if stopping():  # asked while we waited: nothing more goes out
                pipe.hand_back(index)
                break
            if isinstance(email, EmailMessage):
                pipe.send(index, email)
            else:
                pipe.count(email)
        else:
            pipe.settle()
    except Unreachable as exc:
        start = pipe.in_flight[0] if pipe.in_flight is not None else index
        pipe.in_flight = None
        pipe.result.unreachable = str(exc)
        log.warning("email server unreachable: %s", exc)
        reason = f"Not sent yet: the mail server could not be reached ({pipe.result.unreachable})"
        pipe.hand_back(start, reason[:2000])
    finally:
        pipe.close()
    return pipe.result


def drain(limit: int = BATCH_SIZE, *, stopping: Callable[[], bool] = lambda: False) -> Batch:
    """Claim one batch and send it."""
    return send_batch(claim(limit), stopping=stopping)
