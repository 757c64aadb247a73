"""The job lifecycle as data: states, who may act, and which transitions exist.

This module is the single source of truth for PRODUCT.md's lifecycle table. The action
functions in `printdesk.jobs.actions` look transitions up here; nothing else decides whether a
state change is allowed.
"""

from dataclasses import dataclass

from django.db import models


class JobState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    QUOTED = "quoted", "Quoted"
    ACCEPTED = "accepted", "Quote accepted"
    QUOTE_DECLINED = "quote_declined", "Quote declined"
    DECLINED = "declined", "Declined"
    IN_PRODUCTION = "in_production", "In production"
    READY = "ready", "Ready"
    DISPATCHED = "dispatched", "Dispatched"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATES = frozenset({JobState.DECLINED, JobState.CANCELLED, JobState.DISPATCHED})
OPEN_STATES = frozenset(JobState) - TERMINAL_STATES


class ActorKind(models.TextChoices):
    CUSTOMER = "customer", "Customer via link"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class Action(models.TextChoices):
    SUBMIT = "submit", "Submit request"
    SEND_QUOTE = "send_quote", "Send quote"
    DECLINE = "decline", "Decline request"
    ACCEPT_QUOTE = "accept_quote", "Accept quote"
    DECLINE_QUOTE = "decline_quote", "Decline quote"
    REVISE_FILE = "revise_file", "Upload revised file"
    START_PRODUCTION = "start_production", "Start production"
    ADD_RUN = "add_run", "Add print run"
    UPDATE_RUN = "update_run", "Update print run"
    MARK_READY = "mark_ready", "Mark ready"
    DISPATCH = "dispatch", "Dispatch"
    CANCEL = "cancel", "Cancel"
    ADD_NOTE = "add_note", "Add internal note"
    ROTATE_LINK = "rotate_link", "Send the customer a new link"
    RESEND_EMAIL = "resend_email", "Resend an email"
    SEND_LINK = "send_link", "Email the customer their link"
    SET_SCALE = "set_scale", "Set a file's scale"


class EventType(models.TextChoices):
    """What the audit trail records; one per applied action, named in the past tense."""

    SUBMITTED = "submitted", "Request submitted"
    QUOTE_SENT = "quote_sent", "Quote sent"
    REQUEST_DECLINED = "request_declined", "Request declined"
    QUOTE_ACCEPTED = "quote_accepted", "Quote accepted"
    QUOTE_DECLINED = "quote_declined", "Quote declined"
    FILE_REVISED = "file_revised", "Revised file received"
    PRODUCTION_STARTED = "production_started", "Production started"
    RUN_ADDED = "run_added", "Print run added"
    RUN_UPDATED = "run_updated", "Print run updated"
    READY = "ready", "Ready"
    DISPATCHED = "dispatched", "Dispatched"
    CANCELLED = "cancelled", "Cancelled"
    NOTE_ADDED = "note_added", "Internal note added"
    LINK_ROTATED = "link_rotated", "New private link sent"
    EMAIL_RESENT = "email_resent", "Email resent"
    LINK_SENT = "link_sent", "Private link emailed again"
    SCALE_SET = "scale_set", "File scale set"


S = JobState
CUSTOMER = frozenset({ActorKind.CUSTOMER})
STAFF = frozenset({ActorKind.OPERATOR})
SYSTEM = frozenset({ActorKind.SYSTEM})
EVERYONE = CUSTOMER | STAFF


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[JobState]
    target: JobState | None  # None: the action is recorded but the state stays
    actors: frozenset[ActorKind]
    event: EventType


def _t(action, sources, target, actors, event) -> Transition:
    return Transition(action, frozenset(sources), target, actors, event)


# A new job has no state to come from, so submission is the one row outside the lookup.
SUBMISSION = _t(Action.SUBMIT, [], S.SUBMITTED, CUSTOMER, EventType.SUBMITTED)

# PRODUCT.md's table, row for row. Admins may do whatever operators may (see `permits`).
TRANSITIONS: tuple[Transition, ...] = (
    SUBMISSION,
    _t(
        Action.SEND_QUOTE,
        [S.SUBMITTED, S.QUOTED, S.QUOTE_DECLINED],
        S.QUOTED,
        STAFF,
        EventType.QUOTE_SENT,
    ),
    _t(Action.DECLINE, [S.SUBMITTED], S.DECLINED, STAFF, EventType.REQUEST_DECLINED),
    _t(Action.ACCEPT_QUOTE, [S.QUOTED], S.ACCEPTED, EVERYONE, EventType.QUOTE_ACCEPTED),
    _t(Action.DECLINE_QUOTE, [S.QUOTED], S.QUOTE_DECLINED, CUSTOMER, EventType.QUOTE_DECLINED),
    # A revision before any quote just adds a version; after a quote it needs a new quote.
    _t(Action.REVISE_FILE, [S.SUBMITTED], None, EVERYONE, EventType.FILE_REVISED),
    _t(Action.REVISE_FILE, [S.QUOTED, S.ACCEPTED], S.SUBMITTED, EVERYONE, EventType.FILE_REVISED),
    _t(Action.START_PRODUCTION, [S.ACCEPTED], S.IN_PRODUCTION, STAFF, EventType.PRODUCTION_STARTED),
    _t(Action.ADD_RUN, [S.IN_PRODUCTION], None, STAFF, EventType.RUN_ADDED),
    _t(Action.UPDATE_RUN, [S.IN_PRODUCTION], None, STAFF, EventType.RUN_UPDATED),
    _t(Action.MARK_READY, [S.IN_PRODUCTION], S.READY, STAFF, EventType.READY),
    _t(Action.DISPATCH, [S.READY], S.DISPATCHED, STAFF, EventType.DISPATCHED),
    _t(
        Action.CANCEL,
        [S.SUBMITTED, S.QUOTED, S.QUOTE_DECLINED, S.ACCEPTED],
        S.CANCELLED,
        EVERYONE,
        EventType.CANCELLED,
    ),
    _t(Action.CANCEL, [S.IN_PRODUCTION, S.READY], S.CANCELLED, STAFF, EventType.CANCELLED),
    # Notes are the bureau's own memory of a job, useful after it ends too.
    _t(Action.ADD_NOTE, list(JobState), None, STAFF, EventType.NOTE_ADDED),
    # A leaked or lost link is replaced, whatever the state: a customer still follows the
    # tracking of a dispatched job through it. The system rotates it when a customer asks on
    # "Lost your link?" and the link cannot be derived again (portal/lost_link.py).
    _t(Action.ROTATE_LINK, list(JobState), None, STAFF | SYSTEM, EventType.LINK_ROTATED),
    # Sending an email again (a customer lost it, or it gave up): bookkeeping like a note, so
    # possible in every state, recorded in the trail, and it moves the version so a double
    # click resends once. The email itself is a copy of the one chosen, not a new event's.
    _t(Action.RESEND_EMAIL, list(JobState), None, STAFF, EventType.EMAIL_RESENT),
    # "Lost your link?": the system emails the current link again (derived, never stored), so
    # asking does not kill a link the customer may still have open. Bookkeeping like a resend.
    _t(Action.SEND_LINK, list(JobState), None, SYSTEM, EventType.LINK_SENT),
    # An operator's scale for a file drawn in inches or metres (STL has no units): it changes
    # the sizes, fit and estimates the quote is made from, so it is recorded like a note and
    # moves the version. Pointless once the job has ended.
    _t(Action.SET_SCALE, OPEN_STATES, None, STAFF, EventType.SCALE_SET),
)


def permits(transition: Transition, actor_kind: ActorKind) -> bool:
    if actor_kind == ActorKind.ADMIN:
        return ActorKind.OPERATOR in transition.actors or ActorKind.ADMIN in transition.actors
    return actor_kind in transition.actors


def find(action: Action, state: JobState) -> Transition | None:
    """The row of the table that applies `action` to a job in `state`, if any."""
    for transition in TRANSITIONS:
        if transition.action == action and state in transition.sources:
            return transition
    return None


# Not a button of the job: a note has its own form, a resend a button on the email it sends
# again, a scale a form on the file it scales.
NOT_BUTTONS = frozenset({Action.ADD_NOTE, Action.RESEND_EMAIL, Action.SET_SCALE})


def available(state: JobState, actor_kind: ActorKind) -> list[Action]:
    """Actions this actor may take on a job in this state: what a page offers as buttons."""
    return [
        t.action
        for t in TRANSITIONS
        if state in t.sources and permits(t, actor_kind) and t.action not in NOT_BUTTONS
    ]


class Audience(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"


# Which events email whom. Staff hear about what customers do; customers hear about every
# step of their job. Notes and run bookkeeping stay internal.
CUSTOMER_NOTIFIED = frozenset(
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
STAFF_NOTIFIED_WHEN_CUSTOMER_ACTS = frozenset(
    {
        EventType.SUBMITTED,
        EventType.QUOTE_ACCEPTED,
        EventType.QUOTE_DECLINED,
        EventType.FILE_REVISED,
        EventType.CANCELLED,
    }
)


def audiences(event: EventType, actor_kind: ActorKind) -> list[Audience]:
    result = []
    if event in CUSTOMER_NOTIFIED:
        result.append(Audience.CUSTOMER)
    if event in STAFF_NOTIFIED_WHEN_CUSTOMER_ACTS and actor_kind == ActorKind.CUSTOMER:
        result.append(Audience.STAFF)
    return result
