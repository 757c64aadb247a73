"""What the job page shows, gathered from one job loaded with its prefetches.

The page offers exactly the actions `lifecycle.available` lists for the operator; its forms are
fresh unless a view hands back the ones the operator just submitted (with their errors).
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from printdesk.api import present
from printdesk.catalogue.models import Bureau, Material, Printer
from printdesk.desk.job_analysis import composer_rows, file_panels, setup_lines
from printdesk.desk.job_forms import (
    DispatchForm,
    NoteForm,
    QuoteComposer,
    QuotePreview,
    ReasonForm,
    RevisionForm,
    run_rows,
)
from printdesk.files.previews import analyses_by_version
from printdesk.jobs import lifecycle
from printdesk.jobs.lifecycle import Action, ActorKind, EventType, JobState
from printdesk.jobs.models import (
    LIVE_QUOTE,
    RUN_MOVES,
    AuditEvent,
    Dispatch,
    Job,
    PrintRun,
    Quote,
    RunState,
)
from printdesk.notifications import render
from printdesk.notifications.actions import can_resend
from printdesk.notifications.models import Notification
from printdesk.portal.request_form import uploader_settings

# The buttons a run offers, in the order a run lives through them.
RUN_BUTTONS = [RunState.PRINTING, RunState.DONE, RunState.FAILED]


def job_queryset() -> QuerySet[Job]:
    return present.detail_queryset().select_related("dispatch")


def decline_form(data=None) -> ReasonForm:
    return ReasonForm(data, prefix="decline", label="Reason for declining")


def cancel_form(data=None) -> ReasonForm:
    return ReasonForm(data, prefix="cancel", label="Reason for cancelling")


def revision_form(job: Job, data=None, files=None) -> RevisionForm:
    return RevisionForm(data, files, prefix="revision", files_of_job=list(job.files.all()))


def active_materials() -> list[Material]:
    return list(Material.objects.filter(active=True))


def active_printers() -> list[Printer]:
    return list(Printer.objects.filter(active=True))


@dataclass(frozen=True)
class Production:
    quantity: int
    done: int
    planned: int

    @property
    def owed(self) -> int:
        """Parts in no run yet: what the operator still has to plan (failed runs count here)."""
        return max(self.quantity - self.planned, 0)

    @property
    def complete(self) -> bool:
        return self.done >= self.quantity


def production(job: Job) -> Production:
    runs = list(job.runs.all())
    done = sum(run.quantity for run in runs if run.state == RunState.DONE)
    planned = sum(run.quantity for run in runs if run.state != RunState.FAILED)
    return Production(job.quantity, done, planned)


@dataclass(frozen=True)
class RunRow:
    number: int
    run: PrintRun
    moves: list[RunState]


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    label: str
    from_label: str
    to_label: str
    details: list[str]


def _state_label(value: str) -> str:
    return JobState(value).label if value in JobState.values else value


def describe(details: dict, run_numbers: dict[int, int]) -> list[str]:
    """An audit entry's details as short sentences an operator can read."""
    said: list[str] = []
    rest = dict(details)
    if "reason" in rest:
        said.append(f"Reason: {rest.pop('reason')}")
    if "quote_version" in rest:
        text = f"Quote v{rest.pop('quote_version')}"
        if "total" in rest:
            text += f": {rest.pop('currency', '')} {rest.pop('total')}".rstrip()
        said.append(text)
    for key in ("superseded_version", "superseded_quote_version"):
        if key in rest:
            said.append(f"Quote v{rest.pop(key)} superseded")
    if "files" in rest:
        said.append("Files: " + ", ".join(str(name) for name in rest.pop("files")))
    if "file" in rest:
        text = f"File {rest.pop('file')}"
        if "version" in rest:
            text += f", version {rest.pop('version')}"
        rest.pop("file_id", None)
        said.append(text)
    if "run_id" in rest:
        run_id = rest.pop("run_id")
        text = f"Run {run_numbers.get(run_id, f'#{run_id}')}"
        if "from" in rest and "to" in rest:
            text += f": {rest.pop('from')} → {rest.pop('to')}"
        if "quantity" in rest:
            text += f" ({rest.pop('quantity')} parts)"
        said.append(text)
    if "done" in rest:
        said.append(f"{rest.pop('done')} parts done")
    if "method" in rest:
        method = rest.pop("method")
        carrier, tracking = rest.pop("carrier", ""), rest.pop("tracking_number", "")
        if method == "hand_over":
            said.append("Handed over in person")
        else:
            text = f"Carrier {carrier}" if carrier else "By carrier"
            said.append(f"{text}, tracking {tracking}" if tracking else text)
    if "notification_id" in rest:
        text = f"Email #{rest.pop('notification_id')}"
        if "event" in rest:
            text += f" ({_event_label(rest.pop('event'))})"
        if "recipient" in rest:
            text += f" to {rest.pop('recipient')}"
        said.append(text)
    if "retried" in rest:
        said.append("Retried email " + ", ".join(f"#{pk}" for pk in rest.pop("retried")))
    rest.pop("note_id", None)  # the note itself is listed under internal notes
    said.extend(f"{key.replace('_', ' ')}: {value}" for key, value in rest.items())
    return said


def _event_label(value: str) -> str:
    return EventType(value).label if value in EventType.values else value


@dataclass(frozen=True)
class EmailRow:
    """One notification on the job page, with its snapshot as staff may read it."""

    notification: Notification
    copies: list[int]  # the ids of its resends
    can_resend: bool
    subject: str
    text: str


# The private link is the customer's alone: staff read the snapshot with this in its place.
LINK_SHOWN_AS = "[private link]"


def email_rows(job: Job, actor_kind: ActorKind) -> list[EmailRow]:
    """The job's emails (prefetched: no query per row), oldest first."""
    notifications = list(job.notifications.all())
    copies: dict[int, list[int]] = {}
    for n in notifications:
        if n.resend_of_id is not None:
            copies.setdefault(n.resend_of_id, []).append(n.pk)
    transition = lifecycle.find(Action.RESEND_EMAIL, JobState(job.state))
    staff_may = transition is not None and lifecycle.permits(transition, actor_kind)
    return [
        EmailRow(
            notification=n,
            copies=copies.get(n.pk, []),
            can_resend=staff_may and can_resend(n, has_copy=n.pk in copies),
            subject=n.subject.replace(render.LINK_PLACEHOLDER, LINK_SHOWN_AS),
            text=n.body_text.replace(render.LINK_PLACEHOLDER, LINK_SHOWN_AS),
        )
        for n in notifications
    ]


def audit_rows(job: Job, run_numbers: dict[int, int]) -> list[AuditRow]:
    return [
        AuditRow(
            event=event,
            label=event.get_event_display(),
            from_label=_state_label(event.from_state) if event.from_state else "",
            to_label=_state_label(event.to_state),
            details=describe(event.details or {}, run_numbers),
        )
        for event in job.audit_events.all()
    ]


def _dispatch(job: Job) -> Dispatch | None:
    try:
        return job.dispatch
    except Dispatch.DoesNotExist:
        return None


def page_context(
    job: Job,
    actor_kind: ActorKind,
    *,
    version: int,
    forms: dict[str, Any],
    preview: QuotePreview | None = None,
) -> dict:
    """The template's context. `forms` replaces fresh forms by the operator's submitted ones."""
    available = set(lifecycle.available(JobState(job.state), actor_kind))
    bureau = Bureau.current()
    quotes: list[Quote] = list(job.quotes.all())
    live = next((q for q in quotes if q.status in LIVE_QUOTE), None)
    runs = list(job.runs.all())
    run_numbers = {run.pk: number for number, run in enumerate(runs, start=1)}
    made = production(job)
    files = list(job.files.all())
    analyses = analyses_by_version(v.pk for f in files for v in f.versions.all())
    printers = active_printers()

    context: dict[str, Any] = {
        "job": job,
        "bureau": bureau,  # shared with the layout, so the page reads it once
        "version": version,
        "state_label": JobState(job.state).label,
        "can": {action.value: action in available for action in Action},
        "files": files,
        "file_panels": file_panels(job, files, analyses, printers),
        "can_scale": _staff_may(Action.SET_SCALE, job, actor_kind),
        "quotes": quotes,
        "live_quote": live,
        "preview": preview,
        "runs": [
            RunRow(n, run, [s for s in RUN_BUTTONS if s in RUN_MOVES[run.state]])
            for run, n in ((run, run_numbers[run.pk]) for run in runs)
        ],
        "production": made,
        "dispatch": _dispatch(job),
        "notes": list(job.internal_notes.all()),
        "audit": audit_rows(job, run_numbers),
        "notifications": email_rows(job, actor_kind),
        "decline_form": forms.get("decline") or decline_form(),
        "cancel_form": forms.get("cancel") or cancel_form(),
        "note_form": forms.get("note") or NoteForm(prefix="note"),
        "revision_form": forms.get("revision") or revision_form(job),
        "uploader": uploader_settings(),
        "dispatch_form": forms.get("dispatch") or DispatchForm(prefix="dispatch"),
    }
    if Action.SEND_QUOTE in available:
        materials = active_materials()
        composer = forms.get("composer") or QuoteComposer.fresh(job, materials, bureau.currency)
        context["composer"] = composer
        rows = composer_rows(composer.lines, files, analyses, materials, printers)
        context["composer_rows"] = rows
        context["setup_lines"] = setup_lines(rows)
        context["known_colours"] = sorted({c for m in materials for c in m.colours})
    if Action.ADD_RUN in available:
        context["run_rows"] = forms.get("runs") or run_rows(printers, made.owed)
    return context


def _staff_may(action: Action, job: Job, actor_kind: ActorKind) -> bool:
    """For the actions that are forms of their own, not buttons (lifecycle.NOT_BUTTONS)."""
    transition = lifecycle.find(action, JobState(job.state))
    return transition is not None and lifecycle.permits(transition, actor_kind)
