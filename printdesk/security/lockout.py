"""What a locked-out login attempt is told (django-axes' AXES_LOCKOUT_CALLABLE)."""

import ipaddress

from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from printdesk.security import ratelimit

STATUS = 429


def client_ip(request: HttpRequest) -> str | None:
    """The client IP the lockout counts by (AXES_CLIENT_IP_CALLABLE): the rate limits' own,
    or None when that is no address at all (a request built on the server, such as the test
    client's force_login), which axes stores in an address column."""
    found = ratelimit.client_ip(request)
    try:
        return str(ipaddress.ip_address(found))
    except ValueError:
        return None


def _minutes(request: HttpRequest) -> int:
    cool_off = get_cool_off(request)
    return max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0


def message(request: HttpRequest) -> str:
    minutes = _minutes(request)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes else "a while"
    return (
        f"Too many failed logins for this username from your address. Try again in {wait}, "
        "or ask an admin to reset your password."
    )


def _next(request: HttpRequest) -> str:
    # Where the login was going; LoginView checks it is ours before it redirects there.
    return request.POST.get("next") or request.GET.get("next") or ""


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429 for a login refused by the lockout: JSON with a reason for the API, otherwise the
    login page again with the reason on it (the admin site's login gets the desk's page)."""
    retry_after = str(_minutes(request) * 60 or 900)
    if request.path.startswith("/api/"):
        body = {"message": message(request), "code": "locked_out"}
        response: HttpResponse = JsonResponse(body, status=STATUS)
    else:
        username = (credentials or {}).get("username") or request.POST.get("username", "")
        form = AuthenticationForm(request, initial={"username": username})
        context = {"form": form, "locked_out": message(request), "next": _next(request)}
        response = render(request, "desk/login.html", context, status=STATUS)
    response["Retry-After"] = retry_after
    return response
