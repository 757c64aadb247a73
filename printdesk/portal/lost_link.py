"""“Lost your link?”: a customer gives their email address and receives their links by email.

Links are derived from a stored nonce with the server's key (models.link_secret), so each open
job of that address gets its current link emailed again (actions.send_link, by the system), to
the address on the job only: asking does not break a link the customer still has open
somewhere. A link that cannot be derived (made before derivation, or under a retired key) is
replaced instead (actions.rotate_link): the new one is emailed and the old one answers 410.
A leaked link is the bureau's to replace (Rotate on the desk). The page answers the same
whether or not the address is known, so it tells nobody who the bureau's customers are.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Upper
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import ActionError
from printdesk.jobs.lifecycle import OPEN_STATES, JobState
from printdesk.jobs.models import Job, link_secret
from printdesk.portal.fields import fields, form_errors
from printdesk.portal.forms import LostLinkForm
from printdesk.security import ratelimit

log = logging.getLogger(__name__)
SYSTEM = Actor.system()

# Dispatched jobs stay recoverable for a while: the customer may still follow the tracking.
RECENTLY_DISPATCHED = timedelta(days=30)
# One request never sends more links than this (the newest jobs first).
MAX_JOBS = 20
SENT = (
    "If {email} has open jobs with us, we have emailed the private link to each of them. "
    "It can take a few minutes to arrive; check your spam folder too."
)
TOO_MANY = "Too many attempts in a short time. Please wait a while and try again."


@require_http_methods(["GET", "HEAD", "POST"])
def lost_link(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, LostLinkForm())
    form = LostLinkForm(request.POST)
    if not ratelimit.hit(
        "lost-link-ip",
        ratelimit.client_ip(request),
        limit=settings.PUBLIC_IP_RATE_LIMIT,
        window=settings.PUBLIC_IP_RATE_WINDOW,
    ):
        return _render(request, form, problem=TOO_MANY, status=429)
    if not form.is_valid():
        return _render(request, form, errors=form_errors(form), status=422)
    email = form.cleaned_data["email"]
    if not ratelimit.hit(
        "lost-link-email",
        email,
        limit=settings.LINK_RECOVERY_RATE_LIMIT,
        window=settings.LINK_RECOVERY_RATE_WINDOW,
    ):
        return _render(request, form, problem=TOO_MANY, status=429)
    for job in recoverable_jobs(email):
        send_link(job)
    messages.success(request, SENT.format(email=email))
    return redirect("portal:lost_link")


def send_link(job: Job) -> None:
    """Email the job's current link, or a new one when the current one cannot be derived."""
    try:
        if link_secret(job) is not None:
            actions.send_link(job=job, actor=SYSTEM)
        else:
            actions.rotate_link(job=job, actor=SYSTEM)
    except ActionError as error:  # it changed this very moment: the customer can ask again
        log.warning("lost link: nothing sent for %s: %s", job.reference, error.message)


def recoverable_jobs(email: str) -> QuerySet[Job]:
    """The address's open jobs and recently dispatched ones, newest first, at most MAX_JOBS."""
    # Never a link that has expired (models.link_expired) by the time it arrives.
    recent = timezone.now() - min(RECENTLY_DISPATCHED, timedelta(days=settings.LINK_EXPIRY_DAYS))
    wanted = Q(state__in=OPEN_STATES) | Q(state=JobState.DISPATCHED, state_changed_at__gte=recent)
    # UPPER(email) = UPPER(given), both sides by the database (SQLite's UPPER folds only
    # ASCII), is what the job_email_upper index holds; iexact would be LIKE on SQLite.
    jobs = Job.objects.alias(email_upper=Upper("customer_email")).filter(
        wanted, email_upper=Upper(Value(email))
    )
    return jobs.order_by("-created_at", "-id")[:MAX_JOBS]


def _render(
    request: HttpRequest,
    form: LostLinkForm,
    *,
    errors: dict[str, list[str]] | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"f": fields(form, ("email",), errors or {}), "problem": problem}
    return render(request, "portal/lost_link.html", context, status=status)
