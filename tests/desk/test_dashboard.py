"""The dashboard strip at the top of the queue: jobs per state, requests this week, median
waits for a first quote and for dispatch, and the weekly chart."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from printdesk.desk import dashboard
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from printdesk.lib.demo import drive_to, send_quote

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _strip(html: str) -> str:
    return html.split('<section class="dashboard card"', 1)[1].split("</section>", 1)[0]


def test_medians_count_first_quotes_and_dispatches_of_the_last_30_days(make_job, operator, clock):
    staff = Actor.staff(operator)
    make_job(JobState.QUOTED)  # quoted at once, but 31 days before "now": outside the window
    clock.advance(days=31)
    a, b, c = (make_job()[0] for _ in range(3))
    clock.advance(days=1)
    drive_to(a, JobState.QUOTED, staff)  # 1 day
    clock.advance(days=2)
    drive_to(b, JobState.DISPATCHED, staff)  # quoted and dispatched after 3 days
    clock.advance(days=2)
    drive_to(c, JobState.QUOTED, staff)  # 5 days
    send_quote(Job.objects.get(pk=a.pk), staff)  # a revised quote: not a first one

    figures = dashboard.compute()

    assert figures.quotes_counted == 3
    assert abs(figures.to_first_quote - timedelta(days=3)) < timedelta(minutes=1)
    assert figures.dispatches_counted == 1
    assert abs(figures.to_dispatch - timedelta(days=3)) < timedelta(minutes=1)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two():
    waits = [timedelta(hours=h) for h in (5, 1, 3, 10)]

    assert dashboard.median(waits) == timedelta(hours=4)
    assert dashboard.median([]) is None


def test_weekly_requests_and_dispatches_cover_twelve_weeks(make_job):
    now = timezone.now()
    for weeks_ago in (0, 0, 1, 11, 12, 30):
        job, _ = make_job()
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(weeks=weeks_ago))
    make_job(JobState.DISPATCHED)  # requested and dispatched this week

    figures = dashboard.compute()

    assert len(figures.weeks) == 12
    assert [w.start.weekday() for w in figures.weeks] == [0] * 12  # Mondays
    assert figures.weeks[-1].start <= timezone.localdate() < figures.weeks[-1].start + timedelta(7)
    assert [w.requests for w in figures.weeks] == [1] + [0] * 9 + [1, 3]
    assert figures.requests_this_week == 3
    assert [w.dispatches for w in figures.weeks] == [0] * 11 + [1]


def test_jobs_per_state_count_the_whole_queue(make_job):
    make_job()
    make_job()
    make_job(JobState.CANCELLED)

    states = dashboard.compute().states

    assert states == {"submitted": 2, "cancelled": 1}


def test_the_strip_shows_the_figures_and_a_chart_with_its_numbers(desk, make_job, operator, clock):
    job, _ = make_job()
    make_job(JobState.QUOTED)
    clock.advance(days=2)
    drive_to(job, JobState.DISPATCHED, Actor.staff(operator))
    desk.force_login(operator)  # two days on, the staff session has ended (issue 6)

    html = _strip(desk.get("/desk/").content.decode())

    assert '<h2 id="dashboard-heading">At a glance</h2>' in html
    assert "<dt>Open jobs</dt><dd>1</dd>" in html
    # Quoted at once and after two days: the median is one day.
    assert re.search(r"Median time to first quote.*?<dd>24 hours <span", html, re.S)
    assert re.search(r"Median time to dispatch.*?<dd>2 days <span", html, re.S)
    assert "Dispatched: <strong>1</strong>" in html and "Quoted: <strong>1</strong>" in html
    svg = re.search(
        r"<svg role=\"img\" aria-labelledby=\"weekly-chart-title\".*?</svg>", html, re.S
    )
    assert svg is not None
    assert '<title id="weekly-chart-title">Requests and dispatches per week' in svg.group(0)
    assert svg.group(0).count('class="bar bar-requests"') == 12
    assert svg.group(0).count('class="bar bar-dispatches"') == 12
    assert "<summary>Weekly figures</summary>" in html
    assert html.count("<tr><td>") == 12


def test_without_data_the_medians_say_so(desk):
    html = _strip(desk.get("/desk/").content.decode())

    assert html.count("<dd>—</dd>") == 2
    assert "0 requests and 0 dispatches in all" in html


def test_filtered_queue_keeps_whole_queue_figures_in_the_strip(desk, make_job):
    make_job(customer_name="Ellen Ripley")
    make_job()

    html = _strip(desk.get("/desk/", {"q": "ripley"}).content.decode())

    assert "Submitted: <strong>2</strong>" in html
    assert 'aria-label="Jobs per state, whole queue"' in html


def test_the_figures_are_cached_for_a_minute(make_job):
    make_job()
    assert dashboard.current().requests_this_week == 1

    make_job()

    assert dashboard.current().requests_this_week == 1
    cache.clear()
    assert dashboard.current().requests_this_week == 2


def test_the_chart_scales_bars_to_the_busiest_week():
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    weeks = [dashboard.Week(monday - timedelta(weeks=n), 0, 0) for n in range(11, 0, -1)]
    weeks.append(dashboard.Week(monday, 4, 2))

    chart = dashboard.chart(weeks)

    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.label.endswith("4 requests") and tallest.y == 1.0
    half = next(bar for bar in chart.bars if bar.label.endswith("2 dispatches"))
    assert half.height == pytest.approx(tallest.height / 2, abs=0.1)
    assert "this week 4 requests and 2 dispatches" in chart.summary
