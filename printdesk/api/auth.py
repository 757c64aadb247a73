"""Who is calling the API: staff by token or session, a customer by their job link."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer

from printdesk.accounts import two_factor
from printdesk.accounts.models import ApiToken, hash_token
from printdesk.accounts.roles import actor_kind_for
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import ActionError
from printdesk.jobs.models import Job, LinkGone, job_for_link

# Touching last_used_at on every request would add a write to every read; once a minute is
# plenty to show "last used" to an admin.
TOUCH_EVERY_SECONDS = 60


class StaffToken(HttpBearer):
    """`Authorization: Bearer pdt_...`: an operator's or admin's API token."""

    def authenticate(self, request: HttpRequest, token: str):
        found = (
            ApiToken.objects.usable()
            .select_related("user")
            .filter(token_hash=hash_token(token))
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        if (
            found.last_used_at is None
            or (now - found.last_used_at).total_seconds() > TOUCH_EVERY_SECONDS
        ):
            found.touch()
        return found.user


class StaffSession(APIKeyCookie):
    """The desk's logged-in session (CSRF-checked on unsafe methods)."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Only a staff session has anything for CSRF to protect. Without one, the caller (no
        # credentials, a wrong or revoked token) is unauthenticated: 401, not a CSRF 403.
        if actor_kind_for(request.user) is None:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = request.user
        if actor_kind_for(user) is None or not two_factor.session_may_act(user):
            return None
        return user


class LinkRefused(ActionError):
    """A link that opens no job: 404 if it never did, 410 if it was replaced or expired (a
    missing header stays 401). The API answers it as any refusal: JSON message and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.code = code


UNKNOWN_LINK = "This link does not open any job. Ask for your links at /lost-link/."


class JobLink(APIKeyHeader):
    """`X-Job-Link: <secret>`: the customer's private link secret; authorises one job."""

    param_name = "X-Job-Link"

    def authenticate(self, request: HttpRequest, key: str | None) -> Job | None:
        if not key:
            return None
        try:
            job = job_for_link(key, Job.objects.select_related("material"))
        except LinkGone as gone:
            raise LinkRefused(410, f"link_{gone.reason}", gone.message) from None
        if job is None:
            raise LinkRefused(404, "link_unknown", UNKNOWN_LINK)
        return job


def staff_actor(request: HttpRequest) -> Actor:
    """The operator or admin a staff endpoint was called by (ninja sets request.auth)."""
    return Actor.staff(request.auth)  # type: ignore[attr-defined]


def linked_job(request: HttpRequest) -> Job:
    """The job a customer endpoint's link authorised."""
    return request.auth  # type: ignore[attr-defined]


staff_auth = [StaffToken(), StaffSession()]
customer_auth = [JobLink()]
