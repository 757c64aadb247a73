"""Counters behind the rate limits: in the database, so every web process sees the same."""

from django.db import models


class RateLimitBucket(models.Model):
    # A scope and a hash of who is counted (never the raw email address or IP).
    key = models.CharField(max_length=100)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_bucket"),
        ]
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window")]
