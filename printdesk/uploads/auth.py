"""Who is uploading: a request form draft, a customer through their job link, or an operator.

tus requests carry their credentials in headers, never cookies, so the views are CSRF-exempt;
the one cookie credential, an operator's desk session, gets Django's CSRF check here instead.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.http import HttpRequest
from ninja.utils import check_csrf

from printdesk.accounts import two_factor
from printdesk.accounts.roles import actor_kind_for
from printdesk.api.auth import JobLink, LinkRefused, StaffToken
from printdesk.files.storage import draft_token_hash
from printdesk.jobs.lifecycle import TERMINAL_STATES
from printdesk.jobs.models import Job

SALT = "printdesk.uploads"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def issue_draft_token(draft_token: str) -> str:
    """The `Upload-Token` the request form page hands its uploader, for the form's draft."""
    return signing.dumps({"draft": draft_token}, salt=SALT)


@dataclass(frozen=True)
class Uploader:
    """Exactly one of the three is set."""

    draft_token_hash: str = ""
    job: Job | None = None
    user_id: int | None = None

    def owns(self) -> Q:
        """The uploads this uploader may see, as a filter on TusUpload."""
        if self.draft_token_hash:
            return Q(owner_kind="draft", draft_token_hash=self.draft_token_hash)
        if self.job is not None:
            return Q(owner_kind="job", job=self.job)
        return Q(owner_kind="staff", user_id=self.user_id)


def _draft(value: str) -> Uploader | None:
    try:
        payload = signing.loads(value, salt=SALT, max_age=settings.UPLOAD_TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    draft = payload.get("draft") if isinstance(payload, dict) else None
    if not isinstance(draft, str) or not draft:
        return None
    return Uploader(draft_token_hash=draft_token_hash(draft))


def _job(request: HttpRequest, secret: str) -> Uploader | None:
    """A link's job, while it takes files. A link that opens no job is refused as the API
    refuses it: 404 if it never did, 410 if it was replaced or expired."""
    from printdesk.uploads.actions import TusError  # here: uploads.actions imports this module

    try:
        job = JobLink().authenticate(request, secret)
    except LinkRefused as refused:
        error = TusError(refused.message)  # the tus views answer it with its status
        error.status = refused.status_code
        raise error from None
    if job is None or job.state in TERMINAL_STATES:
        return None
    return Uploader(job=job)


def _bearer(request: HttpRequest, header: str) -> Uploader | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = StaffToken().authenticate(request, token.strip())
    return Uploader(user_id=user.pk) if user is not None else None


def _session(request: HttpRequest) -> Uploader | None:
    user = getattr(request, "user", None)
    if user is None or actor_kind_for(user) is None or not two_factor.session_may_act(user):
        return None
    if request.method not in SAFE_METHODS and check_csrf(request) is not None:
        return None  # a session without its CSRF token may be a forged cross-site request
    return Uploader(user_id=user.pk)


def uploader_for(request: HttpRequest) -> Uploader | None:
    """The uploader the request's credentials name, or None (missing, bad, expired). A job
    link that opens no job raises a TusError: 404, or 410 if it was replaced or expired."""
    if value := request.headers.get("Upload-Token"):
        return _draft(value)
    if secret := request.headers.get("X-Job-Link"):
        return _job(request, secret)
    if header := request.headers.get("Authorization"):
        return _bearer(request, header)
    return _session(request)
