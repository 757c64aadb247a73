"""Who a logged-in person is to printdesk: staff users are operators, superusers admins."""

from printdesk.jobs.lifecycle import ActorKind


def actor_kind_for(user) -> ActorKind | None:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return None
    return ActorKind.ADMIN if user.is_superuser else ActorKind.OPERATOR
