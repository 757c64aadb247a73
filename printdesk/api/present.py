"""Jobs as the API shows them, each view loaded in a fixed number of queries."""

from django.db.models import Prefetch, QuerySet

from printdesk.api import analysis
from printdesk.files.models import FileVersion, JobFile
from printdesk.jobs import lifecycle
from printdesk.jobs.lifecycle import ActorKind, EventType, JobState
from printdesk.jobs.models import (
    LIVE_QUOTE,
    AuditEvent,
    Dispatch,
    Job,
    PrintRun,
    Quote,
    QuoteLine,
    RunState,
)

# What a customer sees of the audit trail: the steps of their job, not the bureau's bookkeeping.
CUSTOMER_EVENTS = lifecycle.CUSTOMER_NOTIFIED | {EventType.QUOTE_DECLINED}


# A job's files come with their versions and each version's analysis: two queries in all.
FILES_WITH_ANALYSES = JobFile.objects.prefetch_related(
    Prefetch("versions", queryset=FileVersion.objects.select_related("analysis"))
)
# The same for the customer, who is shown how many bodies, never the list (Analysis.summary).
FILES_WITH_SUMMARIES = JobFile.objects.prefetch_related(
    Prefetch(
        "versions",
        queryset=FileVersion.objects.select_related("analysis").defer("analysis__bodies"),
    )
)

# A quote's lines come with their material in the same query.
QUOTES_WITH_LINES = Quote.objects.prefetch_related(
    Prefetch("lines", queryset=QuoteLine.objects.select_related("material"))
)


def summary_queryset() -> QuerySet[Job]:
    return Job.objects.select_related("material")


def summary(job: Job) -> dict:
    return {
        "reference": job.reference,
        "state": job.state,
        "state_label": JobState(job.state).label,
        "version": job.version,
        "customer_name": job.customer_name,
        "customer_email": job.customer_email,
        "customer_company": job.customer_company,
        "material": job.material.name,
        "colour": job.colour,
        "quantity": job.quantity,
        "desired_date": job.desired_date,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "state_changed_at": job.state_changed_at,
    }


def detail_queryset() -> QuerySet[Job]:
    return Job.objects.select_related("material").prefetch_related(
        Prefetch("files", queryset=FILES_WITH_ANALYSES),
        Prefetch("quotes", queryset=QUOTES_WITH_LINES),
        Prefetch("runs", queryset=PrintRun.objects.select_related("printer", "material")),
        Prefetch("audit_events", queryset=AuditEvent.objects.select_related("actor_user")),
        "notifications",
        "internal_notes__author",
    )


def _dispatch(job: Job) -> dict | None:
    try:
        record = job.dispatch
    except Dispatch.DoesNotExist:
        return None
    return {
        "method": record.method,
        "carrier": record.carrier,
        "tracking_number": record.tracking_number,
        "created_at": record.created_at,
    }


def _version(version: FileVersion, context: analysis.Context) -> dict:
    return {
        "id": version.pk,
        "number": version.number,
        "original_name": version.original_name,
        "size": version.size,
        "sha256": version.sha256,
        "uploaded_by": version.uploaded_by,
        "created_at": version.created_at,
        "analysis": analysis.staff_view(version, context),
    }


def _quote(quote: Quote) -> dict:
    return {
        "version": quote.version,
        "status": quote.effective_status,
        "currency": quote.currency,
        "total": quote.total,
        "lead_time_days": quote.lead_time_days,
        "valid_until": quote.valid_until,
        "message": quote.message,
        "created_at": quote.created_at,
        "decided_at": quote.decided_at,
        "lines": [
            {
                "description": line.description,
                "file_id": line.job_file_id,
                "material": line.material.name,
                "colour": line.colour,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
            }
            for line in quote.lines.all()
        ],
    }


def _production(job: Job) -> dict:
    runs = list(job.runs.all())
    done = sum(run.quantity for run in runs if run.state == RunState.DONE)
    planned = sum(run.quantity for run in runs if run.state != RunState.FAILED)
    return {"quantity": job.quantity, "done": done, "planned": planned, "owed": job.quantity - done}


def detail(job: Job, actor_kind: ActorKind) -> dict:
    """Everything about a job, for staff. `job` comes from detail_queryset()."""
    context = analysis.Context.load(job)
    return {
        **summary(job),
        "customer_phone": job.customer_phone,
        "notes": job.notes,
        "files": [
            {
                "id": f.pk,
                "name": f.name,
                "versions": [_version(v, context) for v in f.versions.all()],
            }
            for f in job.files.all()
        ],
        "quotes": [_quote(q) for q in job.quotes.all()],
        "runs": [
            {
                "id": run.pk,
                "quantity": run.quantity,
                "printer": run.printer.name if run.printer else None,
                "material": run.material.name,
                "colour": run.colour,
                "state": run.state,
                "notes": run.notes,
                "created_at": run.created_at,
                "updated_at": run.updated_at,
            }
            for run in job.runs.all()
        ],
        "production": _production(job),
        "dispatch": _dispatch(job),
        "internal_notes": [
            {"author": n.author.get_username(), "body": n.body, "created_at": n.created_at}
            for n in job.internal_notes.all()
        ],
        "audit": [
            {
                "event": a.event,
                "actor_kind": a.actor_kind,
                "actor": a.actor_label,
                "from_state": a.from_state,
                "to_state": a.to_state,
                "details": a.details,
                "created_at": a.created_at,
            }
            for a in job.audit_events.all()
        ],
        "notifications": [
            {
                "id": n.pk,
                "resend_of": n.resend_of_id,
                "event": n.event,
                "audience": n.audience,
                "recipient": n.recipient,
                "state": n.state,
                "attempts": n.attempts,
                "next_attempt_at": n.next_attempt_at,
                "last_error": n.last_error,
                "provider_message_id": n.provider_message_id,
                "created_at": n.created_at,
                "sent_at": n.sent_at,
            }
            for n in job.notifications.all()
        ],
        "actions": lifecycle.available(JobState(job.state), actor_kind),
    }


def customer_queryset() -> QuerySet[Job]:
    return Job.objects.select_related("material").prefetch_related(
        Prefetch("files", queryset=FILES_WITH_SUMMARIES),
        Prefetch("quotes", queryset=QUOTES_WITH_LINES),
        Prefetch("audit_events", queryset=AuditEvent.objects.filter(event__in=CUSTOMER_EVENTS)),
    )


def customer_view(job: Job, secret: str | None = None) -> dict:
    """What the holder of the job's link sees: no internal notes, runs or staff names, nor the
    bureau's own figures from the analysis. With `secret` (the caller's link, used only in the
    preview URLs of this answer) each file carries its analysis; without, None (the status page
    shows its own)."""
    context = analysis.Context.load(job) if secret else None
    quotes = list(job.quotes.all())
    live = [q for q in quotes if q.status in LIVE_QUOTE]
    return {
        "reference": job.reference,
        "state": job.state,
        "state_label": JobState(job.state).label,
        "version": job.version,
        "material": job.material.name,
        "colour": job.colour,
        "quantity": job.quantity,
        "desired_date": job.desired_date,
        "created_at": job.created_at,
        "files": [
            {
                "id": f.pk,
                "name": f.name,
                "versions": len(f.versions.all()),
                "analysis": analysis.customer_view(list(f.versions.all()), context, secret)
                if context and secret
                else None,
            }
            for f in job.files.all()
        ],
        "quote": _quote(live[0]) if live else None,
        "dispatch": _dispatch(job),
        "history": [
            {
                "event": a.event,
                "label": EventType(a.event).label,
                "to_state": a.to_state,
                "created_at": a.created_at,
            }
            for a in job.audit_events.all()
        ],
        "actions": lifecycle.available(JobState(job.state), ActorKind.CUSTOMER),
    }
