"""The figures at the top of the queue: jobs per state, requests this week, how long customers
wait for a first quote and for their parts, and requests and dispatches per week.

Every query reads an indexed time range (`job_created`, `audit_event_time`) or the state
index, so the cost stays flat as the years of finished jobs pile up. The figures are cached
for a minute: they describe weeks, and the queue page is opened far more often than that.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from printdesk.jobs.lifecycle import EventType
from printdesk.jobs.models import AuditEvent, Job
from printdesk.jobs.search import JobSearch, count_by_state

CACHE_KEY = "desk:dashboard:v1"
CACHE_SECONDS = 60
WEEKS = 12
MEDIAN_DAYS = 30


@dataclass(frozen=True)
class Week:
    start: date
    requests: int
    dispatches: int


@dataclass(frozen=True)
class Dashboard:
    states: dict[str, int]
    weeks: list[Week]
    to_first_quote: timedelta | None  # median over the quotes counted; None: nothing to count
    quotes_counted: int
    to_dispatch: timedelta | None
    dispatches_counted: int
    computed_at: datetime = field(default_factory=timezone.now)

    @property
    def requests_this_week(self) -> int:
        return self.weeks[-1].requests


def median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def week_starts(today: date, count: int = WEEKS) -> list[date]:
    """The Mondays of the last `count` weeks, oldest first, the current week last."""
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in reversed(range(count))]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _per_week(rows, starts: list[date]) -> list[int]:
    """One COUNT per week over `rows` (a queryset with a `created_at`), in a single query."""
    bounds = [_midnight(day) for day in starts]
    counts = {}
    for n, start in enumerate(bounds):
        in_week = Q(created_at__gte=start)
        if n + 1 < len(bounds):
            in_week &= Q(created_at__lt=bounds[n + 1])
        counts[f"week{n}"] = Count("id", filter=in_week)
    totals = rows.filter(created_at__gte=bounds[0]).aggregate(**counts)
    return [totals[f"week{n}"] for n in range(len(starts))]


def _waits(events) -> list[timedelta]:
    """For each audit event, how long after the job's request it happened."""
    # Subtracted here rather than in SQL: SQLite's date arithmetic is a Python function called
    # per row, several times slower than reading both timestamps.
    pairs = events.order_by().values_list("created_at", "job__created_at")
    return [event_at - requested_at for event_at, requested_at in pairs]


def compute() -> Dashboard:
    """Five queries: states, weekly requests, weekly dispatches, first quotes, dispatches."""
    now = timezone.now()
    starts = week_starts(timezone.localdate(now))
    since = now - timedelta(days=MEDIAN_DAYS)
    quotes = AuditEvent.objects.filter(event=EventType.QUOTE_SENT)
    dispatches = AuditEvent.objects.filter(event=EventType.DISPATCHED)
    # A revised quote is not the customer's first answer: only a job's earliest quote counts.
    earlier_quote = quotes.filter(job=OuterRef("job"), created_at__lt=OuterRef("created_at"))
    first_quotes = _waits(quotes.filter(created_at__gte=since).exclude(Exists(earlier_quote)))
    dispatch_waits = _waits(dispatches.filter(created_at__gte=since))
    requests = _per_week(Job.objects.all(), starts)
    dispatched = _per_week(dispatches, starts)
    return Dashboard(
        states=count_by_state(JobSearch()),
        weeks=[Week(*row) for row in zip(starts, requests, dispatched, strict=True)],
        to_first_quote=median(first_quotes),
        quotes_counted=len(first_quotes),
        to_dispatch=median(dispatch_waits),
        dispatches_counted=len(dispatch_waits),
        computed_at=now,
    )


def current() -> Dashboard:
    """The figures, at most a minute old."""
    figures = cache.get(CACHE_KEY)
    if not isinstance(figures, Dashboard):
        figures = compute()
        cache.set(CACHE_KEY, figures, CACHE_SECONDS)
    return figures


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    kind: str  # "requests" or "dispatches": the CSS class that colours it


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: int  # the largest weekly figure: the height of the drawing area
    baseline: float
    summary: str


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 360, 120, 4


def chart(weeks: list[Week]) -> Chart:
    """Two bars per week, drawn to scale: the geometry of a small SVG, computed here so the
    template only places rectangles."""
    top = max([1, *(w.requests for w in weeks), *(w.dispatches for w in weeks)])
    slot = CHART_WIDTH / len(weeks)
    bar_width = (slot - CHART_PAD) / 2
    baseline = CHART_HEIGHT - 1.0
    scale = (CHART_HEIGHT - 2) / top
    bars = []
    for n, week in enumerate(weeks):
        left = n * slot + CHART_PAD / 2
        when = week.start.strftime("%d %b")
        for offset, kind, value in (
            (0.0, "requests", week.requests),
            (bar_width, "dispatches", week.dispatches),
        ):
            height = round(value * scale, 1)
            bars.append(
                Bar(
                    x=round(left + offset, 1),
                    y=round(baseline - height, 1),
                    width=round(bar_width, 1),
                    height=height,
                    label=f"Week of {when}: {value} {kind}",
                    kind=kind,
                )
            )
    total_requests = sum(w.requests for w in weeks)
    total_dispatches = sum(w.dispatches for w in weeks)
    summary = (
        f"Requests and dispatches per week over the last {len(weeks)} weeks: "
        f"{total_requests} requests and {total_dispatches} dispatches in all; "
        f"this week {weeks[-1].requests} requests and {weeks[-1].dispatches} dispatches."
    )
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, top, baseline, summary)
