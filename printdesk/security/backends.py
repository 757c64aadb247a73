"""The login lockout's authentication backend."""

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for every login that comes with a request.

    Every login over HTTP passes its request (the desk and admin login forms, the API's
    POST /auth/token), so axes counts and refuses those by username and client IP. A call
    without one comes from code on the server itself (a management command, the test client's
    `login()`), where there is no client to lock out; axes would raise there, so this backend
    simply has no opinion and the next backend checks the password.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
