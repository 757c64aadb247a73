"""Personas and helpers shared by the whole suite (in the manner of healthchecks' hc/test.py).

- `operator`, `admin`, `stranger_user` (logged-in but not staff), `deactivated_operator`
- `catalogue`: a material with colours, a second material, two printers
- `make_job(state=...)`: a job submitted by a customer and driven through real actions to the
  state asked for; returns (job, link secret)
- `clock`: moves "now" forward, for quote expiry
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from printdesk.catalogue.models import Material, Printer
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor, QuoteLineInput
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import DispatchMethod, Job, RunState

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"

CUBE_STL = b"""solid cube
facet normal 0 0 1
 outer loop
  vertex 0 0 1
  vertex 1 0 1
  vertex 0 1 1
 endloop
endfacet
endsolid cube
"""


def stl_upload(name: str = "part.stl", content: bytes = CUBE_STL) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="model/stl")


def sample_upload(relative: str) -> SimpleUploadedFile:
    path = SAMPLES / relative
    return SimpleUploadedFile(path.name, path.read_bytes())


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Real hashing costs ~0.2 s per user on these machines; tests need no such strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Clock:
    """Moves django.utils.timezone.now (and with it localdate) forward from the real time."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._real_now = timezone.now

    def now(self):
        return self._real_now() + self.offset

    def advance(self, *, days: int) -> None:
        self.offset += timedelta(days=days)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The clock, movable: `clock.advance(days=15)` and quotes expire."""
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock


@pytest.fixture
def catalogue(db):
    pla = Material.objects.create(
        name="PLA", process="fdm", description="Everyday plastic", colours=["black", "white"]
    )
    resin = Material.objects.create(name="Tough resin", process="sla", colours=[])
    mk4 = Printer.objects.create(
        name="Prusa MK4", process="fdm", build_x_mm=250, build_y_mm=210, build_z_mm=220
    )
    form = Printer.objects.create(
        name="Form 3", process="sla", build_x_mm=145, build_y_mm=145, build_z_mm=185
    )
    return {"pla": pla, "resin": resin, "mk4": mk4, "form": form}


def _user(django_user_model, username, **flags):
    return django_user_model.objects.create_user(
        username, f"{username}@bureau.test", "pw-" + username, **flags
    )


@pytest.fixture
def operator(django_user_model):
    return _user(django_user_model, "olga", is_staff=True)


@pytest.fixture
def admin(django_user_model):
    return _user(django_user_model, "ada", is_staff=True, is_superuser=True)


@pytest.fixture
def stranger_user(django_user_model):
    return _user(django_user_model, "sam")


@pytest.fixture
def deactivated_operator(django_user_model):
    return _user(django_user_model, "dora", is_staff=True, is_active=False)


def quote_lines(job: Job, unit_price: str = "12.50") -> list[QuoteLineInput]:
    first_file = job.files.first()
    return [
        QuoteLineInput(
            description="Part",
            material_id=job.material_id,
            colour=job.colour,
            quantity=job.quantity,
            unit_price=Decimal(unit_price),
            job_file_id=first_file.pk if first_file else None,
        )
    ]


def drive_to(job: Job, state: JobState, staff: Actor) -> Job:
    """Take a freshly submitted job to `state` through the real actions."""
    customer = Actor.customer()
    valid = timezone.localdate() + timedelta(days=14)

    def quote(j: Job) -> Job:
        actions.send_quote(
            job=j,
            actor=staff,
            lines=quote_lines(j),
            currency="EUR",
            lead_time_days=5,
            valid_until=valid,
        )
        return Job.objects.get(pk=j.pk)

    def accept(j: Job) -> Job:
        q = actions.live_quote(j)
        return actions.accept_quote(job=j, actor=customer, quote_version=q.version)

    def produce(j: Job) -> Job:
        return actions.start_production(job=accept(quote(j)), actor=staff)

    def ready(j: Job) -> Job:
        j = produce(j)
        run = actions.add_run(job=j, actor=staff, quantity=j.quantity)
        actions.update_run(job=j, actor=staff, run_id=run.pk, state=RunState.DONE)
        return actions.mark_ready(job=j, actor=staff)

    steps = {
        JobState.SUBMITTED: lambda j: j,
        JobState.QUOTED: quote,
        JobState.ACCEPTED: lambda j: accept(quote(j)),
        JobState.QUOTE_DECLINED: lambda j: actions.decline_quote(
            job=quote(j), actor=customer, quote_version=1, reason="Too dear"
        ),
        JobState.DECLINED: lambda j: actions.decline_request(job=j, actor=staff, reason="No"),
        JobState.IN_PRODUCTION: produce,
        JobState.READY: ready,
        JobState.DISPATCHED: lambda j: actions.dispatch(
            job=ready(j),
            actor=staff,
            method=DispatchMethod.CARRIER,
            carrier="DHL",
            tracking_number="JD0001",
        ),
        JobState.CANCELLED: lambda j: actions.cancel(job=j, actor=customer, reason="Changed mind"),
    }
    result = steps[state](job)
    return Job.objects.get(pk=result.pk)


@pytest.fixture
def make_job(catalogue, operator):
    def make(state: JobState = JobState.SUBMITTED, quantity: int = 3, **fields):
        values = {
            "customer_name": "Cara Customer",
            "customer_email": "cara@example.com",
            "material_id": catalogue["pla"].pk,
            "colour": "black",
            "quantity": quantity,
            "files": [stl_upload()],
        }
        values.update(fields)
        job, secret = actions.submit_request(**values)
        return drive_to(job, state, Actor.staff(operator)), secret

    return make
