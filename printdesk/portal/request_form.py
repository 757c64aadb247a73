"""The request form at "/" and the confirmation page after it.

Every print file is stored as a draft the moment it arrives, so a request with a wrong field
comes back with everything typed and every file received; the drafts become the job's files
when the request goes through.
"""

import re
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from printdesk.catalogue.models import Material
from printdesk.files.models import DraftUpload
from printdesk.files.storage import (
    as_stored,
    claim_drafts,
    discard_drafts,
    drafts_for,
    keep_draft,
    new_draft_token,
)
from printdesk.jobs import actions
from printdesk.jobs.errors import InvalidInput
from printdesk.jobs.models import Job, link_secret
from printdesk.portal.fields import fields, form_errors
from printdesk.portal.forms import REQUEST_FIELDS, RequestForm
from printdesk.portal.private import private_page
from printdesk.security import ratelimit
from printdesk.uploads.auth import issue_draft_token

SUBMITTED = "portal_submitted"  # session key: the last request sent from this browser
SHOW_LINK_FOR = 3600  # seconds the confirmation page keeps showing the link
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
TOO_MANY = (
    "Too many requests from here in a short time. Please wait a while and send it again: "
    "everything you entered is still below."
)
# What the browser uploader (static/printdesk/uploader.js) sends in one PATCH.
UPLOAD_CHUNK_BYTES = 5 * 1024 * 1024
HELP = {
    "customer_email": "We send the private link to your job here.",
    "quantity": "How many copies of the parts.",
    "desired_date": "When you would like to have the parts; we will say if we cannot make it.",
}


@require_http_methods(["GET", "HEAD", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, RequestForm(), new_draft_token(), [])
    form = RequestForm(request.POST)
    token = _token(request.POST.get("draft", ""))
    if not ratelimit.hit(
        "request-ip",
        ratelimit.client_ip(request),
        limit=settings.PUBLIC_IP_RATE_LIMIT,
        window=settings.PUBLIC_IP_RATE_WINDOW,
    ):
        return _render(request, form, token, list(drafts_for(token)), problem=TOO_MANY, status=429)
    if request.POST.get("website"):
        # A bot filled the honeypot: it sees the usual answer, and nothing is kept.
        return redirect("portal:received")

    drafts = _keep_files(request, token)
    errors = {name: msgs for name, msgs in form_errors(form).items() if name in REQUEST_FIELDS}
    if drafts.errors:
        errors["files"] = drafts.errors
    elif not drafts.kept:
        errors["files"] = ["Attach at least one print file."]
    if errors:
        return _render(request, form, token, drafts.kept, errors=errors, status=422)

    data = form.cleaned_data
    if not ratelimit.hit(
        "request-email",
        data["customer_email"],
        limit=settings.REQUEST_RATE_LIMIT,
        window=settings.REQUEST_RATE_WINDOW,
    ):
        return _render(request, form, token, drafts.kept, problem=TOO_MANY, status=429)
    try:
        job, _ = _submit(data, drafts.kept)
    except InvalidInput as error:
        where = error.field if error.field in (*REQUEST_FIELDS, "files") else "__all__"
        kept = list(drafts_for(token))
        errors = {where: [error.message]}
        return _render(request, form, token, kept, errors=errors, status=422)
    # The job's id, not its link: sessions live in the database, and the link is never stored
    # (the confirmation derives it again).
    request.session[SUBMITTED] = {"job": job.pk, "at": time.time()}
    return redirect("portal:received")


@private_page
@require_safe
def received(request: HttpRequest) -> HttpResponse:
    """The confirmation: the reference and the private link, for the browser that sent it."""
    sent = request.session.get(SUBMITTED)
    if sent and time.time() - sent.get("at", 0) > SHOW_LINK_FOR:
        sent = None
    context = {}
    job = Job.objects.filter(pk=sent.get("job")).first() if sent else None
    secret = link_secret(job) if job is not None else None
    if job is not None and secret is not None:
        context = {
            "reference": job.reference,
            "link": actions.customer_link(secret),
            "email": job.customer_email,
        }
    return render(request, "portal/received.html", context)


# --- the steps ----------------------------------------------------------------------------------


@dataclass
class _Drafts:
    kept: list[DraftUpload] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one message per file refused


def _token(posted: str) -> str:
    """The form's draft token as posted, or a new one when it is missing or malformed."""
    return posted if TOKEN_RE.match(posted) else new_draft_token()


def _keep_files(request: HttpRequest, token: str) -> _Drafts:
    """Drop the drafts the customer ticked for removal, then store each new file as a draft."""
    result = _Drafts()
    existing = list(drafts_for(token))
    removing = set(request.POST.getlist("remove"))
    discard_drafts(draft for draft in existing if str(draft.pk) in removing)
    result.kept = [draft for draft in existing if str(draft.pk) not in removing]
    uploads: list[UploadedFile] = request.FILES.getlist("files")
    for upload in uploads:
        if len(result.kept) >= settings.MAX_FILES_PER_JOB:
            result.errors.append(
                f"{upload.name} was not kept: attach at most {settings.MAX_FILES_PER_JOB} files."
            )
            continue
        try:
            result.kept.append(keep_draft(upload, token))
        except InvalidInput as error:
            result.errors.append(error.message)
    return result


def _submit(data: dict, drafts: list[DraftUpload]) -> tuple[Job, str]:
    """The request, made from the files already received; the drafts go with it or not at all."""
    with transaction.atomic():
        if not claim_drafts(drafts):
            raise InvalidInput(
                "Some files were removed or had expired; please attach them again.", field="files"
            )
        return actions.submit_request(
            customer_name=data["customer_name"],
            customer_email=data["customer_email"],
            customer_phone=data["customer_phone"],
            customer_company=data["customer_company"],
            material_id=data["material"],
            colour=data["colour"],
            quantity=data["quantity"],
            desired_date=data["desired_date"],
            notes=data["notes"],
            files=[as_stored(draft) for draft in drafts],
        )


def _render(
    request: HttpRequest,
    form: RequestForm,
    token: str,
    drafts: list[DraftUpload],
    *,
    errors: dict[str, list[str]] | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    problems = [problem] if problem else []
    problems += errors.pop("__all__", [])
    materials = list(Material.objects.filter(active=True))
    shown = fields(form, (*REQUEST_FIELDS, "files"), errors, HELP)
    context = {
        "f": shown,
        "problems": problems,
        "error_count": sum(1 for shown_field in shown.values() if shown_field.errors),
        "materials": materials,
        "coloured": [material for material in materials if material.colours],
        "drafts": drafts,
        "token": token,
        "max_files": settings.MAX_FILES_PER_JOB,
        "extensions": ", ".join(f".{ext}" for ext in settings.ALLOWED_FILE_EXTENSIONS),
        "accept": ",".join(f".{ext}" for ext in settings.ALLOWED_FILE_EXTENSIONS),
        "uploader": uploader_settings(),
        "upload_token": issue_draft_token(token),
    }
    return render(request, "portal/request.html", context, status=status)


def uploader_settings() -> dict[str, object]:
    """What the browser uploader needs to know, for the form's data attributes."""
    return {
        "endpoint": reverse("uploads:collection"),
        "chunk_bytes": UPLOAD_CHUNK_BYTES,
        "max_bytes": settings.MAX_FILE_BYTES,
        "max_files": settings.MAX_FILES_PER_JOB,
        "extensions": " ".join(settings.ALLOWED_FILE_EXTENSIONS),
    }
