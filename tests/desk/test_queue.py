"""GET /desk/: the operators' queue with its tabs, filters, search, sorting and pages."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job

pytestmark = pytest.mark.usefixtures("fresh_cache")

QUEUE = "/desk/"


def _refs(response) -> list[str]:
    """The references listed, in page order."""
    assert response.status_code == 200
    return re.findall(r'<td><a href="/desk/jobs/(PD-\d+)/">', response.content.decode())


def _age(job: Job, **delta) -> None:
    Job.objects.filter(pk=job.pk).update(state_changed_at=timezone.now() - timedelta(**delta))


# --- who may see it ---------------------------------------------------------------------------


def test_an_operator_sees_the_queue(desk, make_job):
    job, _ = make_job(customer_company="Cogs Ltd", colour="white")

    response = desk.get(QUEUE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Queue</h1>" in html
    assert _refs(response) == [job.reference]
    assert "Cara Customer" in html and "Cogs Ltd" in html and "cara@example.com" in html
    assert "PLA" in html and "white" in html
    assert '<span class="badge state-submitted">Submitted</span>' in html


def test_an_admin_sees_the_queue(client, admin, make_job):
    job, _ = make_job()
    client.force_login(admin)

    assert _refs(client.get(QUEUE)) == [job.reference]


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(QUEUE + "?q=x")

    assert response.status_code == 302
    assert response["Location"] == "/desk/login/?next=/desk/%3Fq%3Dx"


def test_a_user_who_is_not_staff_is_refused(client, stranger_user):
    client.force_login(stranger_user)

    assert client.get(QUEUE).status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_queue_only_answers_get(desk, method):
    assert getattr(desk, method)(QUEUE).status_code == 405


def test_each_row_links_to_the_job_page(desk, make_job):
    job, _ = make_job()

    response = desk.get(QUEUE)

    assert f'href="/desk/jobs/{job.reference}/"' in response.content.decode()
    assert desk.get(f"/desk/jobs/{job.reference}/").status_code == 200


# --- tabs -----------------------------------------------------------------------------------


def test_the_active_tab_is_the_default_and_hides_finished_jobs(desk, make_job):
    submitted, _ = make_job()
    quoted, _ = make_job(JobState.QUOTED)
    make_job(JobState.DISPATCHED)
    make_job(JobState.CANCELLED)

    assert _refs(desk.get(QUEUE)) == [quoted.reference, submitted.reference]


def test_a_state_tab_lists_that_state_and_all_lists_everything(desk, make_job):
    make_job()
    dispatched, _ = make_job(JobState.DISPATCHED)
    cancelled, _ = make_job(JobState.CANCELLED)

    assert _refs(desk.get(QUEUE, {"state": "dispatched"})) == [dispatched.reference]
    assert len(_refs(desk.get(QUEUE, {"state": "all"}))) == 3
    assert cancelled.reference in _refs(desk.get(QUEUE, {"state": "all"}))


def test_tabs_show_counts_and_the_current_tab(desk, make_job):
    make_job()
    make_job()
    make_job(JobState.QUOTED)
    make_job(JobState.DISPATCHED)

    html = desk.get(QUEUE, {"state": "submitted"}).content.decode()

    assert 'href="?state=active">Active <span class="tab-count">3</span>' in html
    assert (
        'href="?state=submitted" aria-current="page">Submitted <span class="tab-count">2</span>'
        in html
    )
    assert '>Quoted <span class="tab-count">1</span>' in html
    assert '>Dispatched <span class="tab-count">1</span>' in html
    assert '>Cancelled <span class="tab-count">0</span>' in html
    assert '>All <span class="tab-count">4</span>' in html


def test_tabs_count_only_what_the_filters_match_and_keep_the_filters(desk, make_job):
    make_job(customer_name="Ellen Ripley")
    make_job(JobState.DISPATCHED, customer_name="Ellen Ripley")
    make_job()

    html = desk.get(QUEUE, {"q": "ripley"}).content.decode()

    active = 'href="?state=active&amp;q=ripley" aria-current="page">Active'
    assert active + ' <span class="tab-count">1</span>' in html
    assert (
        'href="?state=dispatched&amp;q=ripley">Dispatched <span class="tab-count">1</span>' in html
    )
    assert '>All <span class="tab-count">2</span>' in html


# --- filters ------------------------------------------------------------------------------------


def test_it_filters_by_creation_date_inclusive(desk, make_job):
    today = timezone.localdate()
    refs = {}
    for days_ago in (10, 5, 0):
        job, _ = make_job()
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        refs[days_ago] = job.reference
    five_days_ago = str(today - timedelta(days=5))

    assert _refs(desk.get(QUEUE, {"created_from": five_days_ago})) == [refs[0], refs[5]]
    assert _refs(desk.get(QUEUE, {"created_to": five_days_ago})) == [refs[5], refs[10]]
    between = {"created_from": five_days_ago, "created_to": five_days_ago}
    assert _refs(desk.get(QUEUE, between)) == [refs[5]]


def test_it_filters_by_material(desk, make_job, catalogue):
    make_job()
    resin, _ = make_job(material_id=catalogue["resin"].pk, colour="")

    assert _refs(desk.get(QUEUE, {"material": catalogue["resin"].pk})) == [resin.reference]


def test_it_filters_by_printer_listing_each_job_once(desk, make_job, catalogue, operator):
    staff = Actor.staff(operator)
    on_mk4, _ = make_job(JobState.IN_PRODUCTION)
    for _ in range(2):
        actions.add_run(job=on_mk4, actor=staff, quantity=1, printer_id=catalogue["mk4"].pk)
    on_form, _ = make_job(JobState.IN_PRODUCTION)
    actions.add_run(job=on_form, actor=staff, quantity=1, printer_id=catalogue["form"].pk)
    make_job(JobState.IN_PRODUCTION)

    response = desk.get(QUEUE, {"printer": catalogue["mk4"].pk})

    assert _refs(response) == [on_mk4.reference]
    assert "Showing 1\u20131 of 1 job in “Active”, filtered." in response.content.decode()


def test_filters_combine(desk, make_job, catalogue):
    make_job(customer_name="Ellen Ripley")
    wanted, _ = make_job(customer_name="Ellen Ripley", material_id=catalogue["resin"].pk, colour="")
    make_job(material_id=catalogue["resin"].pk, colour="")

    response = desk.get(QUEUE, {"q": "ripley", "material": catalogue["resin"].pk})

    assert _refs(response) == [wanted.reference]


def test_the_form_shows_the_filters_in_use(desk, make_job, catalogue):
    make_job()

    html = desk.get(
        QUEUE, {"q": "ripley", "material": catalogue["resin"].pk, "created_from": "2026-01-02"}
    ).content.decode()

    assert '<label for="id_q">Search</label>' in html
    assert 'name="q" value="ripley"' in html
    assert f'<option value="{catalogue["resin"].pk}" selected>Tough resin</option>' in html
    assert 'name="created_from" value="2026-01-02"' in html
    assert '<button type="submit">Apply filters</button>' in html
    assert "Clear filters" in html


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["{ref}", "{ref_lower}", "pd{pk}", "{pk}"])
def test_search_finds_a_job_by_any_spelling_of_its_reference(desk, make_job, spelling):
    for _ in range(3):
        make_job(customer_email="someone@example.com")
    job = Job.objects.order_by("id")[1]
    q = spelling.format(ref=job.reference, ref_lower=job.reference.lower(), pk=job.pk)

    assert _refs(desk.get(QUEUE, {"q": q})) == [job.reference]


@pytest.mark.parametrize("q", ["ellen", "RIPLEY", "ripley@weyland", "yutani corp", "airlock"])
def test_search_covers_name_email_company_and_request_notes(desk, make_job, q):
    make_job()
    ripley, _ = make_job(
        customer_name="Ellen Ripley",
        customer_email="ripley@weyland.example",
        customer_company="Weyland-Yutani Corp",
        notes="Spare parts for the airlock",
    )

    assert _refs(desk.get(QUEUE, {"q": q})) == [ripley.reference]


def test_search_covers_internal_notes(desk, make_job, operator):
    make_job()
    noted, _ = make_job()
    actions.add_note(job=noted, actor=Actor.staff(operator), body="Customer phoned about infill")

    assert _refs(desk.get(QUEUE, {"q": "INFILL"})) == [noted.reference]


def test_an_empty_result_says_so(desk, make_job):
    make_job()

    response = desk.get(QUEUE, {"q": "nobody-like-this"})

    assert _refs(response) == []
    assert "No jobs match these filters in this tab." in response.content.decode()


def test_an_empty_queue_says_so(desk):
    html = desk.get(QUEUE).content.decode()

    assert "No jobs match in this tab." in html


# --- sorting ------------------------------------------------------------------------------------


def test_it_sorts_by_each_whitelisted_key(desk, make_job):
    old, _ = make_job()
    new, _ = make_job()
    today = timezone.localdate()
    Job.objects.filter(pk=old.pk).update(desired_date=today + timedelta(days=3))
    Job.objects.filter(pk=new.pk).update(desired_date=today + timedelta(days=9))
    _age(new, days=2)  # the newer job has waited longer in its state
    Job.objects.filter(pk=old.pk).update(updated_at=timezone.now() + timedelta(minutes=1))

    def order(sort: str) -> list[str]:
        return _refs(desk.get(QUEUE, {"sort": sort}))

    oldest_first = [old.reference, new.reference]
    newest_first = oldest_first[::-1]
    assert order("-created") == newest_first
    assert order("created") == oldest_first
    assert order("reference") == oldest_first
    assert order("-reference") == newest_first
    assert order("desired") == oldest_first
    assert order("-desired") == newest_first
    assert order("state_changed") == newest_first
    assert order("-state_changed") == oldest_first
    assert order("-updated") == oldest_first
    assert order("updated") == newest_first


def test_jobs_without_a_desired_date_sort_last(desk, make_job):
    undated, _ = make_job()
    dated, _ = make_job(desired_date=timezone.localdate() + timedelta(days=30))

    assert _refs(desk.get(QUEUE, {"sort": "desired"})) == [dated.reference, undated.reference]
    assert _refs(desk.get(QUEUE, {"sort": "-desired"})) == [dated.reference, undated.reference]


def test_column_headers_sort_and_say_how(desk, make_job):
    make_job()

    html = desk.get(QUEUE, {"sort": "created", "q": "cara"}).content.decode()

    assert '<th scope="col" aria-sort="ascending"><a href="?q=cara&amp;sort=-created">' in html
    assert '<th scope="col" aria-sort="none"><a href="?q=cara&amp;sort=desired">' in html


# --- pages --------------------------------------------------------------------------------------


def test_it_pages_and_page_links_keep_the_filters(desk, make_job, settings):
    settings.DESK_PAGE_SIZE = 2
    jobs = [make_job(customer_company="Acme")[0] for _ in range(5)]
    make_job()  # filtered out
    newest_first = [job.reference for job in reversed(jobs)]
    params = {"q": "acme", "sort": "-created"}

    first = desk.get(QUEUE, params)
    third = desk.get(QUEUE, {**params, "page": 3})

    assert _refs(first) == newest_first[:2]
    assert _refs(desk.get(QUEUE, {**params, "page": 2})) == newest_first[2:4]
    assert _refs(third) == newest_first[4:]
    html = first.content.decode()
    assert "Page 1 of 3" in html
    assert 'href="?q=acme&amp;page=2" rel="next">Next</a>' in html
    assert 'href="?q=acme&amp;page=3">Last</a>' in html
    assert 'href="?q=acme&amp;page=2" rel="prev">Previous</a>' in third.content.decode()
    assert "Showing 5\u20135 of 5 jobs" in third.content.decode()


@pytest.mark.parametrize("page", ["999999", "99999999999999999999999999", "-3", "0", "two", ""])
def test_a_page_out_of_range_shows_the_nearest_page(desk, make_job, settings, page):
    settings.DESK_PAGE_SIZE = 2
    jobs = [make_job()[0] for _ in range(3)]

    response = desk.get(QUEUE, {"page": page})

    refs = _refs(response)
    assert refs in ([jobs[0].reference], [jobs[2].reference, jobs[1].reference])


# --- age badge ----------------------------------------------------------------------------------


def test_a_job_waiting_past_its_states_limit_gets_an_age_badge(desk, make_job, settings):
    settings.JOB_AGE_LIMIT_HOURS = {**settings.JOB_AGE_LIMIT_HOURS, "submitted": 24}
    late, _ = make_job()
    on_time, _ = make_job()
    _age(late, days=3, minutes=5)
    _age(on_time, hours=23)

    html = desk.get(QUEUE).content.decode()

    assert html.count('class="badge badge-late"') == 1
    assert '<span class="badge badge-late">waiting 3 days</span>' in html
    assert "23 hours" in html


def test_the_age_badge_follows_the_clock(desk, make_job, operator, clock):
    make_job()
    assert "badge-late" not in desk.get(QUEUE).content.decode()

    clock.advance(days=2)
    desk.force_login(operator)  # two days on, the staff session has ended (issue 6)

    assert "badge badge-late" in desk.get(QUEUE).content.decode()


def test_finished_jobs_never_get_an_age_badge(desk, make_job):
    done, _ = make_job(JobState.DISPATCHED)
    _age(done, days=400)

    assert "badge-late" not in desk.get(QUEUE, {"state": "all"}).content.decode()


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "last tuesday"},
        {"created_to": "2026-02-30"},
        {"created_from": "9999-12-31", "created_to": "9999-12-31"},
        {"created_from": "0001-01-01"},
        {"material": "9223372036854775807"},
        {"material": "abc"},
        {"printer": "99999999999999999999999"},
        {"sort": "customer_name; DROP TABLE jobs_job"},
        {"state": "lost"},
        {"q": "x" * 500},
        {"q": "%_\\'\""},
        {"page": "1e9"},
    ],
)
def test_bad_filter_values_never_fail(desk, make_job, params):
    _job, _ = make_job()

    response = desk.get(QUEUE, params)

    assert response.status_code == 200
    assert "<h1>Queue</h1>" in response.content.decode()


def test_a_value_the_form_cannot_read_is_ignored_and_explained(desk, make_job):
    job, _ = make_job()

    response = desk.get(QUEUE, {"created_from": "last tuesday", "material": "0"})

    html = response.content.decode()
    assert _refs(response) == [job.reference]
    assert "Some filters were not understood and are ignored" in html
    assert '<p class="field-error" id="id_created_from_error">Enter a valid date.' in html
    assert 'aria-describedby="id_created_from_error"' in html
    assert "Material: Select a valid choice." in html
    # The links on the page carry on only what was understood.
    assert "last+tuesday" not in html and "material=0" not in html


# --- cost ---------------------------------------------------------------------------------------


def _queries(client, params) -> int:
    cache.clear()
    client.get(QUEUE, params)  # the dashboard figures, computed once and cached
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE, params)
    assert response.status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_queries_for_5_or_50_jobs_whatever_the_filters(
    desk, make_job, catalogue, operator, settings
):
    settings.DESK_PAGE_SIZE = 50
    staff = Actor.staff(operator)
    filters = [
        {},
        {"state": "all", "sort": "desired"},
        {"q": "cara", "material": catalogue["pla"].pk, "printer": catalogue["mk4"].pk},
        {"created_from": "2020-01-01", "created_to": "2099-01-01", "sort": "state_changed"},
    ]
    counts = {}
    for total in (5, 50):
        while Job.objects.count() < total:
            job, _ = make_job(JobState.IN_PRODUCTION)
            actions.add_run(job=job, actor=staff, quantity=1, printer_id=catalogue["mk4"].pk)
            actions.add_note(job=job, actor=staff, body="Cara asked for a call")
        for n, params in enumerate(filters):
            counts[total, n] = _queries(desk, params)
            assert len(_refs(desk.get(QUEUE, params))) == total

    assert len(set(counts.values())) == 1, counts
    assert max(counts.values()) <= 8, counts
