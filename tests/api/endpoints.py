"""Every endpoint of /api/v1/, with what it takes to call it successfully.

The access and request-error tests run over this table, so a new endpoint is covered the day it
is added here; test_openapi checks that the table and the OpenAPI description list the same
paths.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, RunState
from printdesk.notifications.models import Notification, NotificationState
from tests.api.conftest import ApiClient
from tests.conftest import stl_upload

Body = Callable[[Job], dict]


def _quote_body(job: Job) -> dict:
    return {
        "lines": [
            {
                "description": "Bracket",
                "material_id": job.material_id,
                "colour": job.colour,
                "quantity": job.quantity,
                "unit_price": "12.50",
                "file_id": job.files.first().pk,
            }
        ],
        "currency": "EUR",
        "lead_time_days": 5,
        "valid_until": str(timezone.localdate() + timedelta(days=14)),
        "message": "Thanks for asking.",
    }


def _one_run(job: Job, staff: Actor) -> None:
    actions.add_run(job=job, actor=staff, quantity=1)


def _emails_sent(job: Job, staff: Actor) -> None:
    Notification.objects.filter(job=job).update(state=NotificationState.SENT)


def _all_printed(job: Job, staff: Actor) -> None:
    run = actions.add_run(job=job, actor=staff, quantity=job.quantity)
    actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # relative to /api/v1: {ref}, {file_id}, {number}, {run_id}, {email_id} filled in
    audience: str  # "staff", "customer" or "public"
    state: JobState = JobState.SUBMITTED  # the job's state for the call to succeed
    body: Body | None = None  # a valid JSON body; None for GET and uploads
    upload: bool = False  # multipart with a print file in "file"
    success: int = 200
    prepare: Callable[[Job, Actor], None] | None = None  # more setup after reaching `state`
    wrong_types: dict | None = None  # a JSON body with fields of the wrong type
    required: tuple[str, ...] = ()  # fields whose absence is a 422

    def __str__(self) -> str:
        return self.name

    @property
    def takes_json(self) -> bool:
        return self.body is not None

    def url(self, job: Job | None = None, **override) -> str:
        values: dict = {"number": 1}
        if job is not None:
            values["ref"] = job.reference
            first_file = job.files.first()
            values["file_id"] = first_file.pk if first_file else 0
            first_run = job.runs.first()
            values["run_id"] = first_run.pk if first_run else 0
            first_email = job.notifications.order_by("id").first()
            values["email_id"] = first_email.pk if first_email else 0
        values.update(override)
        return self.path.format(**values)

    def call(self, client: ApiClient, job: Job | None = None, body: dict | None = None, **kw):
        """Make the request as `client`, with the valid body unless another is given."""
        url = self.url(job, **kw.pop("path", {}))
        if self.method == "GET":
            return client.get(url, **kw)
        if self.upload:
            return client.upload(url, {"file": stl_upload("revised.stl")}, **kw)
        if body is None:
            body = self.body(job) if self.body and job is not None else {}
        return client.post(url, body, **kw)


STAFF = [
    Endpoint("list jobs", "GET", "/jobs", "staff"),
    Endpoint("job detail", "GET", "/jobs/{ref}", "staff"),
    Endpoint(
        "send quote",
        "POST",
        "/jobs/{ref}/quotes",
        "staff",
        body=_quote_body,
        success=201,
        wrong_types={"lines": "many", "lead_time_days": "soon", "valid_until": "someday"},
        required=("lines", "lead_time_days", "valid_until"),
    ),
    Endpoint(
        "decline request",
        "POST",
        "/jobs/{ref}/decline",
        "staff",
        body=lambda job: {"reason": "We do not print weapons."},
        wrong_types={"reason": ["no"], "expected_version": "v2"},
        required=("reason",),
    ),
    Endpoint(
        "accept on behalf",
        "POST",
        "/jobs/{ref}/accept",
        "staff",
        state=JobState.QUOTED,
        body=lambda job: {"quote_version": 1},
        wrong_types={"quote_version": "first"},
        required=("quote_version",),
    ),
    Endpoint("add file", "POST", "/jobs/{ref}/files", "staff", upload=True, success=201),
    Endpoint("download file", "GET", "/jobs/{ref}/files/{file_id}/versions/{number}", "staff"),
    Endpoint(
        "file analysis", "GET", "/jobs/{ref}/files/{file_id}/versions/{number}/analysis", "staff"
    ),
    Endpoint(
        "set scale",
        "POST",
        "/jobs/{ref}/files/{file_id}/versions/{number}/scale",
        "staff",
        body=lambda job: {"scale": "25.4"},
        wrong_types={"scale": "inches"},
        required=("scale",),
    ),
    Endpoint(
        "start production",
        "POST",
        "/jobs/{ref}/start-production",
        "staff",
        state=JobState.ACCEPTED,
        body=lambda job: {},
        wrong_types={"expected_version": "latest"},
    ),
    Endpoint(
        "add run",
        "POST",
        "/jobs/{ref}/runs",
        "staff",
        state=JobState.IN_PRODUCTION,
        body=lambda job: {"quantity": 1},
        success=201,
        wrong_types={"quantity": "a few", "printer_id": "the big one"},
        required=("quantity",),
    ),
    Endpoint(
        "update run",
        "POST",
        "/jobs/{ref}/runs/{run_id}",
        "staff",
        state=JobState.IN_PRODUCTION,
        prepare=_one_run,
        body=lambda job: {"state": "done"},
        wrong_types={"state": 3},
        required=("state",),
    ),
    Endpoint(
        "mark ready",
        "POST",
        "/jobs/{ref}/ready",
        "staff",
        state=JobState.IN_PRODUCTION,
        prepare=_all_printed,
        body=lambda job: {},
        wrong_types={"expected_version": [1]},
    ),
    Endpoint(
        "dispatch",
        "POST",
        "/jobs/{ref}/dispatch",
        "staff",
        state=JobState.READY,
        body=lambda job: {"method": "carrier", "carrier": "DHL", "tracking_number": "JD01"},
        wrong_types={"method": "pigeon"},
        required=("method",),
    ),
    Endpoint(
        "cancel",
        "POST",
        "/jobs/{ref}/cancel",
        "staff",
        body=lambda job: {"reason": "Customer phoned."},
        wrong_types={"reason": 42},
        required=("reason",),
    ),
    Endpoint(
        "add note",
        "POST",
        "/jobs/{ref}/notes",
        "staff",
        body=lambda job: {"body": "Call back on Monday."},
        success=201,
        wrong_types={"body": {"text": "x"}},
        required=("body",),
    ),
    Endpoint(
        "rotate link",
        "POST",
        "/jobs/{ref}/rotate-link",
        "staff",
        body=lambda job: {},
        wrong_types={"expected_version": "latest"},
    ),
    Endpoint(
        "resend email",
        "POST",
        "/jobs/{ref}/notifications/{email_id}/resend",
        "staff",
        prepare=_emails_sent,
        body=lambda job: {"expected_version": job.version},
        success=201,
        wrong_types={"expected_version": "latest"},
        required=("expected_version",),
    ),
]

CUSTOMER = [
    Endpoint("my job", "GET", "/customer/job", "customer"),
    Endpoint(
        "accept quote",
        "POST",
        "/customer/job/accept",
        "customer",
        state=JobState.QUOTED,
        body=lambda job: {"quote_version": 1},
        wrong_types={"quote_version": "the new one"},
        required=("quote_version",),
    ),
    Endpoint(
        "decline quote",
        "POST",
        "/customer/job/decline-quote",
        "customer",
        state=JobState.QUOTED,
        body=lambda job: {"quote_version": 1, "reason": "Too dear."},
        wrong_types={"quote_version": 1.5, "reason": None},
        required=("quote_version", "reason"),
    ),
    Endpoint(
        "customer cancel",
        "POST",
        "/customer/job/cancel",
        "customer",
        body=lambda job: {"reason": "Found another bureau."},
        wrong_types={"reason": False},
        required=("reason",),
    ),
    Endpoint(
        "revise file",
        "POST",
        "/customer/job/files",
        "customer",
        state=JobState.QUOTED,
        upload=True,
        success=201,
    ),
]

PUBLIC_PATHS = ["/catalogue", "/requests", "/auth/token"]

ALL = STAFF + CUSTOMER
JSON_ENDPOINTS = [e for e in ALL if e.takes_json]


def ids(endpoints: list[Endpoint]) -> list[str]:
    return [e.name for e in endpoints]


def prepared_job(make_job, operator, endpoint: Endpoint) -> tuple[Job, str]:
    """A job where `endpoint` succeeds: in its state, with its extra setup done."""
    job, secret = make_job(endpoint.state)
    if endpoint.prepare is not None:
        endpoint.prepare(job, Actor.staff(operator))
        job = Job.objects.get(pk=job.pk)
    return job, secret
