"""Staff API tokens. Operators and admins themselves are Django users (see roles.py)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "pdt_"  # noqa: S105 (a prefix that makes leaked tokens easy to spot)
# "Last used" is for people reading the tokens page; a write per API call would be waste.
TOUCH_EVERY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, user__is_active=True, user__is_staff=True)


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """Create a token and return it with its secret, which is shown this once only."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, token_hash=hash_token(secret))
        return token, secret

    def touch(self, every: timedelta = TOUCH_EVERY) -> None:
        """Record a use: one UPDATE at most once per `every` per token, however many processes
        serve its calls (the condition is checked by the database, not in memory)."""
        now = timezone.now()
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - every)
        ApiToken.objects.filter(stale, pk=self.pk).update(last_used_at=now)
