"""What the customer reads: each state in plain words, and their job's history as a timeline."""

from dataclasses import dataclass
from datetime import datetime

from printdesk.jobs.lifecycle import ActorKind, EventType, JobState
from printdesk.jobs.models import AuditEvent


@dataclass(frozen=True)
class StateText:
    now: str  # where the job is
    next: str  # what happens next, and whether the customer has anything to do


STATE_TEXT: dict[JobState, StateText] = {
    JobState.SUBMITTED: StateText(
        "We have your request and are preparing a quote.",
        "You will get an email when the quote is ready; you can then accept or decline it here.",
    ),
    JobState.QUOTED: StateText(
        "Your quote is ready.",
        "Check it below, then accept it or decline it with a reason before it expires.",
    ),
    JobState.ACCEPTED: StateText(
        "You accepted the quote.",
        "We will schedule the printing and email you when production starts.",
    ),
    JobState.QUOTE_DECLINED: StateText(
        "You declined the quote.",
        "We may send you a revised quote. You can still cancel the request if you no longer "
        "need it.",
    ),
    JobState.DECLINED: StateText(
        "We cannot take on this request.",
        "Nothing more will happen with this job. You are welcome to send a new request.",
    ),
    JobState.IN_PRODUCTION: StateText(
        "Your parts are being printed.",
        "We will email you when they are ready.",
    ),
    JobState.READY: StateText(
        "Your parts are printed and ready.",
        "We will email you when they are sent or ready to collect.",
    ),
    JobState.DISPATCHED: StateText(
        "Your parts have been sent or handed over.",
        "Nothing more to do. The delivery details are below.",
    ),
    JobState.CANCELLED: StateText(
        "This job was cancelled.",
        "Nothing more will happen with this job. You are welcome to send a new request.",
    ),
}


@dataclass(frozen=True)
class Moment:
    at: datetime
    label: str
    detail: str = ""


def _label(event: AuditEvent) -> str:
    by_customer = event.actor_kind == ActorKind.CUSTOMER
    labels = {
        EventType.SUBMITTED: "You sent the request",
        EventType.QUOTE_SENT: "Quote sent to you",
        EventType.REQUEST_DECLINED: "The bureau declined the request",
        EventType.QUOTE_ACCEPTED: "You accepted the quote" if by_customer else "Quote accepted",
        EventType.QUOTE_DECLINED: "You declined the quote",
        EventType.FILE_REVISED: "You sent a revised file" if by_customer else "File revised",
        EventType.CANCELLED: "You cancelled the job" if by_customer else "The bureau cancelled",
        EventType.LINK_ROTATED: "A new private link was emailed to you",
    }
    return labels.get(EventType(event.event), EventType(event.event).label)


def _detail(event: AuditEvent) -> str:
    details = event.details or {}
    if "reason" in details:
        return f"Reason: {details['reason']}"
    if event.event == EventType.QUOTE_SENT:
        return f"Version {details.get('quote_version')}: {details.get('total')} " + str(
            details.get("currency", "")
        )
    if event.event == EventType.FILE_REVISED:
        return f"{details.get('file')}, version {details.get('version')}"
    if event.event == EventType.SUBMITTED and details.get("files"):
        return "Files: " + ", ".join(details["files"])
    if event.event == EventType.DISPATCHED:
        parts = [details.get("carrier"), details.get("tracking_number")]
        return " · ".join(part for part in parts if part) or "Handed over"
    return ""


def timeline(events: list[AuditEvent]) -> list[Moment]:
    """The customer-visible events (present.CUSTOMER_EVENTS), oldest first."""
    return [Moment(event.created_at, _label(event), _detail(event)) for event in events]
