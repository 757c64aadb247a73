"""GET /metrics: Prometheus text for monitoring, off unless PRINTDESK_METRICS_TOKEN is set.

Every figure is read from the database when the page is asked for, so any web process gives
the same answer however many there are and however often they restart: jobs, emails, file
analyses and resumable uploads by state, and how long the oldest due email and analysis have
waited. Request counts, rates and durations are in the access log (one line per request,
with status and duration; docs/deploy.md), not here: counting them in memory would give each
gunicorn process its own partial figures.

Written out by hand rather than with prometheus_client: a handful of gauges read on demand
need only its text format, which is a few lines.
"""

import hmac
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache

from printdesk.files import analysis
from printdesk.files.models import Analysis, AnalysisState
from printdesk.health import oldest_wait_seconds
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job
from printdesk.notifications import sender
from printdesk.notifications.models import Notification, NotificationState
from printdesk.uploads.models import TusUpload, UploadState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _gauge(name: str, help_text: str, samples: Iterable[tuple[str, float]]) -> list[str]:
    """One metric family: its HELP and TYPE lines, then a line per (labels, value)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return lines


def _by_state(model: type[Model], states: Iterable[str]) -> list[tuple[str, float]]:
    # order_by(): a model's default ordering would split the groups.
    rows = model._default_manager.order_by().values("state").annotate(n=Count("pk"))
    counts = {row["state"]: row["n"] for row in rows}
    return [(f'{{state="{state}"}}', counts.get(state, 0)) for state in states]


def exposition() -> str:
    """The whole page, as Prometheus' text format wants it."""
    notification_wait = oldest_wait_seconds(Notification.objects.all(), sender.due())
    analysis_wait = oldest_wait_seconds(Analysis.objects.all(), analysis.due())
    lines = [
        *_gauge("printdesk_jobs", "Jobs by state.", _by_state(Job, JobState.values)),
        *_gauge(
            "printdesk_notifications",
            "Emails in the outbox by state.",
            _by_state(Notification, NotificationState.values),
        ),
        *_gauge(
            "printdesk_notifications_oldest_due_seconds",
            "How long the oldest email due for sending has waited.",
            [("", notification_wait)],
        ),
        *_gauge(
            "printdesk_analyses",
            "File analyses by state.",
            _by_state(Analysis, AnalysisState.values),
        ),
        *_gauge(
            "printdesk_analyses_oldest_due_seconds",
            "How long the oldest file due for analysis has waited.",
            [("", analysis_wait)],
        ),
        *_gauge(
            "printdesk_uploads",
            "Resumable uploads by state.",
            _by_state(TusUpload, UploadState.values),
        ),
    ]
    return "\n".join(lines) + "\n"


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    # Without the token the page does not exist, whatever the method: nothing to discover.
    if not _authorised(request):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
