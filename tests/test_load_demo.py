import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from printdesk.catalogue.models import Material, Printer
from printdesk.files.models import FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job, PrintRun, Quote, QuoteStatus, RunState
from printdesk.notifications.models import Notification

pytestmark = pytest.mark.django_db

PASSWORD_LINE = re.compile(r"^\s*(admin|operator)\s+password: (\S+)", re.MULTILINE)
COUNTED = [Material, Printer, get_user_model(), Job, AuditEvent, Quote, PrintRun, Notification]


def load_demo() -> tuple[str, dict[str, str]]:
    out = StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    return text, dict(PASSWORD_LINE.findall(text))


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in [*COUNTED, FileVersion]}


def test_it_creates_a_job_in_every_state():
    load_demo()
    assert set(Job.objects.values_list("state", flat=True)) == set(JobState)
    assert Job.objects.count() >= 12
    assert not Job.objects.exclude(customer_email__endswith="@example.com").exists()


def test_every_demo_job_has_an_audit_trail_matching_its_version():
    load_demo()
    for job in Job.objects.all():
        assert job.audit_events.count() == job.version, job.reference
        assert job.audit_events.first().event == "submitted"


def test_it_splits_a_job_into_runs_with_one_failed():
    load_demo()
    failed = PrintRun.objects.get(state=RunState.FAILED)
    assert failed.job.state == JobState.IN_PRODUCTION
    assert failed.job.runs.filter(state=RunState.DONE).exists()


def test_it_requotes_a_job_superseding_its_first_quote():
    load_demo()
    superseded = Quote.objects.get(status=QuoteStatus.SUPERSEDED)
    live = superseded.job.quotes.get(status=QuoteStatus.CURRENT)
    assert live.version == superseded.version + 1


def test_a_second_run_creates_no_duplicates():
    load_demo()
    before = counts()
    text, _ = load_demo()
    assert counts() == before
    assert "already exist" in text


def test_it_makes_an_admin_and_an_operator():
    load_demo()
    users = get_user_model().objects
    admin, operator = users.get(username="admin"), users.get(username="operator")
    assert admin.is_superuser and admin.is_staff
    assert operator.is_staff and not operator.is_superuser


def test_the_printed_passwords_authenticate_and_change_on_every_run():
    _, first = load_demo()
    text, second = load_demo()
    assert set(second) == {"admin", "operator"}
    for username, password in second.items():
        assert authenticate(username=username, password=password) is not None
        assert authenticate(username=username, password=first[username]) is None
    assert "http://127.0.0.1:8000/admin/" in text
    assert "http://127.0.0.1:8000/api/v1/" in text
    assert "/api/v1/auth/token" in text
