"""Managing the bureau's staff: invite, deactivate, reactivate, change role.

Operators are Django users with is_staff; admins also have is_superuser (see roles.py). These
functions are the one place staff accounts change, called by the desk's admin pages. Each
takes the acting admin as `by` and raises `Refused` when the change would leave the bureau
worse off (an admin locking themself out, no admin left).
"""

import logging
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from printdesk.accounts.models import ApiToken
from printdesk.catalogue.models import Bureau

log = logging.getLogger(__name__)


class Role(models.TextChoices):
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


class Refused(Exception):
    """The change was not made; the message says why, in words for the admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def role_of(user) -> Role:
    return Role.ADMIN if user.is_superuser else Role.OPERATOR


def staff_users() -> models.QuerySet:
    """Everyone the admin pages manage: operators and admins, active or not."""
    return get_user_model().objects.filter(is_staff=True)


@dataclass(frozen=True)
class Invitation:
    user: AbstractUser
    sent: bool  # False when the email backend failed; the account exists all the same


def invite(*, by, username: str, email: str, name: str, role: Role) -> Invitation:
    """Create a staff account and email its owner a link to choose a password.

    Steps: create the user with an unusable password (nobody can log in as them until they
    follow the link), then send the invitation. A failed send is logged and reported, not
    raised: the admin can send a fresh link from the operators page.
    """
    first, _, last = name.strip().partition(" ")
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=username,
                email=email,
                password=None,
                first_name=first,
                last_name=last.strip(),
                is_staff=True,
                is_superuser=role == Role.ADMIN,
            )
    except IntegrityError:
        # The form checked, but another admin took the username in the meantime.
        raise Refused("Someone already has this username.") from None
    return Invitation(user=user, sent=send_set_password_link(by=by, user=user, invited=True))


def set_password_path(user) -> str:
    """The desk path where `user` chooses a password; valid until they set one, or it expires."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("desk:set_password", kwargs={"uidb64": uidb64, "token": token})


def send_set_password_link(*, by, user, invited: bool = False) -> bool:
    """Email `user` a set-password link (an invitation, or a fresh link). True when sent."""
    bureau = Bureau.current()
    context = {
        "user": user,
        "by": by,
        "bureau": bureau,
        "invited": invited,
        "link": settings.SITE_URL + set_password_path(user),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        "login_url": settings.SITE_URL + reverse("desk:login"),
    }
    subject = (
        f"You are invited to the {bureau.name} desk"
        if invited
        else f"Choose a password for the {bureau.name} desk"
    )
    message = EmailMessage(
        subject=subject,
        body=render_to_string("desk/admin/emails/set_password.txt", context),
        to=[user.email],
        reply_to=[bureau.reply_to] if bureau.reply_to else None,
    )
    try:
        message.send()
    except Exception:
        log.exception("could not send the set-password email to user %s", user.pk)
        return False
    return True


def deactivate(*, by, user) -> None:
    """End someone's access at once, keeping their account and their name on past work.

    Steps: refuse for oneself and for the last active admin; mark the user inactive; delete
    their sessions and revoke their API tokens. Django already ignores an inactive user's
    session, and tokens of inactive users are unusable, but removing both means a later
    reactivation starts clean instead of reviving old logins and scripts.
    """
    if user.pk == by.pk:
        raise Refused("You cannot deactivate your own account; ask another admin.")
    with transaction.atomic():
        if user.is_superuser:
            _keep_another_admin(user)
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    end_sessions(user)
    user.is_active = False


def reactivate(*, by, user) -> None:
    """Let a deactivated person log in again with their password (API tokens stay revoked)."""
    type(user).objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True


def change_role(*, by, user, role: Role) -> None:
    """Make an operator an admin, or an admin an operator; never oneself, never the last one."""
    if user.pk == by.pk:
        raise Refused("You cannot change your own role; ask another admin.")
    with transaction.atomic():
        if role == Role.OPERATOR and user.is_superuser:
            _keep_another_admin(user)
        type(user).objects.filter(pk=user.pk).update(is_superuser=role == Role.ADMIN)
    user.is_superuser = role == Role.ADMIN


def _keep_another_admin(leaving) -> None:
    """Refuse unless an active admin other than `leaving` remains.

    The admins' rows are locked first, so two admins demoting each other at the same moment
    are serialised and the second is refused.
    """
    admins = list(
        staff_users()
        .select_for_update()
        .filter(is_active=True, is_superuser=True)
        .values_list("pk", flat=True)
    )
    if not set(admins) - {leaving.pk}:
        raise Refused("The bureau needs at least one active admin; make someone else admin first.")


def end_sessions(user) -> int:
    """Delete `user`'s stored sessions; returns how many.

    Sessions are stored by key, not by user, so each live one is decoded to see whose it is.
    That is a scan, acceptable for an action an admin takes a few times a year. Session
    engines without a database table (signed cookies, plain cache) cannot be searched; there,
    Django's refusal of inactive users is what ends the session.
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        return 0
    model = store_class.get_model_class()
    ended = 0
    live = model.objects.filter(expire_date__gt=timezone.now())
    for key, data in live.values_list("session_key", "session_data").iterator():
        decoded = store_class().decode(data)
        if decoded.get("_auth_user_id") == str(user.pk):
            store_class(session_key=key).delete()
            ended += 1
    return ended
