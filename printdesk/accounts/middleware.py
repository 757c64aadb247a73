"""PRINTDESK_REQUIRE_2FA: staff without two-factor login see only its enrolment page."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from printdesk.accounts.roles import actor_kind_for
from printdesk.accounts.two_factor import has_two_factor

# Desk pages a person without two-factor may still open: enrolling, leaving, and the pages
# that are for the logged-out anyway.
OPEN = {"two_factor", "logout", "login", "login_code", "set_password", "set_password_done"}


class RequireTwoFactorMiddleware:
    """With PRINTDESK_REQUIRE_2FA on, send a logged-in operator or admin who has no confirmed
    app to the two-factor page before any other desk or admin page.

    It looks at the resolved view (process_view), so it knows the page by its URL name. The API
    and tus uploads are not covered: API tokens are a separate credential (docs/security.md).
    Must come after the authentication and message middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        match = request.resolver_match
        if not settings.PRINTDESK_REQUIRE_2FA or match is None:
            return None
        if match.namespace not in ("desk", "admin"):
            return None
        if match.namespace == "desk" and match.url_name in OPEN:
            return None
        if actor_kind_for(request.user) is None or has_two_factor(request.user):
            return None
        messages.info(request, "The bureau asks staff to set up two-factor login first.")
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('desk:two_factor')}?{query}")
