"""The permission matrix as data: every URL and API operation, who may call it, and the answer
each persona gets (issue 6).

- `PERSONAS`: who calls, and with what credentials (a desk session, an API token, a link).
- `URLS`: one entry per URL name of the resolver; `API`: one per (method, path) of the OpenAPI
  description. Each names a `Rule` (who may) and, per accepted method, the status the rightful
  caller gets; `expect` derives everybody else's answer from the rule.
- `build_world()`: the objects the URLs need (jobs in every state, a file version, a run, an
  email, a staff member, a material, ...), built once per test module; tus uploads, whose
  bytes live in files no rollback restores, are made per test (`new_upload`).

test_permission_matrix.py checks the tables against the resolver and the OpenAPI description
(a new URL without an entry fails), then calls every cell; test_csrf_enforced.py reuses the
table for every form that changes something.
"""

import base64
import functools
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from printdesk.accounts import staff as staff_accounts
from printdesk.accounts.admin_site import admin_site
from printdesk.accounts.models import ApiToken
from printdesk.api.api import api
from printdesk.catalogue.models import Material, Printer
from printdesk.files.models import Analysis, FileVersion
from printdesk.files.preview import render_png, thumbnail_png
from printdesk.files.viewer_mesh import encode
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import Action, JobState
from printdesk.jobs.models import Job, link_secret
from printdesk.lib.demo import box_stl, drive_to
from printdesk.notifications import render as email_templates
from printdesk.notifications.models import Notification, NotificationState
from printdesk.uploads import actions as uploads
from printdesk.uploads.auth import Uploader
from printdesk.uploads.models import TusUpload
from tests.conftest import stl_upload

S = JobState
API_PREFIX = "/api/v1"
MISSING_ID = 987_654
MISSING_REFERENCE = "PD-98765"
MISSING_UUID = "00000000-0000-4000-8000-000000000000"
PART = box_stl("part.stl")
# What a persona without a link puts where a link goes: it opens nothing.
NO_LINK = "no-link-here"


# --- personas -------------------------------------------------------------------------------


class P(StrEnum):
    ANONYMOUS = "anonymous"
    STRANGER_LINK = "stranger with a made-up link"
    OTHER_LINK = "customer holding another job's link"
    RIGHT_LINK = "customer holding the link"
    REVOKED_LINK = "revoked link"
    OPERATOR = "operator"
    DEACTIVATED = "deactivated operator"
    ADMIN = "admin"


PERSONAS = tuple(P)


@dataclass(frozen=True)
class Persona:
    """What one caller holds: a desk session (key), an API token, a job link's secret."""

    session: str | None = None
    token: str | None = None
    link: str | None = None

    def browser(self, **kwargs: Any) -> Client:
        """A browser with the persona's desk session (if any)."""
        client = Client(**kwargs)
        if self.session:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.session
        return client

    def headers(self) -> dict[str, str]:
        """The persona's credentials as the API and the tus endpoints take them."""
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.link:
            return {"X-Job-Link": self.link}
        return {}

    @property
    def path_link(self) -> str:
        return self.link or NO_LINK


# --- rules ----------------------------------------------------------------------------------


class Rule(StrEnum):
    PUBLIC = "public"
    STAFF = "staff"  # desk pages: operators and admins, logged in
    ADMIN = "admin only"  # desk admin pages
    LINK = "link holder only"  # pages under /j/<secret>/
    UPLOADER = "anyone with upload credentials"  # tus: create an upload
    UPLOAD_OWNER = "the upload's owner only"  # tus: one upload
    API_STAFF = "staff token"
    API_CUSTOMER = "job link header"
    NOTHING = "nothing here"  # paths that exist only to answer 404


LOGIN = "login"  # a 302 to desk:login, with ?next=
OK = "ok"  # what the URL's rightful caller gets for that method (Url.ok, Operation.ok)


@dataclass(frozen=True)
class Expect:
    status: int | str  # a status, or LOGIN
    xfail: str = ""  # why today's answer differs (the test is xfail(strict=True))


# issue 6 (S1): a replaced or expired link answers 410; a made-up one 404 on the pages, the
# customer API and tus (only a missing credential is 401).
GONE = Expect(410)


def _row(*answers: int | str | Expect) -> dict[P, int | str | Expect]:
    return dict(zip(PERSONAS, answers, strict=True))


# Who gets what, by rule. Columns: the personas in PERSONAS' order.
# fmt: off
ANSWERS: dict[Rule, dict[P, int | str | Expect]] = {
    #                  anonymous stranger  other  right  revoked operator deactivated admin
    Rule.PUBLIC:       _row(OK,    OK,    OK,    OK,    OK,    OK,    OK,    OK),
    Rule.NOTHING:      _row(404,   404,   404,   404,   404,   404,   404,   404),
    Rule.STAFF:        _row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK,    LOGIN, OK),
    Rule.ADMIN:        _row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, 403,   LOGIN, OK),
    # Another job's link opens that job: the URL acts on theirs, never on mine.
    Rule.LINK:         _row(404,   404,   OK,    OK,    GONE,  404,   404,   404),
    Rule.UPLOADER:     _row(401,   404,   OK,    OK,    GONE,  OK,    401,   OK),
    # Someone else's upload looks exactly like a missing one.
    Rule.UPLOAD_OWNER: _row(404,   404,   404,   OK,    GONE,  404,   404,   404),
    Rule.API_STAFF:    _row(401,   401,   401,   401,   401,   OK,    401,   OK),
    Rule.API_CUSTOMER: _row(401,   404,   OK,    OK,    GONE,  401,   401,   401),
}
# fmt: on


def expect(rule: Rule, persona: P, ok: int, other: dict[P, int] | None = None) -> Expect:
    """What `persona` gets from a URL under `rule` whose rightful caller gets `ok`; `other`
    overrides the rule for a few personas (a login page sends the logged-in on)."""
    answer = other[persona] if other and persona in other else ANSWERS[rule][persona]
    if isinstance(answer, Expect):
        return answer
    return Expect(ok if answer == OK else answer)


def rightful(rule: Rule) -> P:
    """The persona a rule is for: who checks success, the wrong method and a bad id."""
    return {
        Rule.ADMIN: P.ADMIN,
        Rule.STAFF: P.OPERATOR,
        Rule.API_STAFF: P.OPERATOR,
        Rule.LINK: P.RIGHT_LINK,
        Rule.API_CUSTOMER: P.RIGHT_LINK,
        Rule.UPLOAD_OWNER: P.RIGHT_LINK,
        Rule.UPLOADER: P.RIGHT_LINK,
    }.get(rule, P.ANONYMOUS)


# --- the world the URLs point into ----------------------------------------------------------


@dataclass
class World:
    """Everything the matrix's URLs name, built once per module (see build_world)."""

    personas: dict[P, Persona]
    jobs: dict[JobState, Job]  # one job per state; QUOTED is "mine", the link holder's job
    secrets: dict[int, str]  # job pk -> its current link secret
    printed: Job  # in production, every part printed: "mark ready" applies
    theirs: Job  # another customer's job, quoted like mine
    member: Any  # a staff member the admin pages act on
    users: dict[P, Any]
    material: Material
    printer: Printer
    email_template: tuple[str, str]  # (audience, event) of a shipped email template

    @property
    def mine(self) -> Job:
        return self.jobs[S.QUOTED]

    def job_for(self, state: JobState, action: Action | None = None) -> Job:
        """A job in `state` on which `action` applies if the lifecycle table allows it."""
        if state == S.IN_PRODUCTION and action == Action.MARK_READY:
            return self.printed
        return self.jobs[state]


def _submit(staff: Actor, material: Material, state: JobState, email: str) -> tuple[Job, str]:
    job, secret = actions.submit_request(
        customer_name="Cara Customer",
        customer_email=email,
        material_id=material.pk,
        colour="black",
        quantity=3,
        files=[stl_upload()],
    )
    return drive_to(job, state, staff), secret


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def build_world() -> World:
    """Staff, jobs in every state, and the objects the URLs take ids of.

    The deactivated operator's session and token are made while they are active, then
    `accounts.staff.deactivate` runs: both must stop working at once.
    """
    users_model = get_user_model()

    def user(name: str, **flags):
        return users_model.objects.create_user(name, f"{name}@bureau.test", "pw-" + name, **flags)

    operator = user("olga", is_staff=True)
    admin = user("ada", is_staff=True, is_superuser=True)
    dora = user("dora", is_staff=True)
    member = user("otto", is_staff=True)
    material = Material.objects.create(
        name="PLA", process="fdm", description="Everyday plastic", colours=["black", "white"]
    )
    printer = Printer.objects.create(
        name="Prusa MK4", process="fdm", build_x_mm=250, build_y_mm=210, build_z_mm=220
    )
    staff = Actor.staff(operator)

    jobs: dict[JobState, Job] = {}
    secret_of: dict[int, str] = {}
    for state in JobState:
        job, secret = _submit(staff, material, state, f"{state}@example.com")
        jobs[state], secret_of[job.pk] = job, secret
    printed, secret = _submit(staff, material, S.IN_PRODUCTION, "printed@example.com")
    secret_of[printed.pk] = secret
    run = actions.add_run(job=printed, actor=staff, quantity=printed.quantity)
    actions.update_run(job=printed, actor=staff, run_id=run.pk, state="done")
    actions.add_run(job=jobs[S.IN_PRODUCTION], actor=staff, quantity=1)  # a queued run
    theirs, their_secret = _submit(staff, material, S.QUOTED, "theirs@example.com")
    secret_of[theirs.pk] = their_secret

    # My link was replaced once: the old secret is the revoked link.
    mine = jobs[S.QUOTED]
    revoked = secret_of[mine.pk]
    actions.rotate_link(job=mine, actor=staff)
    secret_of[mine.pk] = link_secret(Job.objects.get(pk=mine.pk)) or ""
    assert secret_of[mine.pk] and secret_of[mine.pk] != revoked

    # Every email went out: each can be sent again.
    Notification.objects.update(state=NotificationState.SENT)

    personas = {
        P.ANONYMOUS: Persona(),
        P.STRANGER_LINK: Persona(link=secrets.token_urlsafe(32)),
        P.OTHER_LINK: Persona(link=their_secret),
        P.RIGHT_LINK: Persona(link=secret_of[mine.pk]),
        P.REVOKED_LINK: Persona(link=revoked),
        P.OPERATOR: Persona(session=_session(operator), token=ApiToken.issue(operator, "m")[1]),
        P.DEACTIVATED: Persona(session=_session(dora), token=ApiToken.issue(dora, "m")[1]),
        P.ADMIN: Persona(session=_session(admin), token=ApiToken.issue(admin, "m")[1]),
    }
    # Dora's credentials work while she is active: what the matrix sees after is deactivation.
    dora_was = personas[P.DEACTIVATED]
    assert dora_was.browser().get(reverse("desk:queue")).status_code == 200
    assert Client().get(f"{API_PREFIX}/jobs", headers=dora_was.headers()).status_code == 200
    staff_accounts.deactivate(by=admin, user=dora)

    template = email_templates.TEMPLATE_NAMES[0].split("/", 1)
    return World(
        personas=personas,
        jobs={state: Job.objects.get(pk=job.pk) for state, job in jobs.items()},
        secrets=secret_of,
        printed=Job.objects.get(pk=printed.pk),
        theirs=Job.objects.get(pk=theirs.pk),
        member=member,
        users={P.OPERATOR: operator, P.ADMIN: admin, P.DEACTIVATED: dora},
        material=material,
        printer=printer,
        email_template=(template[0], template[1]),
    )


# --- request bodies -------------------------------------------------------------------------
# Each takes the job the URL names (fresh from the database) and the world; desk and portal
# forms send the version the page showed, so a refusal is about the job, never a stale page.


def fresh(job: Job) -> Job:
    return Job.objects.get(pk=job.pk)


def _version(job: Job) -> dict:
    return {"expected_version": fresh(job).version}


def _quote_version(job: Job) -> int:
    quote = job.quotes.order_by("-version").first()
    return quote.version if quote else 1


def _valid_until() -> str:
    return (timezone.localdate() + timedelta(days=14)).isoformat()


def desk_quote(job: Job) -> dict:
    first = job.files.first()
    return {
        **_version(job),
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "1",
        "lines-0-description": first.name,
        "lines-0-material": str(job.material_id),
        "lines-0-colour": job.colour,
        "lines-0-quantity": str(job.quantity),
        "lines-0-unit_price": "12.50",
        "lines-0-file_id": str(first.pk),
        "quote-currency": "EUR",
        "quote-lead_time_days": "5",
        "quote-valid_until": _valid_until(),
        "quote-message": "Thanks for asking!",
        "intent": "send",
    }


def run_of(job: Job) -> int:
    """The job's first print run, or an id no run has."""
    run = job.runs.order_by("id").first()
    return run.pk if run else MISSING_ID


def notification_of(job: Job) -> int:
    return Notification.objects.filter(job=job).order_by("id").values_list("pk", flat=True)[0]


def version_of(job: Job) -> FileVersion:
    """The first version of the job's first file."""
    return FileVersion.objects.filter(job_file__job=job).order_by("job_file_id", "number")[0]


DESK_FORMS: dict[Action, Callable[[Job], dict]] = {
    Action.SEND_QUOTE: desk_quote,
    Action.ACCEPT_QUOTE: lambda job: {**_version(job), "quote_version": _quote_version(job)},
    Action.DECLINE: lambda job: {**_version(job), "decline-reason": "We cannot print that."},
    Action.REVISE_FILE: lambda job: {**_version(job), "revision-file": stl_upload("rev.stl")},
    Action.START_PRODUCTION: _version,
    Action.ADD_RUN: lambda job: {
        **_version(job),
        "runs-TOTAL_FORMS": "1",
        "runs-INITIAL_FORMS": "1",
        "runs-0-printer": "",
        "runs-0-quantity": "1",
    },
    Action.UPDATE_RUN: lambda job: {**_version(job), "state": "done"},
    Action.MARK_READY: _version,
    Action.DISPATCH: lambda job: {**_version(job), "dispatch-method": "hand_over"},
    Action.CANCEL: lambda job: {**_version(job), "cancel-reason": "Customer phoned."},
    Action.ROTATE_LINK: _version,
    Action.ADD_NOTE: lambda job: {"note-body": "Call back on Monday."},
    Action.RESEND_EMAIL: _version,
    Action.SET_SCALE: lambda job: {**_version(job), "scale": "25.4"},
}
PORTAL_FORMS: dict[Action, Callable[[Job], dict]] = {
    Action.ACCEPT_QUOTE: lambda job: {**_version(job), "quote_version": _quote_version(job)},
    Action.DECLINE_QUOTE: lambda job: {
        **_version(job),
        "quote_version": _quote_version(job),
        "reason": "Too dear.",
    },
    Action.CANCEL: lambda job: {**_version(job), "reason": "Found another bureau."},
    Action.REVISE_FILE: lambda job: {**_version(job), "file": stl_upload("rev.stl")},
}


def api_quote(job: Job) -> dict:
    return {
        **_version(job),
        "lines": [
            {
                "description": "Part",
                "material_id": job.material_id,
                "colour": job.colour,
                "quantity": job.quantity,
                "unit_price": "12.50",
                "file_id": job.files.first().pk,
            }
        ],
        "currency": "EUR",
        "lead_time_days": 5,
        "valid_until": _valid_until(),
    }


# JSON bodies, or multipart (a dict holding a file) for the file endpoints.
API_BODIES: dict[Action, Callable[[Job], dict]] = {
    Action.SEND_QUOTE: api_quote,
    Action.DECLINE: lambda job: {**_version(job), "reason": "We cannot print that."},
    Action.ACCEPT_QUOTE: lambda job: {**_version(job), "quote_version": _quote_version(job)},
    Action.DECLINE_QUOTE: lambda job: {
        **_version(job),
        "quote_version": _quote_version(job),
        "reason": "Too dear.",
    },
    Action.REVISE_FILE: lambda job: {**_version(job), "file": stl_upload("rev.stl")},
    Action.START_PRODUCTION: _version,
    Action.ADD_RUN: lambda job: {**_version(job), "quantity": 1},
    Action.UPDATE_RUN: lambda job: {**_version(job), "state": "done"},
    Action.MARK_READY: _version,
    Action.DISPATCH: lambda job: {**_version(job), "method": "hand_over"},
    Action.CANCEL: lambda job: {**_version(job), "reason": "Customer phoned."},
    Action.ROTATE_LINK: _version,
    Action.ADD_NOTE: lambda job: {"body": "Call back on Monday."},
    Action.RESEND_EMAIL: _version,
    Action.SET_SCALE: lambda job: {**_version(job), "scale": "25.4"},
}


# --- the URL table --------------------------------------------------------------------------


@dataclass(frozen=True)
class Url:
    """One URL name: who may (rule), what the rightful caller gets per method, and how to call.

    `path(world, persona, bad)` builds the path (`bad`: with an id that names nothing);
    `target(world, persona)` is the job it acts on, if any; `data(world, job)` the body of its
    POST or PATCH; `wrong` a method it refuses with 405 ("" when it has none to refuse).
    """

    rule: Rule
    ok: dict[str, int]
    path: Callable[..., str]
    data: Callable[[World, Job | None], Any] | None = None
    wrong: str = "PUT"
    wrong_xfail: str = ""
    has_id: bool = False  # the path names an object: a bad id answers 404
    other: dict[P, int] = field(default_factory=dict)  # answers the rule alone does not give
    public_methods: tuple[str, ...] = ()  # methods that answer everyone alike
    headers: dict[str, str] = field(default_factory=dict)
    target: Callable[[World, P], Job] | None = None
    action: Action | None = None  # the lifecycle action its POST takes, if any


def _static(path: str) -> Callable[..., str]:
    return lambda world, persona, bad=False: path


def _no_body(world: World, job: Job | None) -> dict:
    return {}


def _desk(name: str, *args: Any) -> str:
    return reverse(f"desk:{name}", args=list(args))


def desk_action_path(name: str, action: Action, job: Job, bad: bool = False) -> str:
    """The job page form that takes `action` on `job` (a run or an email: the job's first)."""
    args: list[Any] = [MISSING_REFERENCE if bad else job.reference]
    if action == Action.UPDATE_RUN:
        args.append(run_of(job))
    if action == Action.RESEND_EMAIL:
        args.append(notification_of(job))
    if action == Action.SET_SCALE:
        args.append(version_of(job).pk)
    return _desk(name, *args)


def desk_job(name: str, state: JobState = S.SUBMITTED, action: Action | None = None) -> Url:
    """A job page form: staff only, POST, back to the job page (302)."""

    def target(world: World, persona: P) -> Job:
        return world.job_for(state, action)

    def path(world: World, persona: P, bad: bool = False) -> str:
        return desk_action_path(name, action, target(world, persona), bad)

    assert action is not None
    form = DESK_FORMS[action]
    return Url(
        Rule.STAFF,
        {"POST": 302},
        path,
        lambda world, job: form(fresh(job)),
        wrong="GET",
        has_id=True,
        target=target,
        action=action,
    )


def desk_page(name: str, rule: Rule = Rule.STAFF, **kw: Any) -> Url:
    """A desk page without ids: GET only unless `ok` says otherwise."""
    ok = kw.pop("ok", {"GET": 200})
    return Url(rule, ok, _named(name), **kw)


def _named(name: str) -> Callable[..., str]:
    # reverse() at call time: the URLconf may not be loaded when this module is imported.
    return lambda world, persona, bad=False: _desk(name)


def admin_member(name: str, ok: dict[str, int], data: dict | None = None) -> Url:
    def path(world: World, persona: P, bad: bool = False) -> str:
        return _desk(name, MISSING_ID if bad else world.member.pk)

    wrong = "PUT" if "GET" in ok else "GET"
    return Url(Rule.ADMIN, ok, path, lambda world, job: dict(data or {}), wrong=wrong, has_id=True)


def admin_object(name: str, attribute: str) -> Url:
    """A material's or printer's form; an empty POST comes back with its errors (200)."""

    def path(world: World, persona: P, bad: bool = False) -> str:
        return _desk(name, MISSING_ID if bad else getattr(world, attribute).pk)

    return Url(Rule.ADMIN, {"GET": 200, "POST": 200}, path, _no_body, has_id=True)


def email_template(name: str, ok: dict[str, int]) -> Url:
    def path(world: World, persona: P, bad: bool = False) -> str:
        audience, event = world.email_template
        return _desk(name, audience, "no-such-event" if bad else event)

    wrong = "PUT" if "GET" in ok else "GET"
    return Url(Rule.ADMIN, ok, path, _no_body, wrong=wrong, has_id=True)


def linked_job(world: World, persona: P) -> Job:
    """The job a link persona's link opens (mine for everyone else, who reach none)."""
    return world.theirs if persona == P.OTHER_LINK else world.mine


def portal(name: str, action: Action | None = None) -> Url:
    """A page under the private link; the persona's link goes in the path."""

    def path(world: World, persona: P, bad: bool = False) -> str:
        return reverse(f"portal:{name}", args=[world.personas[persona].path_link])

    if action is None:
        return Url(Rule.LINK, {"GET": 200}, path, wrong="POST", target=linked_job)
    form = PORTAL_FORMS[action]
    return Url(
        Rule.LINK,
        {"POST": 302},
        path,
        lambda world, job: form(fresh(job)),
        wrong="GET",
        target=linked_job,
        action=action,
    )


def _download(world: World, persona: P, bad: bool = False) -> str:
    version = world.mine.files.first().versions.first()
    secret = world.personas[persona].path_link
    return reverse("portal:download", args=[secret, MISSING_ID if bad else version.pk])


def _desk_download(world: World, persona: P, bad: bool = False) -> str:
    version = world.mine.files.first().versions.first()
    return _desk("file_download", MISSING_ID if bad else version.pk)


def _set_password(world: World, persona: P, bad: bool = False) -> str:
    # A link whose token is wrong: the page says the link is no good, to everyone alike.
    return staff_accounts.set_password_path(world.member).rsplit("/", 2)[0] + "/wrong-token/"


TUS = {"Tus-Resumable": "1.0.0"}


def new_upload(uploader: Uploader) -> TusUpload:
    """A fresh upload, not yet sent: uploads keep their bytes in files, which no rollback
    restores, so each test that touches one makes its own."""
    return uploads.create_upload(uploader=uploader, filename="part.stl", length=len(PART))


def _tus_upload(name: str) -> Callable[..., str]:
    def path(world: World, persona: P, bad: bool = False) -> str:
        uuid = MISSING_UUID if bad else new_upload(Uploader(job=world.mine)).uuid
        return reverse(f"uploads:{name}", args=[uuid])

    return path


URLS: dict[str, Url] = {
    "healthz": Url(Rule.PUBLIC, {"GET": 200}, _static("/healthz"), wrong="POST"),
    # issue 8 (H5): readiness is public like liveness; /metrics does not exist without
    # PRINTDESK_METRICS_TOKEN, and with it only for its bearer (tests/production/test_metrics.py).
    "readyz": Url(Rule.PUBLIC, {"GET": 200}, _static("/readyz"), wrong="POST"),
    "metrics": Url(
        Rule.NOTHING, {"GET": 404, "POST": 404}, _static("/metrics"), _no_body, wrong=""
    ),
    # django-ninja's own pages around the operations (the operations are in API below).
    "api:openapi-json": Url(
        Rule.PUBLIC,
        {"GET": 200},
        _static(f"{API_PREFIX}/openapi.json"),
        wrong="POST",
    ),
    "api:openapi-view": Url(
        Rule.PUBLIC,
        {"GET": 200},
        _static(f"{API_PREFIX}/docs"),
        wrong="POST",
    ),
    # ninja's root page (no page here) and PrintdeskAPI's catch-all: 404 to every method.
    "api:api-root": Url(Rule.NOTHING, {"GET": 404}, _static(f"{API_PREFIX}/"), wrong=""),
    "api/v1/^": Url(
        Rule.NOTHING, {"GET": 404, "POST": 404}, _static(f"{API_PREFIX}/nope"), _no_body, wrong=""
    ),
    # The desk: login, logout, choosing a password.
    "desk:login": desk_page(
        "login",
        Rule.PUBLIC,
        ok={"GET": 200, "POST": 200},  # POST: a wrong password, the form again
        data=lambda world, job: {"username": "olga", "password": "wrong"},
        other={P.OPERATOR: 302, P.ADMIN: 302},  # already logged in: on to the queue
        wrong="DELETE",  # Django's FormView takes PUT as POST
    ),
    "desk:logout": desk_page("logout", Rule.PUBLIC, ok={"POST": 302}, data=_no_body, wrong="GET"),
    "desk:set_password": Url(
        Rule.PUBLIC, {"GET": 200, "POST": 200}, _set_password, _no_body, wrong=""
    ),
    "desk:set_password_done": desk_page("set_password_done", Rule.PUBLIC, wrong="POST"),
    # The queue.
    "desk:queue": desk_page("queue", wrong="POST"),
    "desk:queue_export": desk_page("queue_export", wrong="POST"),
    # One job.
    "desk:job": Url(
        Rule.STAFF,
        {"GET": 200},
        lambda world, persona, bad=False: _desk(
            "job", MISSING_REFERENCE if bad else world.mine.reference
        ),
        wrong="POST",
        has_id=True,
    ),
    "desk:file_download": Url(Rule.STAFF, {"GET": 200}, _desk_download, wrong="POST", has_id=True),
    "desk:job_send_quote": desk_job("job_send_quote", action=Action.SEND_QUOTE),
    "desk:job_accept": desk_job("job_accept", S.QUOTED, Action.ACCEPT_QUOTE),
    "desk:job_decline": desk_job("job_decline", action=Action.DECLINE),
    "desk:job_revise_file": desk_job("job_revise_file", action=Action.REVISE_FILE),
    "desk:job_start_production": desk_job(
        "job_start_production", S.ACCEPTED, Action.START_PRODUCTION
    ),
    "desk:job_add_runs": desk_job("job_add_runs", S.IN_PRODUCTION, Action.ADD_RUN),
    "desk:job_move_run": desk_job("job_move_run", S.IN_PRODUCTION, Action.UPDATE_RUN),
    "desk:job_mark_ready": desk_job("job_mark_ready", S.IN_PRODUCTION, Action.MARK_READY),
    "desk:job_dispatch": desk_job("job_dispatch", S.READY, Action.DISPATCH),
    "desk:job_cancel": desk_job("job_cancel", action=Action.CANCEL),
    "desk:job_rotate_link": desk_job("job_rotate_link", action=Action.ROTATE_LINK),
    "desk:job_add_note": desk_job("job_add_note", action=Action.ADD_NOTE),
    "desk:job_resend_email": desk_job("job_resend_email", action=Action.RESEND_EMAIL),
    # The desk's admin pages (an empty POST to a form comes back with its errors: 200).
    "desk:admin_home": desk_page("admin_home", Rule.ADMIN),
    "desk:admin_operators": desk_page("admin_operators", Rule.ADMIN),
    "desk:admin_invite": desk_page(
        "admin_invite", Rule.ADMIN, ok={"GET": 200, "POST": 200}, data=_no_body
    ),
    "desk:admin_deactivate": admin_member("admin_deactivate", {"GET": 200, "POST": 302}),
    "desk:admin_reactivate": admin_member("admin_reactivate", {"POST": 302}),
    "desk:admin_change_role": admin_member("admin_change_role", {"POST": 302}, {"role": "admin"}),
    "desk:admin_send_link": admin_member("admin_send_link", {"POST": 302}),
    "desk:admin_materials": desk_page("admin_materials", Rule.ADMIN),
    "desk:admin_material_new": desk_page(
        "admin_material_new", Rule.ADMIN, ok={"GET": 200, "POST": 200}, data=_no_body
    ),
    "desk:admin_material_edit": admin_object("admin_material_edit", "material"),
    "desk:admin_printers": desk_page("admin_printers", Rule.ADMIN),
    "desk:admin_printer_new": desk_page(
        "admin_printer_new", Rule.ADMIN, ok={"GET": 200, "POST": 200}, data=_no_body
    ),
    "desk:admin_printer_edit": admin_object("admin_printer_edit", "printer"),
    "desk:admin_settings": desk_page(
        "admin_settings", Rule.ADMIN, ok={"GET": 200, "POST": 200}, data=_no_body
    ),
    "desk:admin_email_templates": desk_page("admin_email_templates", Rule.ADMIN),
    "desk:admin_email_template": email_template("admin_email_template", {"GET": 200, "POST": 200}),
    "desk:admin_email_template_preview": email_template(
        "admin_email_template_preview", {"POST": 422}
    ),
    # issue 6 (S2): the preview's HTML part, in its own frame under its own policy.
    "desk:admin_email_template_preview_html": email_template(
        "admin_email_template_preview_html", {"GET": 200, "POST": 200}
    ),
    "desk:admin_email_template_revert": email_template(
        "admin_email_template_revert", {"POST": 302}
    ),
    "desk:admin_outbox": desk_page("admin_outbox", Rule.ADMIN),
    "desk:admin_outbox_retry": desk_page(
        "admin_outbox_retry", Rule.ADMIN, ok={"POST": 302}, data=_no_body, wrong="GET"
    ),
    # tus uploads: credentials in headers (printdesk/uploads/auth.py).
    "uploads:collection": Url(
        Rule.UPLOADER,
        {"OPTIONS": 204, "POST": 201},
        _static("/uploads/"),
        wrong="GET",
        public_methods=("OPTIONS",),
        headers={
            **TUS,
            "Upload-Length": str(len(PART)),
            "Upload-Metadata": "filename " + base64.b64encode(b"part.stl").decode(),
        },
    ),
    "uploads:upload": Url(
        Rule.UPLOAD_OWNER,
        {"HEAD": 200, "PATCH": 204, "DELETE": 204},
        _tus_upload("upload"),
        lambda world, job: PART,
        wrong="POST",
        has_id=True,
        headers={**TUS, "Upload-Offset": "0"},
    ),
    "uploads:status": Url(
        Rule.UPLOAD_OWNER, {"GET": 200}, _tus_upload("status"), wrong="POST", has_id=True
    ),
    # The customer's pages.
    "portal:request": Url(
        Rule.PUBLIC,
        {"GET": 200, "POST": 422},  # POST: an empty form comes back with its errors
        _static("/"),
        _no_body,
    ),
    "portal:received": Url(Rule.PUBLIC, {"GET": 200}, _static("/request/received/"), wrong="POST"),
    "portal:lost_link": Url(
        Rule.PUBLIC,
        {"GET": 200, "POST": 302},
        _static("/lost-link/"),
        lambda world, job: {"email": "nobody@example.com"},
    ),
    "portal:status": portal("status"),
    "portal:download": Url(
        Rule.LINK,
        {"GET": 200},
        _download,
        wrong="POST",
        has_id=True,
        other={P.OTHER_LINK: 404},  # my file through their link: their job has no such file
        target=linked_job,
    ),
    "portal:accept": portal("accept", Action.ACCEPT_QUOTE),
    "portal:decline": portal("decline", Action.DECLINE_QUOTE),
    "portal:cancel": portal("cancel", Action.CANCEL),
    "portal:revise": portal("revise", Action.REVISE_FILE),
}


# --- API tokens on the desk (issue 6, S3): each operator's own; admins see anyone's. ---


def _token_revoke(world: World, persona: P, bad: bool = False) -> str:
    # A fresh token of the operator's: theirs to revoke, an admin's too; the test's rollback
    # undoes the revocation.
    token, _ = ApiToken.issue(world.users[P.OPERATOR], "revoke me")
    return _desk("token_revoke", MISSING_ID if bad else token.pk)


URLS.update(
    {
        # POST: an empty form comes back with its errors (422); a named one shows the secret.
        "desk:tokens": desk_page("tokens", ok={"GET": 200, "POST": 422}, data=_no_body),
        "desk:token_revoke": Url(
            Rule.STAFF, {"POST": 302}, _token_revoke, _no_body, wrong="GET", has_id=True
        ),
        "desk:admin_member_tokens": admin_member("admin_member_tokens", {"GET": 200}),
    }
)

# --- Two-factor login (issue 6): the login's code step, one's own page, an admin's reset. ---

URLS.update(
    {
        # Without a password typed first, back to the login; logged in, on to the queue.
        "desk:login_code": desk_page(
            "login_code",
            Rule.PUBLIC,
            ok={"GET": 302, "POST": 302},
            data=lambda world, job: {"code": "123456"},
        ),
        # POST: an empty code comes back with its error.
        "desk:two_factor": desk_page("two_factor", ok={"GET": 200, "POST": 200}, data=_no_body),
        # Nobody in the world has it on: "off already" (or "no codes to replace"), back to the page.
        "desk:two_factor_off": desk_page(
            "two_factor_off", ok={"POST": 302}, data=_no_body, wrong="GET"
        ),
        "desk:two_factor_codes": desk_page(
            "two_factor_codes", ok={"POST": 302}, data=_no_body, wrong="GET"
        ),
        "desk:admin_reset_two_factor": admin_member(
            "admin_reset_two_factor", {"GET": 200, "POST": 302}
        ),
    }
)

# --- Previews and scale (issue 7): a file version's analysis on the desk and the portal. ---

PREVIEW_TRIANGLES = np.array(
    [[[0, 0, 0], [20, 0, 0], [0, 20, 0]], [[0, 0, 0], [0, 20, 0], [0, 0, 20]]], dtype=np.float32
)


def with_preview(version: FileVersion) -> FileVersion:
    """Give the version's analysis its images (the world's files are never analysed); the
    test's rollback undoes the row, the images stay in the module's media folder."""
    png = render_png(PREVIEW_TRIANGLES, size=64)
    analysis = Analysis.objects.get(version=version)
    analysis.preview.save("preview.png", ContentFile(png), save=False)
    analysis.thumbnail.save("thumb.png", ContentFile(thumbnail_png(png, size=32)), save=False)
    analysis.viewer_mesh.save("mesh.bin", ContentFile(encode(PREVIEW_TRIANGLES)), save=False)
    analysis.save(update_fields=["preview", "thumbnail", "viewer_mesh"])
    return version


def _desk_image(name: str) -> Callable[..., str]:
    def path(world: World, persona: P, bad: bool = False) -> str:
        version = with_preview(version_of(world.mine))
        return _desk(name, world.mine.reference, MISSING_ID if bad else version.pk)

    return path


def _portal_image(name: str) -> Callable[..., str]:
    def path(world: World, persona: P, bad: bool = False) -> str:
        version = with_preview(version_of(world.mine))
        secret = world.personas[persona].path_link
        return reverse(f"portal:{name}", args=[secret, MISSING_ID if bad else version.pk])

    return path


def _portal_image_url(name: str) -> Url:
    return Url(
        Rule.LINK,
        {"GET": 200},
        _portal_image(name),
        wrong="POST",
        has_id=True,
        other={P.OTHER_LINK: 404},  # my file's image through their link: theirs has no such file
        target=linked_job,
    )


URLS.update(
    {
        "desk:file_preview": Url(
            Rule.STAFF, {"GET": 200}, _desk_image("file_preview"), wrong="POST", has_id=True
        ),
        "desk:file_thumbnail": Url(
            Rule.STAFF, {"GET": 200}, _desk_image("file_thumbnail"), wrong="POST", has_id=True
        ),
        "desk:file_scale": desk_job("file_scale", action=Action.SET_SCALE),
        "portal:file_preview": _portal_image_url("file_preview"),
        "portal:file_thumbnail": _portal_image_url("file_thumbnail"),
        # The 3D view's mesh (files/viewer_mesh.py): the preview's rules.
        "desk:file_mesh": Url(
            Rule.STAFF, {"GET": 200}, _desk_image("file_mesh"), wrong="POST", has_id=True
        ),
        "portal:file_mesh": _portal_image_url("file_mesh"),
    }
)

# --- the API table: one entry per operation of the OpenAPI description ----------------------


@dataclass(frozen=True)
class Operation:
    rule: Rule
    ok: int
    action: Action | None = None
    state: JobState = S.SUBMITTED  # the job's state for it to succeed
    body: Callable[[World, Job], dict] | None = None
    wrong: str = "PUT"
    has_id: bool = False


def _api_action(action: Action, state: JobState, ok: int = 200, rule=Rule.API_STAFF) -> Operation:
    return Operation(
        rule,
        ok,
        action,
        state,
        lambda world, job: API_BODIES[action](job),
        has_id=rule == Rule.API_STAFF,
    )


def _token_body(world: World, job: Job) -> dict:
    return {"username": "olga", "password": "pw-olga", "name": "matrix"}


def _request_body(world: World, job: Job) -> dict:
    return {
        "customer_name": "Rhea Requester",
        "customer_email": "rhea@example.com",
        "material_id": world.material.pk,
        "colour": "black",
        "quantity": 1,
        "files": [stl_upload()],
    }


J = "/jobs/{reference}"
API: dict[tuple[str, str], Operation] = {
    ("GET", "/catalogue"): Operation(Rule.PUBLIC, 200),
    ("POST", "/requests"): Operation(Rule.PUBLIC, 201, body=_request_body),
    ("POST", "/auth/token"): Operation(Rule.PUBLIC, 201, body=_token_body),
    ("GET", "/jobs"): Operation(Rule.API_STAFF, 200, wrong="DELETE"),
    ("GET", J): Operation(Rule.API_STAFF, 200, has_id=True),
    ("POST", J + "/quotes"): _api_action(Action.SEND_QUOTE, S.SUBMITTED, 201),
    ("POST", J + "/decline"): _api_action(Action.DECLINE, S.SUBMITTED),
    ("POST", J + "/accept"): _api_action(Action.ACCEPT_QUOTE, S.QUOTED),
    ("POST", J + "/files"): _api_action(Action.REVISE_FILE, S.SUBMITTED, 201),
    ("GET", J + "/files/{file_id}/versions/{number}"): Operation(Rule.API_STAFF, 200, has_id=True),
    ("GET", J + "/files/{file_id}/versions/{number}/analysis"): Operation(
        Rule.API_STAFF, 200, has_id=True
    ),
    ("POST", J + "/files/{file_id}/versions/{number}/scale"): _api_action(
        Action.SET_SCALE, S.SUBMITTED
    ),
    ("POST", J + "/start-production"): _api_action(Action.START_PRODUCTION, S.ACCEPTED),
    ("POST", J + "/runs"): _api_action(Action.ADD_RUN, S.IN_PRODUCTION, 201),
    ("POST", J + "/runs/{run_id}"): _api_action(Action.UPDATE_RUN, S.IN_PRODUCTION),
    ("POST", J + "/ready"): _api_action(Action.MARK_READY, S.IN_PRODUCTION),
    ("POST", J + "/dispatch"): _api_action(Action.DISPATCH, S.READY),
    ("POST", J + "/cancel"): _api_action(Action.CANCEL, S.SUBMITTED),
    ("POST", J + "/rotate-link"): _api_action(Action.ROTATE_LINK, S.SUBMITTED),
    ("POST", J + "/notes"): _api_action(Action.ADD_NOTE, S.SUBMITTED, 201),
    ("POST", J + "/notifications/{notification_id}/resend"): _api_action(
        Action.RESEND_EMAIL, S.SUBMITTED, 201
    ),
    ("GET", "/customer/job"): Operation(Rule.API_CUSTOMER, 200),
    ("POST", "/customer/job/accept"): _api_action(
        Action.ACCEPT_QUOTE, S.QUOTED, rule=Rule.API_CUSTOMER
    ),
    ("POST", "/customer/job/decline-quote"): _api_action(
        Action.DECLINE_QUOTE, S.QUOTED, rule=Rule.API_CUSTOMER
    ),
    ("POST", "/customer/job/cancel"): _api_action(Action.CANCEL, S.QUOTED, rule=Rule.API_CUSTOMER),
    ("POST", "/customer/job/files"): _api_action(
        Action.REVISE_FILE, S.QUOTED, 201, rule=Rule.API_CUSTOMER
    ),
}


def api_path(path: str, job: Job, bad: bool = False) -> str:
    """Fill an OpenAPI path's parameters with the job's ids (or a reference naming nothing)."""
    values: dict[str, Any] = {"reference": MISSING_REFERENCE if bad else job.reference}
    if "{file_id}" in path:
        values.update(file_id=job.files.order_by("id").first().pk, number=1)
    if "{run_id}" in path:
        values["run_id"] = run_of(job)
    if "{notification_id}" in path:
        values["notification_id"] = notification_of(job)
    return API_PREFIX + path.format(**values)


def api_job(world: World, operation: Operation, persona: P) -> Job:
    """The job an operation acts on: the one its link opens, or the one in the state it needs."""
    if operation.rule == Rule.API_CUSTOMER:
        return linked_job(world, persona)
    return world.job_for(operation.state, operation.action)


# --- calling ---------------------------------------------------------------------------------

OFFSET_TYPE = "application/offset+octet-stream"


def send(client: Client, method: str, path: str, data=None, headers=None, json=False):
    headers = headers or {}
    if method == "POST":
        if json:
            return client.post(path, data or {}, content_type="application/json", headers=headers)
        return client.post(path, data or {}, headers=headers)
    if method == "PATCH":
        return client.patch(path, data or b"", content_type=OFFSET_TYPE, headers=headers)
    return client.generic(method, path, headers=headers)


def has_files(body: dict) -> bool:
    """A body with uploads goes as multipart; any other as JSON."""
    values = [v for value in body.values() for v in (value if isinstance(value, list) else [value])]
    return any(hasattr(value, "read") for value in values)


# --- what the project serves ----------------------------------------------------------------


def _walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    """(URL name, or the route when unnamed; route; view) of every pattern, recursively."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if pattern.namespace == admin_site.name and prefix == "":
                yield "admin", route, None  # Django's admin: one superuser-only check
                continue
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name or route, route, pattern.callback


@functools.cache
def api_operations() -> frozenset[tuple[str, str]]:
    """(method, path under /api/v1) of every operation the OpenAPI description lists."""
    schema = api.get_openapi_schema()
    return frozenset(
        (method.upper(), path.removeprefix(API_PREFIX))
        for path, operations in schema["paths"].items()
        for method in operations
    )


def _as_openapi(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def served_urls() -> list[tuple[str, Any]]:
    """(URL key, view) of every pattern the resolver serves, but the API's operations (the API
    table's business) and Django's admin site."""
    operation_paths = {API_PREFIX + path for _, path in api_operations()}
    return [
        (key, view)
        for key, route, view in _walk(get_resolver().url_patterns)
        if _as_openapi(route) not in operation_paths and key != "admin"
    ]


# --- the module's fixtures (imported by the test modules) -------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once per module inside a transaction rolled back at its end; each test
    runs in a savepoint of it (pytest-django's `db`), so a POST that succeeds is undone."""
    settings_for_module = override_settings(
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with settings_for_module:
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            built = build_world()
        yield built
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _test_settings(world):
    """Replaces the suite's per-test settings (tests/conftest.py): the world's hold for the
    whole module, or its files would be in another MEDIA_ROOT."""
