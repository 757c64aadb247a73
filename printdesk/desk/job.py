"""The operator's job page: everything about one job, and every action on it as a form.

Each POST view parses its form, calls one action with the job version the page showed, and
redirects back to the page (POST/redirect/GET). A refused action has changed nothing, and:
- InvalidInput: the page again (422), the error beside its input, everything typed kept;
- Conflict, JobChanged among them: a message, and the page as the job is now;
- NotAllowed: 403.
"""

import logging
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST, require_safe

from printdesk.desk.access import staff_actor, staff_required
from printdesk.desk.job_analysis import scale_text
from printdesk.desk.job_context import (
    active_materials,
    active_printers,
    cancel_form,
    decline_form,
    job_queryset,
    page_context,
    revision_form,
)
from printdesk.desk.job_forms import (
    DispatchForm,
    NoteForm,
    QuoteComposer,
    QuotePreview,
    QuoteVersionForm,
    RunMoveForm,
    ScaleForm,
    VersionForm,
    filled_rows,
    run_rows,
)
from printdesk.files.downloads import MissingFile, file_response
from printdesk.files.models import Analysis, FileVersion
from printdesk.files.previews import mesh_response, png_response
from printdesk.jobs import actions, lifecycle
from printdesk.jobs.errors import Conflict, InvalidInput, NotAllowed
from printdesk.jobs.lifecycle import Action, JobState
from printdesk.jobs.models import DispatchMethod, Job, PrintRun, RunState, parse_reference
from printdesk.notifications import actions as emails
from printdesk.notifications.models import Notification
from printdesk.uploads.actions import take_finished
from printdesk.uploads.auth import Uploader

log = logging.getLogger(__name__)

PAGE = "desk/job/page.html"


# --- shared steps -----------------------------------------------------------------------------


def _job(reference: str) -> Job:
    """The job a reference names (PD-00042, pd42 or 42), or 404."""
    number = parse_reference(reference)
    if number is None:
        raise Http404("No such job.")
    return get_object_or_404(Job, pk=number)


def _expected_version(request: HttpRequest) -> int:
    form = VersionForm(request.POST)
    if not form.is_valid():
        raise BadRequest("The form lacks the job version it was loaded with; reload the page.")
    return form.cleaned_data["expected_version"]


def _page(
    request: HttpRequest,
    job: Job,
    *,
    version: int | None = None,
    status: int = 200,
    preview: QuotePreview | None = None,
    submitted: dict[str, object] | None = None,
) -> HttpResponse:
    """The page for the job as it is now, keeping the forms the operator submitted."""
    fresh = job_queryset().get(pk=job.pk)
    context = page_context(
        fresh,
        staff_actor(request).kind,
        version=fresh.version if version is None else version,
        forms=submitted or {},
        preview=preview,
    )
    return render(request, PAGE, context, status=status)


def _back(job: Job) -> HttpResponse:
    return redirect("desk:job", reference=job.reference)


def _attach(form: object, error: InvalidInput) -> None:
    """Put an action's refusal beside the input it names."""
    if isinstance(form, forms.Form):
        form.add_error(error.field if error.field in form.fields else None, error.message)
    elif isinstance(form, QuoteComposer):
        form.add_error(error.field, error.message)
    # Rows of a formset: the view has put the error on its row already.


def _act(
    request: HttpRequest,
    job: Job,
    version: int,
    perform: Callable[[], str],
    name: str = "",
    form: object = None,
) -> HttpResponse:
    """Run one action (`perform` returns the success message) and answer as the module says."""
    try:
        done = perform()
    except InvalidInput as error:
        if form is None:
            messages.error(request, error.message)
            return _back(job)
        _attach(form, error)
        return _page(request, job, version=version, status=422, submitted={name: form})
    except NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except Conflict as error:
        messages.error(request, error.message)
        return _back(job)
    messages.success(request, done)
    return _back(job)


# --- the page and the downloads ---------------------------------------------------------------


@staff_required
@require_safe
def job_page(request: HttpRequest, reference: str) -> HttpResponse:
    number = parse_reference(reference)
    if number is None:
        raise Http404("No such job.")
    job = get_object_or_404(job_queryset(), pk=number)
    if reference != job.reference:
        return _back(job)
    context = page_context(job, staff_actor(request).kind, version=job.version, forms={})
    return render(request, PAGE, context)


@staff_required
@require_safe
def file_download(request: HttpRequest, version_id: int) -> HttpResponseBase:
    """One stored version of a print file, as an attachment under its sanitised name."""
    version = get_object_or_404(FileVersion, pk=version_id)
    try:
        return file_response(version)
    except MissingFile:
        log.error("file version %s is missing from storage (%s)", version.pk, version.blob.name)
        return HttpResponse("This file version is missing from storage.", status=410)


# A version's preview never changes once made; staff browsers may keep it a while, never a
# shared cache.
PREVIEW_CACHE = "private, max-age=3600"


def _analysis(reference: str, version_id: int) -> Analysis:
    """The analysis of one of the job's versions: 404 for another job's version."""
    return get_object_or_404(
        Analysis, version__pk=version_id, version__job_file__job=_job(reference)
    )


@staff_required
@require_safe
def file_preview(request: HttpRequest, reference: str, version_id: int) -> HttpResponseBase:
    return png_response(_analysis(reference, version_id).preview, cache_control=PREVIEW_CACHE)


@staff_required
@require_safe
def file_thumbnail(request: HttpRequest, reference: str, version_id: int) -> HttpResponseBase:
    return png_response(_analysis(reference, version_id).thumbnail, cache_control=PREVIEW_CACHE)


@staff_required
@require_safe
def file_mesh(request: HttpRequest, reference: str, version_id: int) -> HttpResponseBase:
    """The 3D view's mesh (files/viewer_mesh.py), loaded when the viewer's button is pressed."""
    mesh = _analysis(reference, version_id).viewer_mesh
    return mesh_response(mesh, cache_control=PREVIEW_CACHE)


@staff_required
@require_POST
def set_scale(request: HttpRequest, reference: str, version_id: int) -> HttpResponse:
    """The scale a file is quoted at (drawn in inches or metres): sizes, fit and estimates."""
    job = _job(reference)
    version = _expected_version(request)
    file_version = get_object_or_404(
        FileVersion.objects.select_related("job_file"), pk=version_id, job_file__job=job
    )
    form = ScaleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a scale above 0, such as 25.4 for a part drawn in inches.")
        return _back(job)
    scale = form.cleaned_data["scale"]

    def perform() -> str:
        actions.set_scale(
            job=job,
            actor=staff_actor(request),
            version_id=file_version.pk,
            scale=scale,
            expected_version=version,
        )
        name = f"{file_version.job_file.name} v{file_version.number}"
        return f"{name} is now scaled {scale_text(scale)}: its sizes, fit and estimates use it."

    return _act(request, job, version, perform)


# --- quoting ----------------------------------------------------------------------------------


@staff_required
@require_POST
def send_quote(request: HttpRequest, reference: str) -> HttpResponse:
    """Preview (changes nothing) or send the composed quote."""
    job = _job(reference)
    version = _expected_version(request)
    composer = QuoteComposer.bound(request.POST, active_materials())
    if not composer.is_valid():
        return _page(request, job, version=version, status=422, submitted={"composer": composer})
    if request.POST.get("intent") == "preview":
        staff = staff_actor(request).kind
        if job.version != version or Action.SEND_QUOTE not in lifecycle.available(
            JobState(job.state), staff
        ):
            label = JobState(job.state).label
            messages.error(
                request, f"{job.reference} changed since you loaded it; it is now {label}."
            )
            return _back(job)
        return _page(
            request,
            job,
            version=version,
            preview=composer.preview(),
            submitted={"composer": composer},
        )

    def perform() -> str:
        quote = actions.send_quote(
            job=job,
            actor=staff_actor(request),
            expected_version=version,
            **composer.send_arguments(),
        )
        return f"Quote v{quote.version} sent to {job.customer_email}."

    return _act(request, job, version, perform, "composer", composer)


@staff_required
@require_POST
def accept(request: HttpRequest, reference: str) -> HttpResponse:
    """Accept the current quote on the customer's behalf (they said yes by phone or email)."""
    job = _job(reference)
    version = _expected_version(request)
    form = QuoteVersionForm(request.POST)
    if not form.is_valid():
        raise BadRequest("Which quote version is accepted?")
    quote_version = form.cleaned_data["quote_version"]

    def perform() -> str:
        actions.accept_quote(
            job=job,
            actor=staff_actor(request),
            quote_version=quote_version,
            expected_version=version,
        )
        return f"Quote v{quote_version} accepted on the customer's behalf."

    return _act(request, job, version, perform)


@staff_required
@require_POST
def decline(request: HttpRequest, reference: str) -> HttpResponse:
    job = _job(reference)
    version = _expected_version(request)
    form = decline_form(request.POST)
    if not form.is_valid():
        return _page(request, job, version=version, status=422, submitted={"decline": form})

    def perform() -> str:
        actions.decline_request(
            job=job,
            actor=staff_actor(request),
            reason=form.cleaned_data["reason"],
            expected_version=version,
        )
        return f"{job.reference} declined; the customer is told why."

    return _act(request, job, version, perform, "decline", form)


@staff_required
@require_POST
def revise_file(request: HttpRequest, reference: str) -> HttpResponse:
    """A revised or extra file sent to the bureau directly; after a quote it needs a new one."""
    job = _job(reference)
    version = _expected_version(request)
    form = revision_form(job, request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, job, version=version, status=422, submitted={"revision": form})

    needed_quote = job.state != JobState.SUBMITTED

    def perform() -> str:
        data = form.cleaned_data
        # One transaction: a finished upload is used up exactly when it becomes a version.
        with transaction.atomic():
            uploader = Uploader(user_id=request.user.pk)
            upload = data["file"] or take_finished(uploader, data["upload_id"], job)
            stored = actions.revise_file(
                job=job,
                actor=staff_actor(request),
                upload=upload,
                job_file_id=data["file_id"],
                expected_version=version,
            )
        message = f"Version {stored.number} of {stored.original_name} added."
        if needed_quote:
            message += " The job needs a new quote."
        return message

    return _act(request, job, version, perform, "revision", form)


# --- production -------------------------------------------------------------------------------


@staff_required
@require_POST
def start_production(request: HttpRequest, reference: str) -> HttpResponse:
    job = _job(reference)
    version = _expected_version(request)

    def perform() -> str:
        actions.start_production(job=job, actor=staff_actor(request), expected_version=version)
        return f"{job.reference} is in production: plan its print runs."

    return _act(request, job, version, perform)


@staff_required
@require_POST
def add_runs(request: HttpRequest, reference: str) -> HttpResponse:
    """One run per filled row (printer, quantity): all of them, or none if one is refused."""
    job = _job(reference)
    version = _expected_version(request)
    rows = run_rows(active_printers(), 0, data=request.POST)
    if not rows.is_valid():
        return _page(request, job, version=version, status=422, submitted={"runs": rows})
    filled = filled_rows(rows)
    if not filled:
        rows.forms[0].add_error("quantity", "Give the quantity of at least one run.")
        return _page(request, job, version=version, status=422, submitted={"runs": rows})
    actor = staff_actor(request)

    def perform() -> str:
        # Runs are added one action at a time; the surrounding transaction makes the rows one
        # decision. After the first, each call acts on the job as the previous one left it.
        with transaction.atomic():
            for index, row in enumerate(filled):
                try:
                    actions.add_run(
                        job=job,
                        actor=actor,
                        quantity=row.cleaned_data["quantity"],
                        printer_id=row.cleaned_data["printer"],
                        expected_version=version if index == 0 else None,
                    )
                except InvalidInput as error:
                    _attach(row, error)
                    raise
        planned = sum(row.cleaned_data["quantity"] for row in filled)
        runs = "1 run" if len(filled) == 1 else f"{len(filled)} runs"
        return f"{runs} added for {planned} part(s)."

    return _act(request, job, version, perform, "runs", rows)


@staff_required
@require_POST
def move_run(request: HttpRequest, reference: str, run_id: int) -> HttpResponse:
    """A run starts printing, is done, or failed (its parts are then owed again)."""
    job = _job(reference)
    version = _expected_version(request)
    get_object_or_404(PrintRun, pk=run_id, job=job)
    form = RunMoveForm(request.POST)
    if not form.is_valid():
        raise BadRequest("A run becomes printing, done or failed.")
    state = RunState(form.cleaned_data["state"])

    def perform() -> str:
        run = actions.update_run(
            job=job,
            actor=staff_actor(request),
            run_id=run_id,
            state=state,
            expected_version=version,
        )
        message = f"The run of {run.quantity} part(s) is now {state.label.lower()}."
        if state == RunState.FAILED:
            message += f" Its {run.quantity} part(s) are owed again."
        return message

    return _act(request, job, version, perform)


@staff_required
@require_POST
def mark_ready(request: HttpRequest, reference: str) -> HttpResponse:
    job = _job(reference)
    version = _expected_version(request)

    def perform() -> str:
        actions.mark_ready(job=job, actor=staff_actor(request), expected_version=version)
        return f"{job.reference} is ready; the customer is told."

    return _act(request, job, version, perform)


@staff_required
@require_POST
def dispatch(request: HttpRequest, reference: str) -> HttpResponse:
    job = _job(reference)
    version = _expected_version(request)
    form = DispatchForm(request.POST, prefix="dispatch")
    if not form.is_valid():
        return _page(request, job, version=version, status=422, submitted={"dispatch": form})

    def perform() -> str:
        actions.dispatch(
            job=job,
            actor=staff_actor(request),
            method=DispatchMethod(form.cleaned_data["method"]),
            carrier=form.cleaned_data["carrier"],
            tracking_number=form.cleaned_data["tracking_number"],
            expected_version=version,
        )
        return f"{job.reference} dispatched; the customer is told."

    return _act(request, job, version, perform, "dispatch", form)


# --- any time ---------------------------------------------------------------------------------


@staff_required
@require_POST
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    job = _job(reference)
    version = _expected_version(request)
    form = cancel_form(request.POST)
    if not form.is_valid():
        return _page(request, job, version=version, status=422, submitted={"cancel": form})

    def perform() -> str:
        actions.cancel(
            job=job,
            actor=staff_actor(request),
            reason=form.cleaned_data["reason"],
            expected_version=version,
        )
        return f"{job.reference} cancelled; the customer is told why."

    return _act(request, job, version, perform, "cancel", form)


@staff_required
@require_POST
def rotate_link(request: HttpRequest, reference: str) -> HttpResponse:
    job = _job(reference)
    version = _expected_version(request)

    def perform() -> str:
        actions.rotate_link(job=job, actor=staff_actor(request), expected_version=version)
        return f"A new private link was emailed to {job.customer_email}; the old one is dead."

    return _act(request, job, version, perform)


@staff_required
@require_POST
def add_note(request: HttpRequest, reference: str) -> HttpResponse:
    """An internal note. Notes only add, so one is kept whatever changed since the page loaded."""
    job = _job(reference)
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        return _page(request, job, status=422, submitted={"note": form})

    def perform() -> str:
        actions.add_note(job=job, actor=staff_actor(request), body=form.cleaned_data["body"])
        return "Note added."

    return _act(request, job, job.version, perform, "note", form)


@staff_required
@require_POST
def resend_email(request: HttpRequest, reference: str, notification_id: int) -> HttpResponse:
    """Send one of the job's emails again: a copy, queued now (see notifications.actions)."""
    job = _job(reference)
    version = _expected_version(request)
    notification = get_object_or_404(
        Notification.objects.select_related("job"), pk=notification_id, job=job
    )

    def perform() -> str:
        copy = emails.resend(
            notification=notification, actor=staff_actor(request), expected_version=version
        )
        return f"Email #{notification.pk} will be sent again to {copy.recipient} (as #{copy.pk})."

    return _act(request, job, version, perform)


JOB = "jobs/<str:reference>/"

urlpatterns = [
    path(JOB, job_page, name="job"),
    path(JOB + "quote/", send_quote, name="job_send_quote"),
    path(JOB + "accept/", accept, name="job_accept"),
    path(JOB + "decline/", decline, name="job_decline"),
    path(JOB + "files/", revise_file, name="job_revise_file"),
    path(JOB + "start-production/", start_production, name="job_start_production"),
    path(JOB + "runs/", add_runs, name="job_add_runs"),
    path(JOB + "runs/<int:run_id>/", move_run, name="job_move_run"),
    path(JOB + "ready/", mark_ready, name="job_mark_ready"),
    path(JOB + "dispatch/", dispatch, name="job_dispatch"),
    path(JOB + "cancel/", cancel, name="job_cancel"),
    path(JOB + "rotate-link/", rotate_link, name="job_rotate_link"),
    path(JOB + "notes/", add_note, name="job_add_note"),
    path(JOB + "emails/<int:notification_id>/resend/", resend_email, name="job_resend_email"),
    path("files/<int:version_id>/download/", file_download, name="file_download"),
    path(JOB + "files/<int:version_id>/preview.png", file_preview, name="file_preview"),
    path(JOB + "files/<int:version_id>/thumbnail.png", file_thumbnail, name="file_thumbnail"),
    path(JOB + "files/<int:version_id>/mesh.bin", file_mesh, name="file_mesh"),
    path(JOB + "files/<int:version_id>/scale/", set_scale, name="file_scale"),
]
