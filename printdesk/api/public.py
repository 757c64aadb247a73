"""Endpoints anyone may call: the catalogue, a new request, and a staff token."""

from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

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

router = Router(tags=["public"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


@router.get("/catalogue", response=CatalogueOut, summary="Materials and printers")
def catalogue(request: HttpRequest):
    return {
        "materials": list(Material.objects.filter(active=True)),
        "printers": list(Printer.objects.filter(active=True)),
    }


@router.post("/requests", response={201: RequestOut, **ERRORS}, summary="Submit a request")
def submit_request(request: HttpRequest, data: Form[RequestIn], files: File[list[UploadedFile]]):
    """A customer's request with its print files (multipart). The answer holds the private link."""
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


@router.post("/auth/token", response={201: TokenOut, **ERRORS}, summary="Get a staff API token")
def issue_token(request: HttpRequest, body: TokenIn):
    """Exchange a staff username and password for a bearer token (shown once; stored hashed)."""
    user = authenticate(request, username=body.username, password=body.password)
    if user is None:
        return Status(401, {"message": "Wrong username or password.", "code": "unauthorized"})
    if actor_kind_for(user) is None:
        raise NotAllowed("Only bureau staff can have API tokens.")
    _, secret = ApiToken.issue(user, body.name)
    return Status(201, {"token": secret, "name": body.name})
