"""GET /healthz: 200 when the database and file storage answer, 503 otherwise."""

import logging

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("health: database check failed")
        return False


def _storage_ok() -> bool:
    # listdir("") asks the backend itself (the folder on disk, the bucket on S3): it fails when
    # the storage is missing or unreachable, and it writes nothing.
    try:
        default_storage.listdir("")
        return True
    except Exception:
        log.exception("health: storage check failed")
        return False


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "storage": _storage_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)
