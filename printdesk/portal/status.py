"""The customer's status page at the private link, and what they may do there.

The link's secret is the only key: a job is found by the secret's hash. An unknown link gets a
friendly 404 that points to "Lost your link?"; a replaced or expired one (models.job_for_link)
a 410 that says so and offers the same, never anything of the job. Each action is a POST that
redirects back to the page with a message; a page that is out of date is told so and shown
fresh.
"""

from collections.abc import Callable
from typing import Any, Literal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from printdesk.api import present
from printdesk.catalogue.models import Bureau, Printer
from printdesk.files import advice
from printdesk.files.downloads import file_response
from printdesk.files.models import Analysis, FileVersion, JobFile
from printdesk.files.previews import analyses_by_version, mesh_response, png_response
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import Conflict, InvalidInput, NotAllowed
from printdesk.jobs.lifecycle import Action, JobState
from printdesk.jobs.models import Job, LinkGone, QuoteStatus, job_for_link
from printdesk.portal import file_check
from printdesk.portal.fields import fields, form_errors
from printdesk.portal.forms import CancelForm, DeclineQuoteForm, QuoteDecisionForm, ReviseForm
from printdesk.portal.private import private_page
from printdesk.portal.request_form import uploader_settings
from printdesk.portal.wording import STATE_TEXT, timeline
from printdesk.uploads.actions import take_finished
from printdesk.uploads.auth import Uploader

CUSTOMER = Actor.customer()
# Which inputs each form on the page shows (the hidden versions are not "typed").
SHOWN = {"decline": ("reason",), "cancel": ("reason",), "revise": ("file_id", "file")}


def _shown() -> QuerySet[Job]:
    """Jobs with everything the page shows, in a fixed number of queries."""
    return present.customer_queryset().select_related("dispatch")


def _load(**where: Any) -> Job | None:
    return _shown().filter(**where).first()


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/link_not_found.html", status=404)


def _gone(request: HttpRequest, gone: LinkGone) -> HttpResponse:
    return render(request, "portal/link_gone.html", {"message": gone.message}, status=410)


def _opened(
    request: HttpRequest, secret: str, jobs: QuerySet[Job] | None = None
) -> Job | HttpResponse:
    """The job the link opens, or the page that says why it opens none (404 or 410)."""
    try:
        job = job_for_link(secret, jobs)
    except LinkGone as gone:
        return _gone(request, gone)
    return job if job is not None else _not_found(request)


def _refused(request: HttpRequest, secret: str, message: str, status: int) -> HttpResponse:
    context = {"message": message, "secret": secret}
    return render(request, "portal/refused.html", context, status=status)


@private_page
@require_safe
def status(request: HttpRequest, secret: str) -> HttpResponse:
    job = _opened(request, secret, _shown())
    if isinstance(job, HttpResponse):
        return job
    return _page(request, job, secret)


@private_page
@require_safe
def download(request: HttpRequest, secret: str, version_id: int) -> HttpResponseBase:
    """One version of one of the job's files, as an attachment (never shown inline)."""
    job = _opened(request, secret)
    if isinstance(job, HttpResponse):
        return job
    version = FileVersion.objects.filter(pk=version_id, job_file__job=job).first()
    if version is None:
        return _refused(request, secret, "This job has no such file.", 404)
    try:
        return file_response(version)
    except OSError:
        return _refused(request, secret, "This file cannot be read right now.", 503)


def _preview(
    request: HttpRequest,
    secret: str,
    version_id: int,
    image: Literal["preview", "thumbnail", "viewer_mesh"],
) -> HttpResponseBase:
    """One of the job's preview images, or its 3D view's mesh; the link page's no-store keeps
    it off shared machines."""
    job = _opened(request, secret)
    if isinstance(job, HttpResponse):
        return job
    analysis = Analysis.objects.filter(version__pk=version_id, version__job_file__job=job).first()
    if analysis is None:
        return _refused(request, secret, "This job has no such file.", 404)
    try:
        serve = mesh_response if image == "viewer_mesh" else png_response
        return serve(getattr(analysis, image), cache_control="no-store")
    except Http404:
        # Answered here, not by Django's 404 page: private_page's headers go on this one too.
        return _refused(request, secret, "This file has no picture yet.", 404)


@private_page
@require_safe
def file_preview(request: HttpRequest, secret: str, version_id: int) -> HttpResponseBase:
    return _preview(request, secret, version_id, "preview")


@private_page
@require_safe
def file_thumbnail(request: HttpRequest, secret: str, version_id: int) -> HttpResponseBase:
    return _preview(request, secret, version_id, "thumbnail")


@private_page
@require_safe
def file_mesh(request: HttpRequest, secret: str, version_id: int) -> HttpResponseBase:
    return _preview(request, secret, version_id, "viewer_mesh")


@private_page
@require_POST
def accept(request: HttpRequest, secret: str) -> HttpResponse:
    def act(job: Job, data: dict) -> str:
        actions.accept_quote(
            job=job,
            actor=CUSTOMER,
            quote_version=data["quote_version"],
            expected_version=data["expected_version"],
        )
        return "Thank you: you accepted the quote. We will email you when production starts."

    return _act(request, secret, QuoteDecisionForm, "accept", act)


@private_page
@require_POST
def decline(request: HttpRequest, secret: str) -> HttpResponse:
    def act(job: Job, data: dict) -> str:
        actions.decline_quote(
            job=job,
            actor=CUSTOMER,
            quote_version=data["quote_version"],
            reason=data["reason"],
            expected_version=data["expected_version"],
        )
        return "You declined the quote. We have passed your reason on to the bureau."

    return _act(request, secret, DeclineQuoteForm, "decline", act)


@private_page
@require_POST
def cancel(request: HttpRequest, secret: str) -> HttpResponse:
    def act(job: Job, data: dict) -> str:
        actions.cancel(
            job=job,
            actor=CUSTOMER,
            reason=data["reason"],
            expected_version=data["expected_version"],
        )
        return "Your job is cancelled."

    return _act(request, secret, CancelForm, "cancel", act)


@private_page
@require_POST
def revise(request: HttpRequest, secret: str) -> HttpResponse:
    def act(job: Job, data: dict) -> str:
        quoted = job.state != JobState.SUBMITTED
        # One transaction: a finished upload is used up exactly when it becomes a version.
        with transaction.atomic():
            upload = data["file"] or take_finished(Uploader(job=job), data["upload_id"], job)
            version = actions.revise_file(
                job=job,
                actor=CUSTOMER,
                upload=upload,
                job_file_id=data["file_id"],
                expected_version=data["expected_version"],
            )
        received = f"We received {version.original_name} (version {version.number})."
        if quoted:
            return f"{received} The bureau will send you a new quote for it."
        return f"{received} The bureau will take it into account in your quote."

    return _act(request, secret, ReviseForm, "revise", act)


def _act(
    request: HttpRequest,
    secret: str,
    form_class: type[forms.Form],
    name: str,
    act: Callable[[Job, dict], str],
) -> HttpResponse:
    """Parse the form, take the one action, redirect back with a message (or show what's wrong)."""
    job = _opened(request, secret)
    if isinstance(job, HttpResponse):
        return job
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        errors = form_errors(form)
        if set(errors) - set(SHOWN.get(name, ())):
            return _refused(request, secret, "That form was incomplete; please try again.", 400)
        return _page(request, job, secret, bound=(name, form, errors), status=422)
    try:
        done = act(job, form.cleaned_data)
    except InvalidInput as error:
        field = error.field if error.field in SHOWN.get(name, ()) else "__all__"
        if error.field == "files":  # store_upload's name for the upload
            field = "file"
        return _page(request, job, secret, bound=(name, form, {field: [error.message]}), status=422)
    except NotAllowed as error:
        return _refused(request, secret, error.message, 403)
    except Conflict as error:
        messages.warning(request, f"{error.message} Here is your job as it is now.")
        return redirect("portal:status", secret=secret)
    messages.success(request, done)
    return redirect("portal:status", secret=secret)


def _page(
    request: HttpRequest,
    job: Job,
    secret: str,
    *,
    bound: tuple[str, forms.Form, dict[str, list[str]]] | None = None,
    status: int = 200,
) -> HttpResponse:
    if bound is not None:
        # After a refused action, the page shows the job as it is now, with the form as typed.
        job = _load(pk=job.pk) or job
    view = present.customer_view(job)
    offered = set(view["actions"])
    quote = view["quote"]
    open_quote = quote is not None and quote["status"] == QuoteStatus.CURRENT
    expired = quote is not None and quote["status"] == QuoteStatus.EXPIRED
    files = list(job.files.all())
    bureau = Bureau.current()
    file_rows, indication = _file_rows(
        job, secret, files, bureau.currency, can_revise=Action.REVISE_FILE in offered
    )
    context = {
        "bureau": bureau,  # shared with the layout, so the page reads it once
        "job": job,
        "secret": secret,
        "view": view,
        "text": STATE_TEXT[JobState(job.state)],
        "timeline": timeline(list(job.audit_events.all())),
        "files": files,
        "file_rows": file_rows,
        "indication": indication,
        "quote": quote,
        "quote_expired": expired,
        "can_accept": Action.ACCEPT_QUOTE in offered and open_quote,
        "can_decline": Action.DECLINE_QUOTE in offered and (open_quote or expired),
        "can_revise": Action.REVISE_FILE in offered,
        "can_cancel": Action.CANCEL in offered,
        "requote": job.state != JobState.SUBMITTED,
        "dispatch": view["dispatch"],
        "accept": ",".join(f".{ext}" for ext in settings.ALLOWED_FILE_EXTENSIONS),
        "uploader": uploader_settings(),
        **_forms(bound),
    }
    return render(request, "portal/status.html", context, status=status)


def _file_rows(
    job: Job, secret: str, files: list[JobFile], currency: str, *, can_revise: bool
) -> tuple[list[tuple[JobFile, file_check.FileCheck | None]], str]:
    """Each file with its newest version in plain words (the analyses in one query), and the
    job's indicative price range when the bureau shows one."""
    newest = {f.pk: versions[-1] for f in files if (versions := list(f.versions.all()))}
    analyses = analyses_by_version((v.pk for v in newest.values()), bodies=False)
    active = list(Printer.objects.filter(active=True))
    printers = advice.printers_for(job.material, active) or active  # as the desk judges it
    about = file_check.Context(
        secret=secret,
        printers=printers,
        material=job.material,
        quantity=job.quantity,
        currency=currency,
        can_revise=can_revise,
        show_estimate=file_check.show_estimate(has_quote=bool(job.quotes.all())),
    )
    rows: list[tuple[JobFile, file_check.FileCheck | None]] = []
    for f in files:
        version = newest.get(f.pk)
        check = None
        if version is not None:
            check = file_check.file_check(version, f.name, analyses.get(version.pk), about)
        rows.append((f, check))
    checks = [check for _, check in rows if check is not None]
    return rows, file_check.indication(checks, about)


def _forms(bound: tuple[str, forms.Form, dict[str, list[str]]] | None) -> dict:
    """Each form's inputs: as typed, with errors, for the one that was refused; empty otherwise."""
    blank: dict[str, forms.Form] = {
        "decline": DeclineQuoteForm(),
        "cancel": CancelForm(),
        "revise": ReviseForm(),
    }
    result: dict[str, Any] = {"problems": []}
    for name, form in blank.items():
        errors: dict[str, list[str]] = {}
        if bound is not None and bound[0] == name:
            form, errors = bound[1], dict(bound[2])
            result["problems"] = errors.pop("__all__", [])
            result[f"{name}_open"] = True
        result[f"{name}_form"] = fields(form, SHOWN[name], errors, prefix=name)
    if bound is not None and bound[0] not in blank:
        result["problems"] = bound[2].get("__all__", [])
    return result
