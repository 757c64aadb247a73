"""Personas and helpers shared by the whole suite (in the manner of healthchecks' hc/test.py).

- `operator`, `admin`, `stranger_user` (logged-in but not staff), `deactivated_operator`
- `catalogue`: a material with colours, a second material, two printers
- `make_job(state=...)`: a job submitted by a customer and driven through real actions to the
  state asked for; returns (job, link secret)
- `clock`: moves "now" forward, for quote expiry
- `moto_endpoint`, `bucket`, `s3_storage`: a real S3 endpoint (moto's server) and print files
  stored there (tests/s3.py)
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from printdesk.catalogue.models import Material, Printer
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.lib.demo import box_stl, drive_to
from tests.s3 import bucket, moto_endpoint, s3_storage  # noqa: F401  (fixtures for every suite)
from tests.smtp import smtp  # noqa: F401  (a real SMTP server, tests/smtp.py)

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"


def stl_upload(name: str = "part.stl", content: bytes | None = None) -> SimpleUploadedFile:
    """An STL upload: a closed 20 mm box, unless `content` says otherwise."""
    data = box_stl(name) if content is None else content
    return SimpleUploadedFile(name, data, content_type="model/stl")


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
