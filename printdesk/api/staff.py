"""Operator and admin endpoints: the queue, one job, and every action on it."""

import logging
from datetime import date
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Query, Router, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import Field

from printdesk.api import analysis, present
from printdesk.api.auth import staff_actor, staff_auth
from printdesk.api.schemas import (
    AcceptIn,
    AnalysisOut,
    DispatchIn,
    ErrorOut,
    In,
    JobDetailOut,
    JobPageOut,
    NoteIn,
    QuoteIn,
    ReasonIn,
    ResendIn,
    RunIn,
    RunUpdateIn,
    ScaleIn,
    SortKey,
    Versioned,
)
from printdesk.files.downloads import MissingFile, file_response
from printdesk.files.models import FileVersion
from printdesk.jobs import actions, search
from printdesk.jobs.actions import QuoteLineInput
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, PrintRun, parse_reference
from printdesk.notifications import actions as emails
from printdesk.notifications.models import Notification
from printdesk.uploads.actions import file_or_upload
from printdesk.uploads.auth import Uploader

log = logging.getLogger(__name__)

router = Router(auth=staff_auth, tags=["staff"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class JobFilters(In):
    state: list[JobState] = Field(default_factory=list, description="Repeat for several.")
    created_from: date | None = None
    created_to: date | None = None
    material: int | None = Field(None, description="Material id.")
    printer: int | None = Field(None, description="Jobs with a print run on this printer.")
    q: str = Field("", max_length=200, description="Reference, customer, company, email or notes.")
    sort: SortKey = "-created"
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=200)


def _filtered(filters: JobFilters) -> QuerySet[Job]:
    criteria = search.JobSearch(
        states=filters.state,
        created_from=filters.created_from,
        created_to=filters.created_to,
        material=filters.material,
        printer=filters.printer,
        text=filters.q,
    )
    return search.ordered(search.matching(criteria).select_related("material"), filters.sort)


def _job(reference: str) -> Job:
    """The job a reference names (PD-00042, pd42 or 42), or 404."""
    number = parse_reference(reference)
    if number is None:
        raise Http404
    return get_object_or_404(Job, pk=number)


def _detail(request: HttpRequest, job: Job) -> dict:
    fresh = present.detail_queryset().get(pk=job.pk)
    return present.detail(fresh, staff_actor(request).kind)


@router.get("/jobs", response={200: JobPageOut, **ERRORS}, summary="The job queue")
def list_jobs(request: HttpRequest, filters: Query[JobFilters]):
    jobs = _filtered(filters)
    start = (filters.page - 1) * filters.page_size
    return {
        "items": [present.summary(job) for job in jobs[start : start + filters.page_size]],
        "count": jobs.count(),
        "page": filters.page,
        "page_size": filters.page_size,
    }


@router.get("/jobs/{reference}", response={200: JobDetailOut, **ERRORS}, summary="One job")
def get_job(request: HttpRequest, reference: str):
    return _detail(request, _job(reference))


@router.post("/jobs/{reference}/quotes", response={201: JobDetailOut, **ERRORS})
def send_quote(request: HttpRequest, reference: str, body: QuoteIn):
    """Send a new quote version to the customer; it supersedes the previous one."""
    job = _job(reference)
    lines = [
        QuoteLineInput(
            description=line.description,
            material_id=line.material_id,
            colour=line.colour,
            quantity=line.quantity,
            unit_price=line.unit_price,
            job_file_id=line.file_id,
        )
        for line in body.lines
    ]
    actions.send_quote(
        job=job,
        actor=staff_actor(request),
        lines=lines,
        currency=body.currency,
        lead_time_days=body.lead_time_days,
        valid_until=body.valid_until,
        message=body.message,
        expected_version=body.expected_version,
    )
    return Status(201, _detail(request, job))


@router.post("/jobs/{reference}/decline", response={200: JobDetailOut, **ERRORS})
def decline_request(request: HttpRequest, reference: str, body: ReasonIn):
    """Decline a request before quoting it."""
    job = actions.decline_request(
        job=_job(reference),
        actor=staff_actor(request),
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/accept", response={200: JobDetailOut, **ERRORS})
def accept_quote(request: HttpRequest, reference: str, body: AcceptIn):
    """Accept the current quote on the customer's behalf (say, when they phone)."""
    job = actions.accept_quote(
        job=_job(reference),
        actor=staff_actor(request),
        quote_version=body.quote_version,
        expected_version=body.expected_version,
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/files", response={201: JobDetailOut, **ERRORS})
def revise_file(
    request: HttpRequest,
    reference: str,
    file: File[UploadedFile | None] = None,
    upload_id: Form[UUID | None] = None,
    file_id: Form[int | None] = None,
    expected_version: Form[int | None] = None,
):
    """Add a file, or a new version of one (`file_id`). After a quote, the job needs a new one.
    The file comes in the request, or first by tus with the same token (large files; name the
    job in its metadata): then `upload_id` names the finished upload."""
    job = _job(reference)
    uploader = Uploader(user_id=request.auth.pk)  # type: ignore[attr-defined]
    with transaction.atomic():  # a finished upload is used up exactly when it becomes a version
        actions.revise_file(
            job=job,
            actor=staff_actor(request),
            upload=file_or_upload(file, upload_id, uploader, job),
            job_file_id=file_id,
            expected_version=expected_version,
        )
    return Status(201, _detail(request, job))


@router.get(
    "/jobs/{reference}/files/{file_id}/versions/{number}",
    response={200: None, 410: ErrorOut, **ERRORS},
)
def download_file(request: HttpRequest, reference: str, file_id: int, number: int):
    """Download one version of a file, as an attachment."""
    job = _job(reference)
    version = get_object_or_404(FileVersion, job_file__pk=file_id, job_file__job=job, number=number)
    try:
        return file_response(version)
    except MissingFile:
        # The record outlived its bytes (a storage restored without them): say so, loudly.
        log.error("%s: file version %s is missing from storage", job.reference, version.blob.name)
        raise HttpError(410, "This file version is missing from storage.") from None


@router.get(
    "/jobs/{reference}/files/{file_id}/versions/{number}/analysis",
    response={200: AnalysisOut, **ERRORS},
)
def get_analysis(request: HttpRequest, reference: str, file_id: int, number: int):
    """One file version's analysis with every body the report lists (up to 1,000, the
    largest first); a job's detail lists only the 25 that its fit table checks."""
    job = _job(reference)
    version = get_object_or_404(
        FileVersion.objects.select_related("analysis"),
        job_file__pk=file_id,
        job_file__job=job,
        number=number,
    )
    view = analysis.staff_view(version, analysis.Context.load(job), every_body=True)
    if view is None:  # stored before analysis existed: `manage.py analyse --missing` queues it
        raise HttpError(404, "This file version has not been queued for analysis.")
    return view


@router.post(
    "/jobs/{reference}/files/{file_id}/versions/{number}/scale",
    response={200: JobDetailOut, **ERRORS},
)
def set_scale(request: HttpRequest, reference: str, file_id: int, number: int, body: ScaleIn):
    """Set the scale of one file version (say 25.4 for a part drawn in inches): its fit and
    estimate are worked out at that scale. Recorded in the audit trail."""
    job = _job(reference)
    version = get_object_or_404(FileVersion, job_file__pk=file_id, job_file__job=job, number=number)
    actions.set_scale(
        job=job,
        actor=staff_actor(request),
        version_id=version.pk,
        scale=body.scale,
        expected_version=body.expected_version,
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/start-production", response={200: JobDetailOut, **ERRORS})
def start_production(request: HttpRequest, reference: str, body: Versioned):
    job = actions.start_production(
        job=_job(reference), actor=staff_actor(request), expected_version=body.expected_version
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/runs", response={201: JobDetailOut, **ERRORS})
def add_run(request: HttpRequest, reference: str, body: RunIn):
    """Plan a print run for part of the quantity."""
    job = _job(reference)
    actions.add_run(
        job=job,
        actor=staff_actor(request),
        quantity=body.quantity,
        printer_id=body.printer_id,
        material_id=body.material_id,
        colour=body.colour,
        notes=body.notes,
        expected_version=body.expected_version,
    )
    return Status(201, _detail(request, job))


@router.post("/jobs/{reference}/runs/{run_id}", response={200: JobDetailOut, **ERRORS})
def update_run(request: HttpRequest, reference: str, run_id: int, body: RunUpdateIn):
    """Move a run on: printing, done or failed."""
    job = _job(reference)
    get_object_or_404(PrintRun, pk=run_id, job=job)  # a run of another job, or none: 404
    actions.update_run(
        job=job,
        actor=staff_actor(request),
        run_id=run_id,
        state=body.state,
        notes=body.notes,
        expected_version=body.expected_version,
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/ready", response={200: JobDetailOut, **ERRORS})
def mark_ready(request: HttpRequest, reference: str, body: Versioned):
    """All parts printed: offered when done runs cover the quantity."""
    job = actions.mark_ready(
        job=_job(reference), actor=staff_actor(request), expected_version=body.expected_version
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/dispatch", response={200: JobDetailOut, **ERRORS})
def dispatch(request: HttpRequest, reference: str, body: DispatchIn):
    job = actions.dispatch(
        job=_job(reference),
        actor=staff_actor(request),
        method=body.method,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        expected_version=body.expected_version,
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/cancel", response={200: JobDetailOut, **ERRORS})
def cancel(request: HttpRequest, reference: str, body: ReasonIn):
    job = actions.cancel(
        job=_job(reference),
        actor=staff_actor(request),
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/rotate-link", response={200: JobDetailOut, **ERRORS})
def rotate_link(request: HttpRequest, reference: str, body: Versioned):
    """Replace the customer's private link (say it leaked): the old one stops working at once and
    the new one is emailed to the customer. Staff never see it."""
    job = actions.rotate_link(
        job=_job(reference), actor=staff_actor(request), expected_version=body.expected_version
    )
    return _detail(request, job)


@router.post("/jobs/{reference}/notes", response={201: JobDetailOut, **ERRORS})
def add_note(request: HttpRequest, reference: str, body: NoteIn):
    """An internal note, never shown to the customer."""
    job = _job(reference)
    actions.add_note(job=job, actor=staff_actor(request), body=body.body)
    return Status(201, _detail(request, job))


@router.post(
    "/jobs/{reference}/notifications/{notification_id}/resend",
    response={201: JobDetailOut, **ERRORS},
)
def resend_email(request: HttpRequest, reference: str, notification_id: int, body: ResendIn):
    """Send one of the job's emails again, once it was sent or gave up: a copy with the same
    words, queued now and recorded in the audit trail (see `notifications[].resend_of`)."""
    job = _job(reference)
    notification = get_object_or_404(
        Notification.objects.select_related("job"), pk=notification_id, job=job
    )
    emails.resend(
        notification=notification,
        actor=staff_actor(request),
        expected_version=body.expected_version,
    )
    return Status(201, _detail(request, job))
