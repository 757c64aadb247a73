"""Middleware for what Django's own does not cover."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SameOriginFormMiddleware:
    """Let CSRF's origin check see the origin a browser hides on `no-referrer` pages.

    The customer's pages carry the private link in their URL, so they send
    `Referrer-Policy: no-referrer`. Under that policy browsers send `Origin: null` with every
    form POST, and Django's CSRF middleware refuses a null origin: the accept, decline and
    cancel buttons would all fail. The browser still says where the request came from in
    `Sec-Fetch-Site`, a header no page script can set; when it says `same-origin`, the real
    origin is ours, and we restore it. The CSRF token is still checked as for any request.
    Must come before django.middleware.csrf.CsrfViewMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if meta.get("HTTP_ORIGIN") == "null" and meta.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            meta["HTTP_ORIGIN"] = f"{request.scheme}://{request.get_host()}"
        return self.get_response(request)
