"""Staff API tokens: issue one, list someone's, revoke one.

A token's secret is shown once, when it is issued; the database keeps only its SHA-256 hash
(models.hash_token), so a copy of the database opens nothing. These functions are the one
place tokens change, called by the desk's tokens pages and the API's token endpoint.
"""

import logging

from django.db import models
from django.utils import timezone

from printdesk.accounts.models import ApiToken

log = logging.getLogger(__name__)

NAME_MAX = ApiToken._meta.get_field("name").max_length


def tokens_of(user) -> models.QuerySet[ApiToken]:
    """Someone's tokens, live ones first, newest first."""
    return ApiToken.objects.filter(user=user).order_by(
        models.F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )


def issue(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` and its secret, which nobody can see again after this."""
    token, secret = ApiToken.issue(user, name.strip()[:NAME_MAX])
    log.info("API token %s issued to user %s", token.pk, user.pk)
    return token, secret


def revoke(*, by, token: ApiToken) -> bool:
    """End a token for good; False when it was revoked already (nothing changes then)."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        log.info("API token %s of user %s revoked by user %s", token.pk, token.user_id, by.pk)
    return bool(revoked)
