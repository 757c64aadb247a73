"""What the lifecycle tests look at: a job's whole footprint, and assertions over it.

`refused(job, Error)` and `applies(job)` wrap one action call:
- refused: exactly that error (not a subclass) and not one row changed anywhere;
- applies: the version went up by one and exactly one audit row was written, whose
  notifications are the only new outbox rows.
"""

from contextlib import contextmanager
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from printdesk.files.models import FileVersion, JobFile
from printdesk.jobs.errors import ActionError
from printdesk.jobs.lifecycle import Action, EventType, JobState
from printdesk.jobs.models import AuditEvent, Dispatch, Job, Note, PrintRun, Quote, QuoteLine
from printdesk.lib.demo import quote_lines
from printdesk.notifications.models import Notification

S = JobState
CUSTOMER, OPERATOR, SYSTEM = "customer", "operator", "system"
EVERYONE = frozenset({CUSTOMER, OPERATOR})
STAFF = frozenset({OPERATOR})

# PRODUCT.md's lifecycle table written out again, independently of lifecycle.py, so the two
# are checked against each other: action -> {state it applies in: who may, state it leads to}.
# None as the target: the job keeps its state. Admins may do what operators may.
PRODUCT_TABLE: dict[Action, dict[JobState, tuple[frozenset[str], JobState | None]]] = {
    Action.SEND_QUOTE: {
        S.SUBMITTED: (STAFF, S.QUOTED),
        S.QUOTED: (STAFF, S.QUOTED),
        S.QUOTE_DECLINED: (STAFF, S.QUOTED),
    },
    Action.DECLINE: {S.SUBMITTED: (STAFF, S.DECLINED)},
    Action.ACCEPT_QUOTE: {S.QUOTED: (EVERYONE, S.ACCEPTED)},
    Action.DECLINE_QUOTE: {S.QUOTED: (frozenset({CUSTOMER}), S.QUOTE_DECLINED)},
    # Before any quote a revision only adds a version (lifecycle.py's refinement of the table).
    Action.REVISE_FILE: {
        S.SUBMITTED: (EVERYONE, None),
        S.QUOTED: (EVERYONE, S.SUBMITTED),
        S.ACCEPTED: (EVERYONE, S.SUBMITTED),
    },
    Action.START_PRODUCTION: {S.ACCEPTED: (STAFF, S.IN_PRODUCTION)},
    Action.ADD_RUN: {S.IN_PRODUCTION: (STAFF, None)},
    Action.UPDATE_RUN: {S.IN_PRODUCTION: (STAFF, None)},
    Action.MARK_READY: {S.IN_PRODUCTION: (STAFF, S.READY)},
    Action.DISPATCH: {S.READY: (STAFF, S.DISPATCHED)},
    Action.CANCEL: {
        S.SUBMITTED: (EVERYONE, S.CANCELLED),
        S.QUOTED: (EVERYONE, S.CANCELLED),
        S.QUOTE_DECLINED: (EVERYONE, S.CANCELLED),
        S.ACCEPTED: (EVERYONE, S.CANCELLED),
        S.IN_PRODUCTION: (STAFF, S.CANCELLED),
        S.READY: (STAFF, S.CANCELLED),
    },
    # Internal notes stay possible after a job ends: they never change its state.
    Action.ADD_NOTE: {state: (STAFF, None) for state in JobState},
    # A new private link, whatever the state (lifecycle.py's addition for the link's security);
    # the system sends one when the customer asks on the "Lost your link?" page.
    Action.ROTATE_LINK: {state: (STAFF | {SYSTEM}, None) for state in JobState},
    # Sending an email again: bookkeeping like a note (lifecycle.py's addition, for "operators
    # ... can resend" in PRODUCT.md's Notifications), possible whatever the state.
    Action.RESEND_EMAIL: {state: (STAFF, None) for state in JobState},
    # "Lost your link?" emails the current (derived) link again: the system only (issue 6).
    Action.SEND_LINK: {state: (frozenset({SYSTEM}), None) for state in JobState},
    # An operator's scale for a file drawn in other units (issue 7): bookkeeping like a note,
    # in every state but the terminal ones, where quoting and printing are over.
    Action.SET_SCALE: {
        state: (STAFF, None)
        for state in JobState
        if state not in (S.DECLINED, S.CANCELLED, S.DISPATCHED)
    },
}
TERMINAL = frozenset({S.DECLINED, S.CANCELLED, S.DISPATCHED})
# Where a print run may go; done and failed are final.
RUN_MOVES = {
    "queued": {"printing", "done", "failed"},
    "printing": {"done", "failed"},
    "done": set(),
    "failed": set(),
}


# PRODUCT.md's "Notifications" section, event by event: whom each one emails.
CUSTOMER_HEARS = frozenset(
    {
        EventType.SUBMITTED,
        EventType.QUOTE_SENT,
        EventType.QUOTE_ACCEPTED,
        EventType.REQUEST_DECLINED,
        EventType.FILE_REVISED,
        EventType.PRODUCTION_STARTED,
        EventType.READY,
        EventType.DISPATCHED,
        EventType.CANCELLED,
        EventType.LINK_ROTATED,
        EventType.LINK_SENT,
    }
)
STAFF_HEAR_FROM_CUSTOMERS = frozenset(
    {
        EventType.SUBMITTED,
        EventType.QUOTE_ACCEPTED,
        EventType.QUOTE_DECLINED,
        EventType.FILE_REVISED,
        EventType.CANCELLED,
    }
)


def expected_audiences(event: str, actor_kind: str) -> set[str]:
    audiences = set()
    if event in CUSTOMER_HEARS:
        audiences.add("customer")
    if event in STAFF_HEAR_FROM_CUSTOMERS and actor_kind == CUSTOMER:
        audiences.add("staff")
    return audiences


def who_may(action: Action, state: JobState, actor_kind: str) -> bool:
    row = PRODUCT_TABLE[action].get(state)
    if row is None:
        return False
    kind = OPERATOR if actor_kind == "admin" else actor_kind
    return kind in row[0]


def in_days(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


def quote_kwargs(job: Job, **overrides) -> dict:
    """A valid quote for `job`, as send_quote takes it."""
    values = {
        "lines": quote_lines(job),
        "currency": "EUR",
        "lead_time_days": 5,
        "valid_until": in_days(14),
        "message": "Thanks for your request.",
    }
    values.update(overrides)
    return values


COUNTED = (
    Job,
    AuditEvent,
    Notification,
    Quote,
    QuoteLine,
    PrintRun,
    JobFile,
    FileVersion,
    Dispatch,
    Note,
)


def totals() -> dict[str, int]:
    """Rows in every table an action writes: a refusal must not have written anywhere."""
    # One query, not ten: this runs around every refused action. Table names are our own.
    tables = [model._meta.db_table for model in COUNTED]
    counts = ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    return {model.__name__: count for model, count in zip(COUNTED, row, strict=True)}


def footprint(job: Job) -> dict:
    """Everything an action could change about one job (and the row counts everywhere)."""
    row = Job.objects.get(pk=job.pk)

    def rows(model, *fields, **where):
        # Ordered by id: the models' default orderings join the job table and cost more here.
        return list(model.objects.filter(**where).order_by("id").values_list(*fields))

    return {
        "job": (row.state, row.version, row.updated_at, row.state_changed_at),
        "audit": rows(AuditEvent, "id", "event", job=row),
        "notifications": rows(Notification, "id", "audience", "state", job=row),
        "quotes": rows(Quote, "version", "status", "decided_at", job=row),
        "runs": rows(PrintRun, "id", "state", "quantity", "notes", job=row),
        "files": rows(FileVersion, "id", "job_file_id", "number", job_file__job=row),
        "dispatch": rows(Dispatch, "id", job=row),
        "notes": rows(Note, "id", job=row),
        "totals": totals(),
    }


@contextmanager
def refused(job: Job | None, error: type[ActionError]):
    """Expect exactly `error`, with a message for a person, and no change at all."""
    before = footprint(job) if job is not None else totals()
    with pytest.raises(error) as caught:
        yield caught
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.message
    after = footprint(job) if job is not None else totals()
    assert after == before


@contextmanager
def applies(job: Job):
    """Expect one applied action: version + 1, one audit row, only its notifications new.

    Yields a namespace filled in afterwards: `job` (reloaded), `audit`, `sent_to`
    ({audience: recipient} of the new notifications).
    """
    before = footprint(job)
    result = SimpleNamespace()
    yield result
    fresh = Job.objects.get(pk=job.pk)
    assert fresh.version == before["job"][1] + 1
    seen = [audit_id for audit_id, _ in before["audit"]]
    new = list(fresh.audit_events.exclude(id__in=seen))
    assert len(new) == 1, new
    audit = new[0]
    sent = list(audit.notifications.all())
    assert totals()["AuditEvent"] == before["totals"]["AuditEvent"] + 1
    assert totals()["Notification"] == before["totals"]["Notification"] + len(sent)
    result.job, result.audit = fresh, audit
    result.sent_to = {n.audience: n.recipient for n in sent}
    assert len(result.sent_to) == len(sent)  # never two rows for one audience


def assert_audit(audit: AuditEvent, *, event, actor, from_state, to_state, details=None) -> None:
    """The audit row says who did what, from which state to which, with the details given."""
    assert audit.event == event
    assert audit.actor_kind == actor.kind
    assert audit.actor_user_id == (actor.user.pk if actor.user is not None else None)
    assert audit.from_state == from_state
    assert audit.to_state == to_state
    if details is not None:
        assert audit.details == details


def quote_statuses(job: Job) -> dict[int, str]:
    return dict(Quote.objects.filter(job=job).values_list("version", "status"))
