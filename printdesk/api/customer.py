"""The customer's endpoints: one job, authorised by its private link (header X-Job-Link)."""

from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from printdesk.api import present
from printdesk.api.auth import JobLink, customer_auth, linked_job
from printdesk.api.schemas import AcceptIn, CustomerJobOut, DeclineQuoteIn, ErrorOut, ReasonIn
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.models import Job
from printdesk.uploads.actions import file_or_upload
from printdesk.uploads.auth import Uploader

router = Router(auth=customer_auth, tags=["customer"])

# 401: no X-Job-Link; 404: a link that never opened a job; 410: a replaced or expired one.
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    410: ErrorOut,
    422: ErrorOut,
}
CUSTOMER = Actor.customer()


def _view(request: HttpRequest, job: Job) -> dict:
    secret = request.headers.get(JobLink.param_name, "")
    return present.customer_view(present.customer_queryset().get(pk=job.pk), secret)


@router.get("/job", response={200: CustomerJobOut, **ERRORS}, summary="My job")
def get_job(request: HttpRequest):
    return _view(request, linked_job(request))


@router.post("/job/accept", response={200: CustomerJobOut, **ERRORS})
def accept_quote(request: HttpRequest, body: AcceptIn):
    """Accept the quote version you were shown; refused if a newer one replaced it or it expired."""
    job = actions.accept_quote(
        job=linked_job(request),
        actor=CUSTOMER,
        quote_version=body.quote_version,
        expected_version=body.expected_version,
    )
    return _view(request, job)


@router.post("/job/decline-quote", response={200: CustomerJobOut, **ERRORS})
def decline_quote(request: HttpRequest, body: DeclineQuoteIn):
    job = actions.decline_quote(
        job=linked_job(request),
        actor=CUSTOMER,
        quote_version=body.quote_version,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return _view(request, job)


@router.post("/job/cancel", response={200: CustomerJobOut, **ERRORS})
def cancel(request: HttpRequest, body: ReasonIn):
    """Cancel, until production starts; after that, only the bureau can."""
    job = actions.cancel(
        job=linked_job(request),
        actor=CUSTOMER,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return _view(request, job)


@router.post("/job/files", response={201: CustomerJobOut, **ERRORS})
def revise_file(
    request: HttpRequest,
    file: File[UploadedFile | None] = None,
    upload_id: Form[UUID | None] = None,
    file_id: Form[int | None] = None,
    expected_version: Form[int | None] = None,
):
    """Upload a revised file (a new version of `file_id`, or a new file): it needs a new quote.
    The file comes in the request, or first by tus through the job's link (large files):
    then `upload_id` names the finished upload."""
    job = linked_job(request)
    with transaction.atomic():  # a finished upload is used up exactly when it becomes a version
        actions.revise_file(
            job=job,
            actor=CUSTOMER,
            upload=file_or_upload(file, upload_id, Uploader(job=job), job),
            job_file_id=file_id,
            expected_version=expected_version,
        )
    return Status(201, _view(request, linked_job(request)))
