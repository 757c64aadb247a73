"""Liveness and readiness.

- `GET /healthz`: the process answers. Nothing else is asked, so a slow database never gets a
  healthy web process restarted.
- `GET /readyz`: 200 when the database and file storage answer and the workers keep up (the
  oldest email due for sending and the oldest file due for analysis have not waited longer than
  `READY_MAX_NOTIFICATION_WAIT_S` / `READY_MAX_ANALYSIS_WAIT_S`); 503 naming what failed.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Min, Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from printdesk.files import analysis
from printdesk.files.models import Analysis
from printdesk.notifications import sender
from printdesk.notifications.models import Notification

log = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("readiness: database check failed")
        return False


def _storage_ok() -> bool:
    # listdir("") asks the backend itself (the folder on disk, the bucket on S3): it fails when
    # the storage is missing or unreachable, and it writes nothing.
    try:
        default_storage.listdir("")
        return True
    except Exception:
        log.exception("readiness: storage check failed")
        return False


def oldest_wait_seconds(rows: QuerySet, due: Q) -> float:
    """How long the longest-waiting due row has been due (0 when none is)."""
    since: datetime | None = rows.filter(due).aggregate(since=Min("next_attempt_at"))["since"]
    return max(0.0, (timezone.now() - since).total_seconds()) if since else 0.0


def _queue_ok(name: str, rows: QuerySet, due: Q, limit: int) -> tuple[bool, float]:
    try:
        waited = oldest_wait_seconds(rows, due)
    except Exception:
        log.exception("readiness: the %s queue could not be read", name)
        return False, 0.0
    if limit and waited > limit:
        log.warning(
            "readiness: the oldest due %s has waited %.0f s (limit %s)", name, waited, limit
        )
        return False, waited
    return True, waited


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "storage": _storage_ok()}
    waits: dict[str, float] = {}
    if checks["database"]:
        queues = [
            ("notifications", Notification.objects.all(), sender.due()),
            ("analysis", Analysis.objects.all(), analysis.due()),
        ]
        limits = {
            "notifications": settings.READY_MAX_NOTIFICATION_WAIT_S,
            "analysis": settings.READY_MAX_ANALYSIS_WAIT_S,
        }
        for name, rows, due in queues:
            checks[name], waits[name] = _queue_ok(name, rows, due, limits[name])
    ready = all(checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": checks,
        "failed": [name for name, ok in checks.items() if not ok],
        "oldest_due_seconds": {name: round(seconds) for name, seconds in waits.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)
