"""The outbox page (admins only): every email that failed or gave up, across jobs, and a bulk
retry that puts the chosen ones back in the queue (notifications.actions.retry).

A dead email an operator resent from its job page is listed no more: its copy stands for it.
"""

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from printdesk.desk.access import admin_required, staff_actor
from printdesk.notifications import actions as emails
from printdesk.notifications.models import Notification, NotificationState

PAGE_SIZE = 50
S = NotificationState
FILTERS = {"": emails.RETRYABLE, "failed": (S.FAILED,), "dead": (S.DEAD,)}


def outstanding(states=emails.RETRYABLE) -> QuerySet[Notification]:
    """Failed or dead emails nobody has resent yet, newest first."""
    rows = Notification.objects.filter(state__in=states, resends__isnull=True)
    return rows.select_related("job").order_by("-created_at", "-id")


def counts() -> dict[str, int]:
    """What waits in the outbox, in one query (distinct: the resends join repeats rows)."""
    no_copy = Q(resends__isnull=True)
    return Notification.objects.aggregate(
        queued=Count("id", filter=Q(state=S.QUEUED), distinct=True),
        failed=Count("id", filter=Q(state=S.FAILED) & no_copy, distinct=True),
        dead=Count("id", filter=Q(state=S.DEAD) & no_copy, distinct=True),
    )


def _state(value: str) -> str:
    return value if value in FILTERS else ""


def _outbox_url(state: str) -> str:
    url = reverse("desk:admin_outbox")
    return f"{url}?{urlencode({'state': state})}" if state else url


@admin_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    state = _state(request.GET.get("state", ""))
    page = Paginator(outstanding(FILTERS[state]), PAGE_SIZE).get_page(request.GET.get("page"))
    found = counts()
    tabs = [
        ("", "Failed and dead", found["failed"] + found["dead"]),
        ("failed", "Failed", found["failed"]),
        ("dead", "Dead", found["dead"]),
    ]
    context = {
        "page": page,
        "state": state,
        "counts": found,
        "tabs": [
            {"url": _outbox_url(key), "label": label, "count": n, "current": key == state}
            for key, label, n in tabs
        ],
        "page_url": _outbox_url(state) + ("&" if state else "?") + "page=",
    }
    return render(request, "desk/admin/outbox.html", context)


@admin_required
@require_POST
def retry(request: HttpRequest) -> HttpResponse:
    """Requeue the ticked rows; those sent, queued or resent meanwhile are left alone."""
    state = _state(request.POST.get("state", ""))
    chosen = request.POST.getlist("notification")
    if not all(value.isdigit() for value in chosen):
        raise BadRequest("The emails to retry are named by their numbers.")
    if not chosen:
        messages.error(request, "Tick the emails to retry first.")
        return redirect(_outbox_url(state))
    rows = Notification.objects.filter(pk__in=[int(value) for value in chosen])
    requeued = emails.retry(notifications=rows, actor=staff_actor(request))
    moved_on = len(chosen) - len(requeued)
    if requeued:
        said = f"{len(requeued)} email(s) queued again: the worker sends them now."
        if moved_on:
            said += f" {moved_on} had moved on meanwhile (sent, queued or resent) and were left."
        messages.success(request, said)
    else:
        messages.error(request, "None of these is failed or dead any more: nothing to retry.")
    return redirect(_outbox_url(state))


urlpatterns = [
    path("admin/outbox/", outbox, name="admin_outbox"),
    path("admin/outbox/retry/", retry, name="admin_outbox_retry"),
]
