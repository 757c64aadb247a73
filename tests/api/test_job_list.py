"""GET /api/v1/jobs: the operators' queue, with filters, sorting and pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from tests.conftest import stl_upload


def _refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["reference"] for item in response.json()["items"]]


def _submit(catalogue, n: int, **fields) -> Job:
    values = {
        "customer_name": f"Customer {n}",
        "customer_email": f"customer{n}@example.com",
        "material_id": catalogue["pla"].pk,
        "colour": "black",
        "quantity": 1,
        "files": [stl_upload()],
    }
    values.update(fields)
    job, _ = actions.submit_request(**values)
    return job


def test_it_lists_the_newest_jobs_first(staff_api, make_job):
    first, _ = make_job(customer_company="Cogs Ltd")
    second, _ = make_job(JobState.QUOTED)

    response = staff_api.get("/jobs")

    body = response.json()
    assert _refs(response) == [second.reference, first.reference]
    assert (body["count"], body["page"], body["page_size"]) == (2, 1, 50)
    item = body["items"][1]
    assert item["state"] == "submitted"
    assert item["state_label"] == "Submitted"
    assert item["customer_company"] == "Cogs Ltd"
    assert item["material"] == "PLA"
    assert item["version"] == 1
    assert body["items"][0]["state_label"] == "Quoted"


def test_an_empty_queue_is_an_empty_page(staff_api):
    body = staff_api.get("/jobs").json()

    assert (body["items"], body["count"]) == ([], 0)


def test_it_filters_by_one_state(staff_api, make_job):
    make_job()
    quoted, _ = make_job(JobState.QUOTED)

    assert _refs(staff_api.get("/jobs", {"state": "quoted"})) == [quoted.reference]


def test_it_filters_by_several_states_given_repeatedly(staff_api, make_job):
    submitted, _ = make_job()
    make_job(JobState.QUOTED)
    cancelled, _ = make_job(JobState.CANCELLED)

    response = staff_api.get("/jobs", {"state": ["submitted", "cancelled"]})

    assert _refs(response) == [cancelled.reference, submitted.reference]
    assert response.json()["count"] == 2


def test_an_unknown_state_is_a_422(staff_api):
    response = staff_api.get("/jobs", {"state": "lost"})

    assert response.status_code == 422
    # ninja reports the list's position as "filters.state.0" (the view's parameter name leaks)
    assert "state.0: Input should be 'submitted'" in response.json()["message"]


def test_it_filters_by_creation_date_inclusive(staff_api, make_job):
    today = timezone.localdate()
    jobs = {}
    for days_ago in (10, 5, 0):
        job, _ = make_job()
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        jobs[days_ago] = job.reference

    since = staff_api.get("/jobs", {"created_from": str(today - timedelta(days=5))})
    until = staff_api.get("/jobs", {"created_to": str(today - timedelta(days=5))})
    between = staff_api.get(
        "/jobs",
        {
            "created_from": str(today - timedelta(days=6)),
            "created_to": str(today - timedelta(days=4)),
        },
    )

    assert _refs(since) == [jobs[0], jobs[5]]
    assert _refs(until) == [jobs[5], jobs[10]]
    assert _refs(between) == [jobs[5]]


def test_a_malformed_date_is_a_422(staff_api):
    response = staff_api.get("/jobs", {"created_from": "last tuesday"})

    assert response.status_code == 422
    assert response.json()["message"].startswith("created_from: ")


def test_it_filters_by_material(staff_api, make_job, catalogue):
    make_job()
    resin, _ = make_job(material_id=catalogue["resin"].pk, colour="")

    response = staff_api.get("/jobs", {"material": catalogue["resin"].pk})

    assert _refs(response) == [resin.reference]


def test_it_filters_by_printer_listing_each_job_once(staff_api, make_job, catalogue, operator):
    staff = Actor.staff(operator)
    on_mk4, _ = make_job(JobState.IN_PRODUCTION)
    for _ in range(2):  # two runs on the same printer: still one row
        actions.add_run(job=on_mk4, actor=staff, quantity=1, printer_id=catalogue["mk4"].pk)
    on_form, _ = make_job(JobState.IN_PRODUCTION)
    actions.add_run(job=on_form, actor=staff, quantity=1, printer_id=catalogue["form"].pk)
    make_job(JobState.IN_PRODUCTION)

    response = staff_api.get("/jobs", {"printer": catalogue["mk4"].pk})

    assert _refs(response) == [on_mk4.reference]
    assert response.json()["count"] == 1


@pytest.mark.parametrize("field", ["material", "printer"])
@pytest.mark.parametrize("value", ["0", "9223372036854775807", "99999999999999999999999"])
def test_an_unknown_material_or_printer_matches_nothing(staff_api, make_job, field, value):
    make_job()

    response = staff_api.get("/jobs", {field: value})

    assert _refs(response) == []


@pytest.mark.parametrize("spelling", ["{ref}", "{ref_lower}", "pd{pk}", "PD{pk}", "{pk}"])
def test_q_finds_a_job_by_any_spelling_of_its_reference(staff_api, make_job, spelling):
    for _ in range(3):
        make_job()
    job = Job.objects.order_by("id")[1]
    q = spelling.format(ref=job.reference, ref_lower=job.reference.lower(), pk=job.pk)

    assert _refs(staff_api.get("/jobs", {"q": q})) == [job.reference]


@pytest.mark.parametrize(
    "q", ["ellen", "ELLEN RIPLEY", "ripley@weyland", "Weyland-Yutani", "yutani corp"]
)
def test_q_searches_customer_name_email_and_company(staff_api, make_job, q):
    make_job()
    ripley, _ = make_job(
        customer_name="Ellen Ripley",
        customer_email="ripley@weyland.example",
        customer_company="Weyland-Yutani Corp",
    )

    assert _refs(staff_api.get("/jobs", {"q": q})) == [ripley.reference]


def test_q_and_state_combine(staff_api, make_job):
    make_job(customer_name="Ellen Ripley")
    quoted, _ = make_job(JobState.QUOTED, customer_name="Ellen Ripley")
    make_job(JobState.QUOTED)

    response = staff_api.get("/jobs", {"q": "ripley", "state": "quoted"})

    assert _refs(response) == [quoted.reference]


def test_q_that_matches_nothing_is_an_empty_page(staff_api, make_job):
    make_job()

    assert _refs(staff_api.get("/jobs", {"q": "PD-99999"})) == []


def test_it_sorts_by_creation_update_or_state_change(staff_api, make_job, operator):
    old, _ = make_job()
    new, _ = make_job()
    # The older job is acted on last: it is the most recently updated and state-changed.
    actions.decline_request(job=old, actor=Actor.staff(operator), reason="No capacity")

    def order(sort: str) -> list[str]:
        return _refs(staff_api.get("/jobs", {"sort": sort}))

    assert order("-created") == [new.reference, old.reference]
    assert order("created") == [old.reference, new.reference]
    assert order("-updated") == [old.reference, new.reference]
    assert order("updated") == [new.reference, old.reference]
    assert order("-state_changed") == [old.reference, new.reference]
    assert order("state_changed") == [new.reference, old.reference]


def test_an_unknown_sort_is_a_422(staff_api):
    response = staff_api.get("/jobs", {"sort": "customer_name"})

    assert response.status_code == 422
    assert response.json()["message"].startswith("sort: ")


def test_it_pages_through_the_queue(staff_api, catalogue):
    jobs = [_submit(catalogue, n) for n in range(7)]
    newest_first = [job.reference for job in reversed(jobs)]

    pages = [staff_api.get("/jobs", {"page": p, "page_size": 3}).json() for p in (1, 2, 3, 4)]

    assert [[i["reference"] for i in page["items"]] for page in pages] == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:7],
        [],
    ]
    assert {page["count"] for page in pages} == {7}
    assert [page["page"] for page in pages] == [1, 2, 3, 4]
    assert {page["page_size"] for page in pages} == {3}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": 201}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"page": 100_001}, "page"),
    ],
)
def test_pages_out_of_bounds_are_a_422(staff_api, params, field):
    response = staff_api.get("/jobs", params)

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{field}: ")


def test_a_page_of_200_is_allowed(staff_api):
    assert staff_api.get("/jobs", {"page_size": 200}).json()["page_size"] == 200


def test_an_overlong_q_is_a_422(staff_api):
    response = staff_api.get("/jobs", {"q": "x" * 201})

    assert response.status_code == 422


def test_it_runs_the_same_number_of_queries_whatever_the_page_size(staff_api, catalogue, operator):
    staff = Actor.staff(operator)
    for n in range(105):
        material, colour = ("pla", "black") if n % 2 else ("resin", "")
        job = _submit(catalogue, n, material_id=catalogue[material].pk, colour=colour)
        if n % 10 == 0:
            actions.decline_request(job=job, actor=staff, reason="Full")
    staff_api.get("/jobs")  # the token's first use records it; later ones do not write

    counts = {}
    for page_size in (5, 100):
        with CaptureQueriesContext(connection) as queries:
            response = staff_api.get("/jobs", {"page_size": page_size})
        assert len(response.json()["items"]) == page_size
        counts[page_size] = len(queries)

    assert counts[5] == counts[100], counts


def test_filters_do_not_add_queries_per_row(staff_api, catalogue, operator):
    staff = Actor.staff(operator)
    for n in range(30):
        job = _submit(catalogue, n, customer_company="Acme")
        actions.decline_request(job=job, actor=staff, reason="Full")
    staff_api.get("/jobs")
    params = {"state": ["declined", "submitted"], "q": "acme", "material": catalogue["pla"].pk}

    counts = {}
    for page_size in (2, 30):
        with CaptureQueriesContext(connection) as queries:
            response = staff_api.get("/jobs", {**params, "page_size": page_size})
        assert len(response.json()["items"]) == page_size
        counts[page_size] = len(queries)

    assert counts[2] == counts[30], counts
