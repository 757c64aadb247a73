"""The queue: every job, by state, filtered, searched, sorted and paged, under the dashboard
strip; and the same list as a CSV file.

The page costs the same few queries whatever it shows: the materials and printers (for the
filter form, and the rows' material names), one for the tab counts, one for the page of jobs,
one for the page's thumbnails, and the dashboard's, which are cached for a minute. Badges and
durations are worked out in Python.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from printdesk.catalogue.models import Material, Printer
from printdesk.desk import dashboard, queue_export
from printdesk.desk.access import staff_required
from printdesk.desk.queue_filters import TABS, QueueQuery, read, tab_states
from printdesk.files.models import FileVersion
from printdesk.jobs import search
from printdesk.jobs.lifecycle import OPEN_STATES, JobState
from printdesk.jobs.models import Job


def span_words(span: timedelta) -> str:
    """A duration as an operator reads it: minutes, then hours up to two days, then days."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        number, unit = minutes, "minute"
    elif minutes < 48 * 60:
        number, unit = minutes // 60, "hour"
    else:
        number, unit = minutes // (24 * 60), "day"
    return f"{number} {unit}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class Thumbnail:
    url: str
    alt: str


@dataclass(frozen=True)
class Row:
    """One line of the queue, with everything it shows worked out here: a page of fifty rows
    costs far less in Python than in template filters and `{% url %}` tags."""

    job: Job
    url: str
    state_label: str
    material: str
    created: str
    created_iso: str
    desired: str
    desired_iso: str
    in_state: str
    late: bool
    thumbnail: Thumbnail | None


def _thumbnails(jobs: list[Job]) -> dict[int, Thumbnail]:
    """Each job's first file, as its latest version's thumbnail: one query for the whole page.

    A job holds a few files of a few versions, so reading them all and keeping the first file's
    newest version here is cheaper than asking the database for a per-job maximum.
    """
    versions = (
        FileVersion.objects.filter(job_file__job__in=[job.pk for job in jobs])
        .order_by("job_file__job_id", "job_file_id", "-number")
        .values_list("job_file__job_id", "pk", "job_file__name", "analysis__thumbnail")
    )
    # One reverse() for the page: every thumbnail URL has the same shape.
    shape = reverse("desk:file_thumbnail", args=["REF", 123456789])
    references = {job.pk: job.reference for job in jobs}
    found: dict[int, Thumbnail] = {}
    seen: set[int] = set()
    for job_id, version_id, name, thumbnail in versions:
        if job_id in seen:
            continue  # an older version, or a later file
        seen.add(job_id)
        if thumbnail:
            url = shape.replace("REF", references[job_id]).replace("123456789", str(version_id))
            found[job_id] = Thumbnail(url, f"Preview of {name}")
    return found


def _rows(jobs: list[Job], materials: dict[int, Material], now: datetime) -> list[Row]:
    # Every job link has the same shape: one reverse() instead of one per row.
    url = reverse("desk:job", args=["PD-0"]).removesuffix("PD-0/")
    thumbnails = _thumbnails(jobs) if jobs else {}
    limits = settings.JOB_AGE_LIMIT_HOURS
    rows = []
    for job in jobs:
        waited = now - job.state_changed_at
        limit = limits.get(job.state)
        created = timezone.localtime(job.created_at)
        desired = job.desired_date
        rows.append(
            Row(
                job=job,
                url=f"{url}{job.reference}/",
                state_label=JobState(job.state).label,
                # The materials are already loaded for the filter form: joining them into the
                # page's query would make SQLite plan it from the material table and sort
                # every job.
                material=materials[job.material_id].name,
                created=f"{created.day} {created:%b %Y}",
                created_iso=created.isoformat(),
                desired=f"{desired.day} {desired:%b %Y}" if desired else "",
                desired_iso=desired.isoformat() if desired else "",
                in_state=span_words(waited),
                late=limit is not None and waited > timedelta(hours=limit),
                thumbnail=thumbnails.get(job.pk),
            )
        )
    return rows


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    count: int
    url: str
    current: bool


def _tabs(query: QueueQuery, counts: dict[str, int]) -> list[Tab]:
    return [
        Tab(
            key=key,
            label=label,
            count=sum(counts.get(state, 0) for state in tab_states(key)),
            url=query.url(state=key, page=None),
            current=key == query.tab,
        )
        for key, label in TABS
    ]


@dataclass(frozen=True)
class SortLink:
    url: str
    direction: str  # "ascending", "descending" or "none", for aria-sort


def _sort_links(query: QueueQuery) -> dict[str, SortLink]:
    """Column headers that sort by their column, and the other way round when they already do."""
    links = {}
    for key in search.SORT_FIELDS:
        if query.sort == key:
            links[key] = SortLink(query.url(sort=f"-{key}", page=None), "ascending")
        elif query.sort == f"-{key}":
            links[key] = SortLink(query.url(sort=key, page=None), "descending")
        else:
            links[key] = SortLink(query.url(sort=key, page=None), "none")
    return links


@require_safe
@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    materials = {material.pk: material for material in Material.objects.all()}
    query = read(request.GET, materials=materials.values(), printers=Printer.objects.all())
    counts = search.count_by_state(query.search)
    total = sum(counts.get(state, 0) for state in query.states)
    size = settings.DESK_PAGE_SIZE
    last_page = max(1, -(-total // size))
    page = min(query.page, last_page)
    jobs = search.ordered(search.matching(query.listed), query.sort)
    now = timezone.now()
    rows = _rows(list(jobs[(page - 1) * size : page * size]), materials, now)
    tabs = _tabs(query, counts)
    figures = dashboard.current()
    # Unfiltered, the tab counts are the freshest figures for the strip; filtered, they are not
    # the whole queue, so the strip keeps the cached ones.
    states = figures.states if query.is_filtered else counts
    context = {
        "query": query,
        "form": query.form,
        "tabs": tabs,
        "current_tab": next(tab for tab in tabs if tab.current),
        "rows": rows,
        "total": total,
        "page": page,
        "last_page": last_page,
        "first_row": (page - 1) * size + 1,
        "last_row": (page - 1) * size + len(rows),
        "previous_url": query.url(page=page - 1) if page > 1 else None,
        "next_url": query.url(page=page + 1) if page < last_page else None,
        "first_url": query.url(page=None),
        "last_url": query.url(page=last_page),
        "sort_links": _sort_links(query),
        "export_url": reverse("desk:queue_export") + query.url(page=None),
        "clear_url": query.url(
            q=None, created_from=None, created_to=None, material=None, printer=None, page=None
        ),
        "figures": figures,
        "strip_states": _in_order(states),
        "open_jobs": sum(states.get(state, 0) for state in OPEN_STATES),
        "chart": dashboard.chart(figures.weeks),
        "to_first_quote": _maybe_words(figures.to_first_quote),
        "to_dispatch": _maybe_words(figures.to_dispatch),
    }
    return render(request, "desk/queue/queue.html", context)


def _in_order(states: dict[str, int]) -> list[tuple[str, int]]:
    return [(JobState(state).label, states.get(state, 0)) for state in JobState.values]


def _maybe_words(span: timedelta | None) -> str:
    return "—" if span is None else span_words(span)


@require_safe
@staff_required
def export(request: HttpRequest) -> HttpResponseBase:
    materials = {material.pk: material for material in Material.objects.all()}
    query = read(request.GET, materials=materials.values(), printers=Printer.objects.all())
    jobs = search.ordered(search.matching(query.listed), query.sort)
    return queue_export.csv_response(jobs, materials)


urlpatterns = [
    path("", queue, name="queue"),
    path("export.csv", export, name="queue_export"),
]
