"""Fixed-window rate limits counted in the database.

Per-process memory would let each web process allow the limit again; a row per (key, window)
incremented with one UPDATE is atomic on SQLite and PostgreSQL alike.
"""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from printdesk.security.models import RateLimitBucket


def _key(scope: str, identity: str) -> str:
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:40]
    return f"{scope[:50]}:{digest}"


def _window(seconds: int) -> datetime:
    now = timezone.now().timestamp()
    return datetime.fromtimestamp(now - now % seconds, tz=timezone.get_current_timezone())


def hit(scope: str, identity: str, *, limit: int, window: int) -> bool:
    """Count one attempt by `identity` in `scope`; True while it is within `limit` per window."""
    key, start = _key(scope, identity), _window(window)
    bucket = RateLimitBucket.objects.filter(key=key, window_start=start)
    if bucket.update(hits=F("hits") + 1) == 0:
        try:
            with transaction.atomic():
                RateLimitBucket.objects.create(key=key, window_start=start, hits=1)
        except IntegrityError:  # another process created it first: count on theirs
            bucket.update(hits=F("hits") + 1)
    hits = bucket.values_list("hits", flat=True).first() or 0
    return hits <= limit


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the
    entry they put in X-Forwarded-For (counted from the right: entries further left are
    whatever the client sent, and a client can send anything)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [ip.strip() for ip in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [ip for ip in forwarded if ip]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def prune(older_than: timedelta = timedelta(days=2)) -> int:
    """Drop the counters of windows long past (housekeeping)."""
    return RateLimitBucket.objects.filter(window_start__lt=timezone.now() - older_than).delete()[0]
