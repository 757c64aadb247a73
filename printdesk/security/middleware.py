"""Middleware for what Django's own does not cover."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url


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


class StaffIdleTimeoutMiddleware:
    """Log a signed-in user out after SESSION_IDLE_TIMEOUT seconds without a request, or
    SESSION_COOKIE_AGE seconds after logging in, whatever their activity.

    Django's own session expiry restarts whenever the session is saved, so it cannot give an
    absolute lifetime, and it has no idle timeout. The times live in the session; the last
    activity is written at most once a minute, so reading pages adds few writes. A page is
    redirected to the login form with a message; an API call simply continues unauthenticated
    (and gets its 401). Must come after the authentication and message middleware.
    """

    STARTED = "printdesk_session_started"
    SEEN = "printdesk_session_seen"
    WRITE_EVERY = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._expired(request)
            if expired:
                return self._log_out(request, expired)
        return self.get_response(request)

    @classmethod
    def start(cls, request: HttpRequest) -> None:
        """Stamp a new login's session (on user_logged_in), so its first page writes nothing."""
        now = int(time.time())
        request.session[cls.STARTED] = request.session[cls.SEEN] = now

    def _expired(self, request: HttpRequest) -> str | None:
        now = int(time.time())
        session = request.session
        started = session.setdefault(self.STARTED, now)
        seen = session.get(self.SEEN, now)
        if now - started > settings.SESSION_COOKIE_AGE:
            hours = settings.SESSION_COOKIE_AGE // 3600
            return f"Your session ended after {hours} hours. Please log in again."
        if now - seen > settings.SESSION_IDLE_TIMEOUT:
            minutes = settings.SESSION_IDLE_TIMEOUT // 60
            return f"You were logged out after {minutes} minutes without activity."
        if self.SEEN not in session or now - seen >= self.WRITE_EVERY:
            session[self.SEEN] = now
        return None

    def _log_out(self, request: HttpRequest, reason: str) -> HttpResponse:
        logout(request)  # flushes the session
        if request.path.startswith("/api/"):
            return self.get_response(request)
        messages.info(request, reason)
        return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
