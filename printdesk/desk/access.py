"""Who may open a desk page: staff (operators and admins), and admins for the admin pages.

Anonymous visitors are sent to the login page; a logged-in user who is not (or no longer)
staff gets 403, never a redirect loop.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from printdesk.accounts.roles import actor_kind_for
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import ActorKind

View = Callable[..., HttpResponseBase]


def _requiring(allowed: frozenset[ActorKind]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if actor_kind_for(request.user) not in allowed:
                raise PermissionDenied("This page is for the bureau's staff.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = _requiring(frozenset({ActorKind.OPERATOR, ActorKind.ADMIN}))
admin_required = _requiring(frozenset({ActorKind.ADMIN}))


def staff_actor(request: HttpRequest) -> Actor:
    """The logged-in staff member as a lifecycle actor (views behind staff_required only)."""
    return Actor.staff(request.user)


def is_admin(request: HttpRequest) -> bool:
    return actor_kind_for(request.user) == ActorKind.ADMIN
