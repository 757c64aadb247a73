"""The REST API at /api/v1/: every error is JSON with a message and a 4xx status."""

import functools
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from printdesk.api import customer, public, staff
from printdesk.jobs.errors import ActionError


class PrintdeskAPI(NinjaAPI):
    """NinjaAPI whose "method not allowed" and "no such path" answers are JSON like every
    other error.

    django-ninja answers a known path called with the wrong method in plain text, outside its
    exception handlers, and leaves unknown paths to Django's HTML page; this wraps its views
    and adds a last, catch-all route to say both in our error shape.
    """

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_not_allowed(pattern.callback)
        patterns.append(re_path(r"^", _unknown_path))
        return patterns, app_name, namespace


def _json_not_allowed(view: Callable) -> Callable:
    @functools.wraps(view)  # keeps ninja's csrf_exempt mark
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            message = f"{request.method} is not allowed here; use {allowed}."
            response = _error(request, 405, message, "method_not_allowed")
            response["Allow"] = allowed
        return response

    return wrapper


@csrf_exempt  # nothing here to protect: let a stray POST get its 404 too
def _unknown_path(request: HttpRequest) -> HttpResponse:
    return _error(request, 404, "Not found.", "not_found")


api = PrintdeskAPI(
    title="printdesk API",
    version="1",
    description=(
        "Staff authenticate with `Authorization: Bearer <token>` (POST /auth/token) or the desk "
        "session; customers with their job link's secret in `X-Job-Link`."
    ),
    urls_namespace="api",
    # The schema and its docs page are read-only: other methods get 405 like the operations.
    docs_decorator=require_safe,
)
api.add_router("/", public.router)
api.add_router("/", staff.router)
api.add_router("/customer", customer.router)


def _error(request: HttpRequest, status: int, message: str, code: str, **extra) -> HttpResponse:
    return api.create_response(request, {"message": message, "code": code, **extra}, status=status)


@api.exception_handler(ActionError)
def action_refused(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return _error(request, exc.status_code, exc.message, exc.code, field=exc.field)


def _describe(error: dict) -> str:
    # loc is (source, [parameter,] field...): ("body", "body", "quote_version") for a JSON
    # body, ("form", "quantity") or ("query", "page") otherwise. Show the field path.
    loc = [str(part) for part in error.get("loc", ())]
    where = ".".join(loc[2:] if loc[:1] == ["body"] and len(loc) > 2 else loc[1:])
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


@api.exception_handler(ValidationError)
def invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors
    ]
    message = "; ".join(_describe(e) for e in errors) or "Invalid request."
    return _error(request, 422, message, "invalid", errors=errors)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "Authentication required.", "unauthorized")


HTTP_ERROR_CODES = {400: "bad_request", 403: "forbidden", 410: "gone", 429: "too_many_requests"}


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    return _error(request, exc.status_code, exc.message, code)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "Not found.", "not_found")
