"""The fail-closed permission matrix (issue 6): every URL and every API operation, by persona
and method, with the status each must answer; and every lifecycle action over HTTP, against
the transition table.

The tables live in tests/security/matrix.py. A URL pattern or an API operation without an
entry fails the first two tests, and so does an entry whose URL is gone.

Fixtures are built once for the module (`world`); each test runs in its own savepoint, so a
POST that succeeds is undone before the next.
"""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from printdesk.jobs.lifecycle import OPEN_STATES, Action, JobState
from printdesk.jobs.models import Job
from tests.api.conftest import check_answer
from tests.jobs.helpers import PRODUCT_TABLE, who_may
from tests.security import matrix
from tests.security.matrix import (
    API,
    LOGIN,
    PERSONAS,
    URLS,
    Expect,
    P,
    Rule,
    Url,
    World,
    api_job,
    api_operations,
    api_path,
    desk_action_path,
    expect,
    fresh,
    has_files,
    rightful,
    send,
    served_urls,
)

pytestmark = pytest.mark.django_db
world = matrix.world  # built once for the module
_test_settings = matrix._test_settings  # its settings hold for the whole module


# --- fail-closed: the tables name exactly what the project serves ---------------------------


def test_every_url_pattern_has_an_entry_in_the_matrix():
    served = {key for key, _ in served_urls()}

    missing = sorted(served - set(URLS))
    gone = sorted(set(URLS) - served)
    assert not missing, f"URLs with no entry in tests/security/matrix.py URLS: {missing}"
    assert not gone, f"URLS entries for URLs that no longer exist: {gone}"


def test_every_api_operation_has_an_entry_in_the_matrix():
    operations = api_operations()

    missing = sorted(operations - set(API))
    gone = sorted(set(API) - operations)
    assert not missing, f"API operations with no entry in tests/security/matrix.py API: {missing}"
    assert not gone, f"API entries for operations that no longer exist: {gone}"


def test_every_entry_names_its_methods_and_a_wrong_one():
    for name, url in URLS.items():
        assert url.ok, name
        assert url.wrong not in url.ok, name


# --- helpers ----------------------------------------------------------------------------------


HEADER_RULES = {Rule.UPLOADER, Rule.UPLOAD_OWNER, Rule.API_STAFF, Rule.API_CUSTOMER}


def _client(world: World, persona: P, rule: Rule) -> tuple[Client, dict[str, str]]:
    """The persona's browser (desk session) for pages, or its headers for the API and tus."""
    who = world.personas[persona]
    if rule in HEADER_RULES:
        return Client(), who.headers()
    return who.browser(), {}


def snapshot(*jobs: Job) -> list[tuple]:
    return list(
        Job.objects.filter(pk__in=[job.pk for job in jobs])
        .order_by("pk")
        .values_list("pk", "state", "version", "link_hash")
    )


def check(response, expected: Expect) -> None:
    assert response.status_code < 500, response.content[:500]
    if expected.status == LOGIN:
        assert response.status_code == 302, response.content[:300]
        assert response["Location"].startswith(reverse("desk:login") + "?next="), response[
            "Location"
        ]
    else:
        assert response.status_code == expected.status, response.content[:300]


def xfails(reason: str) -> list:
    """Today's answer differs from the expectation: strict, so the test flips once built."""
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


# --- every URL, every method, every persona ---------------------------------------------------


def url_expectation(url: Url, method: str, persona: P) -> Expect:
    if method in url.public_methods:
        return Expect(url.ok[method])
    return expect(url.rule, persona, url.ok[method], url.other)


URL_CELLS = [
    pytest.param(
        name,
        method,
        persona,
        id=f"{name}-{method}-{persona.name.lower()}",
        marks=xfails(url_expectation(url, method, persona).xfail),
    )
    for name, url in URLS.items()
    for method in url.ok
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "persona"), URL_CELLS)
def test_url_answers_each_persona_as_the_matrix_says(world, name, method, persona):
    url = URLS[name]
    expected = url_expectation(url, method, persona)
    client, headers = _client(world, persona, url.rule)
    job = url.target(world, persona) if url.target else None
    data = url.data(world, job) if url.data and method in ("POST", "PATCH") else None
    # Another job's link acts on that job: it is mine that must not change.
    guarded = [world.mine] + ([job] if job is not None and persona != P.OTHER_LINK else [])
    before = snapshot(*guarded)

    response = send(client, method, url.path(world, persona), data, {**url.headers, **headers})

    check(response, expected)
    refused = expected.status != url.ok[method] or persona == P.OTHER_LINK
    if refused:
        # Not theirs: nothing of the job the URL names (nor of mine) has changed.
        assert snapshot(*guarded) == before


LINK_CELLS = [
    (name, method) for name, url in URLS.items() if url.rule == Rule.LINK for method in url.ok
]


@pytest.mark.parametrize(("name", "method"), LINK_CELLS)
def test_a_revoked_link_opens_nothing(world, name, method):
    """A revoked link answers 410 (the matrix above) and shows nothing of the job."""
    url = URLS[name]
    client = world.personas[P.REVOKED_LINK].browser()
    data = url.data(world, world.mine) if url.data else None
    before = snapshot(world.mine)

    response = send(client, method, url.path(world, P.REVOKED_LINK), data)

    assert response.status_code == 410
    assert world.mine.reference not in response.content.decode(errors="replace")
    assert snapshot(world.mine) == before


WRONG_METHOD = [
    pytest.param(name, marks=xfails(url.wrong_xfail)) for name, url in URLS.items() if url.wrong
]


@pytest.mark.parametrize("name", WRONG_METHOD)
def test_url_refuses_the_wrong_method(world, name):
    url = URLS[name]
    persona = rightful(url.rule)
    client, headers = _client(world, persona, url.rule)

    response = send(client, url.wrong, url.path(world, persona), None, {**url.headers, **headers})

    assert response.status_code == 405


WITH_IDS = [name for name, url in URLS.items() if url.has_id]


@pytest.mark.parametrize("name", WITH_IDS)
def test_url_answers_404_for_a_bad_id(world, name):
    url = URLS[name]
    persona = rightful(url.rule)
    client, headers = _client(world, persona, url.rule)
    method = next(iter(url.ok))
    job = url.target(world, persona) if url.target else None
    data = url.data(world, job) if url.data and method in ("POST", "PATCH") else None

    response = send(
        client, method, url.path(world, persona, bad=True), data, {**url.headers, **headers}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name.lower())
def test_djangos_admin_is_for_admins_only(world, persona):
    response = world.personas[persona].browser().get("/admin/")

    if persona == P.ADMIN:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


# --- every API operation, every persona -------------------------------------------------------

API_CELLS = [
    pytest.param(method, path, persona, id=f"{method} {path}-{persona.name.lower()}")
    for (method, path) in API
    for persona in PERSONAS
]


def call_api(world: World, persona: P, method: str, path: str, bad: bool = False, verb=None):
    operation = API[(method, path)]
    job = api_job(world, operation, persona)
    body = operation.body(world, job) if operation.body else None
    multipart = body is not None and has_files(body)
    client = Client()
    response = send(
        client,
        verb or method,
        api_path(path, job, bad),
        body,
        world.personas[persona].headers(),
        json=not multipart,
    )
    check_answer(response)
    return response


@pytest.mark.parametrize(("method", "path", "persona"), API_CELLS)
def test_api_operation_answers_each_persona_as_the_matrix_says(world, method, path, persona):
    operation = API[(method, path)]
    expected = expect(operation.rule, persona, operation.ok)
    before = snapshot(world.mine, api_job(world, operation, P.OPERATOR))

    response = call_api(world, persona, method, path)

    check(response, expected)
    if expected.status != operation.ok or persona == P.OTHER_LINK:
        assert snapshot(world.mine, api_job(world, operation, P.OPERATOR)) == before


@pytest.mark.parametrize(("method", "path"), list(API))
def test_api_operation_refuses_the_wrong_method(world, method, path):
    operation = API[(method, path)]
    persona = rightful(operation.rule)

    response = call_api(world, persona, method, path, verb=operation.wrong)

    assert response.status_code == 405


API_WITH_IDS = [key for key, operation in API.items() if operation.has_id]


@pytest.mark.parametrize(("method", "path"), API_WITH_IDS)
def test_api_operation_answers_404_for_a_bad_id(world, method, path):
    response = call_api(world, P.OPERATOR, method, path, bad=True)

    assert response.status_code == 404


# --- every lifecycle action over HTTP, against the transition table ---------------------------
# The action level (every action, state and actor kind) is tests/jobs/test_lifecycle_table.py;
# here each surface that takes an action answers as the table says: applied -> the surface's
# success; no row for the state -> 409 (the pages: a message and back); a row that does not
# name the actor -> 403. Customers reach no staff action at all (see the URL matrix above).

APPLIED, CONFLICT, NOT_ALLOWED, NO_RUN = "applied", "conflict", "not allowed", "no such run"


def outcome(action: Action, job: Job, actor_kind: str) -> str:
    state = JobState(job.state)
    if action == Action.UPDATE_RUN and not job.runs.exists():
        return NO_RUN  # the URL names a run of the job: with none, there is nothing to move
    if state not in PRODUCT_TABLE[action]:
        return CONFLICT
    return APPLIED if who_may(action, state, actor_kind) else NOT_ALLOWED


def _surface(rule: Rule) -> dict[Action, str]:
    return {url.action: name for name, url in URLS.items() if url.rule == rule and url.action}


def _api_surface(rule: Rule) -> dict[Action, tuple[str, str]]:
    return {op.action: key for key, op in API.items() if op.rule == rule and op.action}


DESK_ACTIONS = _surface(Rule.STAFF)
PORTAL_ACTIONS = _surface(Rule.LINK)
API_STAFF_ACTIONS = _api_surface(Rule.API_STAFF)
API_CUSTOMER_ACTIONS = _api_surface(Rule.API_CUSTOMER)
STATES = list(JobState)
STAFF_PERSONAS = [P.OPERATOR, P.ADMIN]


def test_every_action_with_a_desk_url_has_an_api_operation():
    assert set(DESK_ACTIONS) == set(API_STAFF_ACTIONS)
    assert set(PORTAL_ACTIONS) == set(API_CUSTOMER_ACTIONS)
    # SEND_LINK is the system's alone ("Lost your link?", below): no desk or portal URL.
    system_only = {Action.SUBMIT, Action.SEND_LINK}
    assert set(DESK_ACTIONS) | set(PORTAL_ACTIONS) == set(Action) - system_only


def said(response) -> list[str]:
    return [message.level_tag for message in get_messages(response.wsgi_request)]


def _applied(job: Job, before: int, result: str) -> None:
    after = fresh(job).version
    assert after == (before + 1 if result == APPLIED else before)


@pytest.mark.parametrize("persona", STAFF_PERSONAS, ids=lambda p: p.name.lower())
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(DESK_ACTIONS))
def test_desk_action_follows_the_table(world, action, state, persona):
    job = fresh(world.job_for(state, action))
    result = outcome(action, job, persona.value)
    name = DESK_ACTIONS[action]
    before = job.version

    response = (
        world.personas[persona]
        .browser()
        .post(
            desk_action_path(name.removeprefix("desk:"), action, job), URLS[name].data(world, job)
        )
    )

    if result == NOT_ALLOWED:
        assert response.status_code == 403
    elif result == NO_RUN:
        assert response.status_code == 404
    else:
        assert response.status_code == 302, response.content[:300]
        assert response["Location"] == reverse("desk:job", args=[job.reference])
        assert said(response) == (["success"] if result == APPLIED else ["error"])
    _applied(job, before, result)


@pytest.mark.parametrize("persona", STAFF_PERSONAS, ids=lambda p: p.name.lower())
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(API_STAFF_ACTIONS))
def test_api_staff_action_follows_the_table(world, action, state, persona):
    method, path = API_STAFF_ACTIONS[action]
    operation = API[(method, path)]
    job = fresh(world.job_for(state, action))
    result = outcome(action, job, persona.value)
    body = operation.body(world, job)
    before = job.version

    response = send(
        Client(),
        method,
        api_path(path, job),
        body,
        world.personas[persona].headers(),
        json=not has_files(body),
    )

    check_answer(response)
    codes = {APPLIED: operation.ok, CONFLICT: 409, NOT_ALLOWED: 403, NO_RUN: 404}
    assert response.status_code == codes[result], response.content[:300]
    _applied(job, before, result)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(PORTAL_ACTIONS))
def test_portal_action_follows_the_table(world, action, state):
    job = fresh(world.job_for(state, action))
    result = outcome(action, job, "customer")
    name = PORTAL_ACTIONS[action]
    secret = world.secrets[job.pk]
    before = job.version

    response = Client().post(reverse(name, args=[secret]), URLS[name].data(world, job))

    if result == NOT_ALLOWED:
        assert response.status_code == 403
    else:
        assert response.status_code == 302, response.content[:300]
        assert response["Location"] == reverse("portal:status", args=[secret])
        assert said(response) == (["success"] if result == APPLIED else ["warning"])
    _applied(job, before, result)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(API_CUSTOMER_ACTIONS))
def test_api_customer_action_follows_the_table(world, action, state):
    method, path = API_CUSTOMER_ACTIONS[action]
    operation = API[(method, path)]
    job = fresh(world.job_for(state, action))
    result = outcome(action, job, "customer")
    body = operation.body(world, job)
    before = job.version

    response = send(
        Client(),
        method,
        api_path(path, job),
        body,
        {"X-Job-Link": world.secrets[job.pk]},
        json=not has_files(body),
    )

    check_answer(response)
    codes = {APPLIED: operation.ok, CONFLICT: 409, NOT_ALLOWED: 403}
    assert response.status_code == codes[result], response.content[:300]
    _applied(job, before, result)


@pytest.mark.parametrize("state", STATES)
def test_lost_link_sends_the_link_as_the_system_where_the_table_and_the_page_allow(world, state):
    # "Lost your link?" is the one URL that acts as the system: the table lets it send the
    # current link in every state; the page itself only takes open jobs and recent dispatches.
    job = fresh(world.jobs[state])
    table_allows = who_may(Action.SEND_LINK, state, "system")
    page_takes = state in OPEN_STATES or state == JobState.DISPATCHED

    response = Client().post(reverse("portal:lost_link"), {"email": job.customer_email})

    assert response.status_code == 302
    sent = job.audit_events.filter(event="link_sent").exists()
    assert sent == (table_allows and page_takes)
    assert fresh(job).link_hash == job.link_hash  # the link the customer holds still works
    _applied(job, job.version, APPLIED if sent else CONFLICT)
