"""Finding jobs: the filters, text search and sort orders shared by the API's job list and the
desk's queue, so both always agree on what a search means.
"""

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from printdesk.jobs import search_index
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, Note, PrintRun, parse_reference

# Sort keys (a leading "-" means descending) and the columns behind them. Every order ends on
# the id, so pages never repeat or skip a job whose sort value ties with another's.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
    "state_changed": ("state_changed_at", "id"),
    "desired": ("desired_date", "id"),
    "reference": ("id",),
}
DEFAULT_SORT = "-created"


def is_sort(key: str) -> bool:
    return key.removeprefix("-") in SORT_FIELDS


@dataclass(frozen=True)
class JobSearch:
    """What to look for. Empty fields match everything; ids that name nothing match nothing."""

    states: Collection[str] = ()
    created_from: date | None = None
    created_to: date | None = None  # inclusive
    material: int | None = None
    printer: int | None = None
    text: str = ""


def _day_start(day: date) -> datetime | None:
    """Midnight at the start of `day` in the bureau's time zone, or None past the calendar's end."""
    try:
        return timezone.make_aware(datetime.combine(day, time.min))
    except (OverflowError, ValueError):
        return None


def matching(search: JobSearch, *, counting: bool = False) -> QuerySet[Job]:
    """The jobs the search finds, unordered: for listing in some order, or (`counting`) for
    counting them all, which SQLite plans differently (see _with_text)."""
    jobs = Job.objects.all()
    if search.states:
        jobs = jobs.filter(state__in=list(search.states))
    # Dates become a range of instants rather than `created_at__date`: that keeps the filter on
    # the `job_created` index instead of converting every row's timestamp.
    if search.created_from is not None:
        start = _day_start(search.created_from)
        if start is not None:
            jobs = jobs.filter(created_at__gte=start)
    if search.created_to is not None and search.created_to < date.max:
        end = _day_start(search.created_to + timedelta(days=1))
        if end is not None:
            jobs = jobs.filter(created_at__lt=end)
    # Ids are looked up through the related pk (material__pk, not material_id): Django then
    # treats an id too large for the column as matching nothing instead of failing with a 500.
    if search.material is not None:
        jobs = jobs.filter(material__pk=search.material)
    if search.printer is not None:
        # A subquery rather than a join: a job with several runs on the printer is listed once
        # without a DISTINCT over the whole page.
        on_printer = PrintRun.objects.filter(printer__pk=search.printer).values("job_id")
        jobs = jobs.filter(pk__in=on_printer)
    text = search.text.strip()
    if text:
        jobs = _with_text(jobs, text, counting=counting)
    return jobs


# One list of job ids, so SQLite can start from it instead of testing every job against
# several conditions: the jobs whose own columns match, and those with a matching note.
# UNION ALL: IN ignores repeats, so sorting them out first would be wasted work.
MATCHING_IDS = (
    "SELECT rowid FROM jobs_job_search WHERE jobs_job_search MATCH %s "
    "UNION ALL SELECT job_id FROM jobs_note WHERE id IN "
    "(SELECT rowid FROM jobs_note_search WHERE jobs_note_search MATCH %s)"
)


def _with_text(jobs: QuerySet[Job], text: str, *, counting: bool) -> QuerySet[Job]:
    """Jobs matching `text`: reference (PD-00042, pd42, 42), customer name, company, email, the
    request's notes and the bureau's internal notes."""
    number = parse_reference(text)
    if connection.vendor == "sqlite" and len(text) >= search_index.SHORTEST:
        # The same substring question, answered by the trigram index (search_index.py). The
        # SQL is constant; the term and the reference are bound parameters, the term quoted
        # as one FTS phrase.
        term = search_index.phrase(text)
        sql, params = MATCHING_IDS, [term, term]
        if number is not None:
            sql = f"{sql} UNION ALL SELECT CAST(%s AS INTEGER)"
            params.append(str(number))
        ids = RawSQL(sql, params)  # noqa: S611
        if counting:  # start from the matches and fetch each by its id
            return jobs.filter(pk__in=ids)
        # For a page, walk the sort order's index and test each job against the matching
        # ids, stopping at the end of the page. Compared as `id + 0`, which no index serves,
        # so SQLite cannot choose to fetch and sort every match first (at 100,000 jobs: 60 ms
        # instead of 284 when most jobs match, 3 instead of 28 for a common name).
        return jobs.alias(scanned_id=F("id") + 0).filter(scanned_id__in=ids)
    noted = Note.objects.filter(body__icontains=text).values("job_id")
    match = (
        Q(customer_name__icontains=text)
        | Q(customer_email__icontains=text)
        | Q(customer_company__icontains=text)
        | Q(notes__icontains=text)
        | Q(pk__in=noted)
    )
    if number is not None:
        match |= Q(pk=number)
    return jobs.filter(match)


def ordered(jobs: QuerySet[Job], sort: str) -> QuerySet[Job]:
    """`jobs` in the order a sort key names; an unknown key falls back to the newest first."""
    if not is_sort(sort):
        sort = DEFAULT_SORT
    descending = sort.startswith("-")
    columns = [
        # Jobs without a desired date go last either way: they are the least pressing.
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in SORT_FIELDS[sort.removeprefix("-")]
    ]
    return jobs.order_by(*columns)


def count_by_state(search: JobSearch) -> dict[str, int]:
    """How many jobs the search finds in each state (whatever its `states`), in one query."""
    jobs = matching(replace(search, states=()), counting=True).order_by()
    if search.text or search.material is not None or search.printer is not None:
        # One count per state over the rows the filter finds. A GROUP BY would make SQLite
        # walk the state index and fetch every row from it, several times slower than the
        # table scan or the index the filter itself picks.
        per_state = {state: Count("pk", filter=Q(state=state)) for state in JobState.values}
        return jobs.aggregate(**per_state)
    # Unfiltered or by dates only: the (state, created_at) index answers without a row read.
    return dict(jobs.values_list("state").annotate(n=Count("*")))
