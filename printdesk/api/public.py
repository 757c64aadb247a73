"""Endpoints anyone may call: the catalogue, a new request, and a staff token."""

import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from printdesk.accounts import two_factor
from printdesk.accounts.models import ApiToken
from printdesk.accounts.roles import actor_kind_for
from printdesk.api.schemas import (
    CatalogueOut,
    ErrorOut,
    RequestIn,
    RequestOut,
    TokenIn,
    TokenOut,
)
from printdesk.catalogue.models import Material, Printer
from printdesk.jobs import actions
from printdesk.jobs.errors import NotAllowed
from printdesk.security import lockout, ratelimit

router = Router(tags=["public"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


@router.get("/catalogue", response=CatalogueOut, summary="Materials and printers")
def catalogue(request: HttpRequest):
    return {
        "materials": list(Material.objects.filter(active=True)),
        "printers": list(Printer.objects.filter(active=True)),
    }


TOO_MANY = "Too many requests in a short time. Please wait a while and send it again."


def _seconds_left(window: int) -> int:
    """Until the current fixed window of ratelimit.hit ends: the answer's Retry-After."""
    return window - int(time.time()) % window or window


def _too_many(response: HttpResponse, window: int) -> Status:
    response["Retry-After"] = str(_seconds_left(window))
    return Status(429, {"message": TOO_MANY, "code": "too_many_requests"})


@router.post(
    "/requests",
    response={201: RequestOut, **ERRORS, 429: ErrorOut},
    summary="Submit a request",
)
def submit_request(
    request: HttpRequest,
    response: HttpResponse,
    data: Form[RequestIn],
    files: File[list[UploadedFile]],
):
    """A customer's request with its print files (multipart). The answer holds the private link.

    Limited as the request form is, and counted with it: per client IP, then per address
    (429 with Retry-After)."""
    if not ratelimit.hit(
        "request-ip",
        ratelimit.client_ip(request),
        limit=settings.PUBLIC_IP_RATE_LIMIT,
        window=settings.PUBLIC_IP_RATE_WINDOW,
    ):
        return _too_many(response, settings.PUBLIC_IP_RATE_WINDOW)
    if not ratelimit.hit(
        "request-email",
        data.customer_email,
        limit=settings.REQUEST_RATE_LIMIT,
        window=settings.REQUEST_RATE_WINDOW,
    ):
        return _too_many(response, settings.REQUEST_RATE_WINDOW)
    job, secret = actions.submit_request(
        customer_name=data.customer_name,
        customer_email=data.customer_email,
        customer_phone=data.customer_phone,
        customer_company=data.customer_company,
        material_id=data.material_id,
        colour=data.colour,
        quantity=data.quantity,
        desired_date=data.desired_date,
        notes=data.notes,
        files=files,
    )
    return Status(
        201, {"reference": job.reference, "link": actions.customer_link(secret), "secret": secret}
    )


@router.post(
    "/auth/token",
    response={201: TokenOut, 429: ErrorOut, **ERRORS},
    summary="Get a staff API token",
)
def issue_token(request: HttpRequest, body: TokenIn):
    """Exchange a staff username and password for a bearer token (shown once; stored hashed).

    Failed attempts count toward the login lockout (by username and client IP, django-axes,
    which sees them through `request`); while locked out the answer is 429 with the reason.
    """
    user = authenticate(request, username=body.username, password=body.password)
    if getattr(request, "axes_locked_out", False):
        return Status(429, {"message": lockout.message(request), "code": "locked_out"})
    if user is None:
        return Status(401, {"message": "Wrong username or password.", "code": "unauthorized"})
    if actor_kind_for(user) is None:
        raise NotAllowed("Only bureau staff can have API tokens.")
    if not two_factor.password_is_enough(user):
        raise NotAllowed(
            "This account uses two-factor login: create a token on the desk's API tokens page."
        )
    _, secret = ApiToken.issue(user, body.name)
    return Status(201, {"token": secret, "name": body.name})
