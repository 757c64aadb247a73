"""Two-factor login for staff: a code from an authenticator app (TOTP), or a recovery code.

django-otp keeps the devices. A person's `TOTPDevice` holds their app's secret; it counts only
once `confirmed`, after they typed a code from the app, and its `last_t` refuses any code at or
before the last one accepted, so a code works once. Their `StaticDevice` holds the recovery
codes, each deleted as it is used. Both throttle wrong codes (1, 2, 4, 8... seconds per device,
whoever guesses); the login's lockout by username and IP (django-axes) counts them as well.

These functions are the one place the devices change, called by the desk's login, two-factor
and operators pages. The login's second step never logs anyone in half-way: after a correct
password the session holds only a pending login (`start_pending`), and Django's `login()` runs
once the code passes. Until then `request.user` is anonymous to the desk, the API's
StaffSession and the tus uploads alike.
"""

import logging
import time
from base64 import b32encode
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from printdesk.accounts.staff import Refused

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
# A password typed this long ago no longer leads to the code step: log in again.
PENDING_SECONDS = 300
PENDING = "printdesk_2fa_pending"
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def has_two_factor(user) -> bool:
    """Has `user` a confirmed authenticator app? (Then their login asks for a code.)"""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def session_may_act(user) -> bool:
    """May a logged-in staff session use the API and uploads? Not while the bureau requires
    two-factor login and `user` has not set it up (the desk sends them to do so first)."""
    return not settings.PRINTDESK_REQUIRE_2FA or has_two_factor(user)


def password_is_enough(user) -> bool:
    """May a password alone open a credential for `user` (a session, an API token)?"""
    return not (settings.PRINTDESK_REQUIRE_2FA or has_two_factor(user))


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


# --- enrolment ------------------------------------------------------------------------------


def pending_device(user) -> TOTPDevice:
    """The unconfirmed app device the enrolment page shows, made the first time it is asked."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as apps take it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_url(device: TOTPDevice, issuer: str) -> str:
    """The otpauth:// URL the QR code holds (Google's Key URI format, which every app reads)."""
    issuer = issuer.replace(":", "")
    label = quote(f"{issuer}:{device.user.get_username()}")
    params = {
        "secret": b32encode(device.bin_key).decode().rstrip("="),
        "issuer": issuer,
        "algorithm": "SHA1",
        "digits": device.digits,
        "period": device.step,
    }
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def qr_svg(url: str) -> str:
    """The QR code as an inline <svg> (no script, no style attribute: the CSP allows it)."""
    qr = segno.make(url, error="m")
    return qr.svg_inline(scale=5, light="#fff", svgclass="qr", title="QR code for your app")


def confirm(*, user, code: str) -> list[str] | None:
    """Turn two-factor login on for `user` if `code` is their pending app's current code.

    Steps: check the code against the pending device (which records it as used); mark the
    device confirmed and drop any other app device; replace the recovery codes. Returns the new
    recovery codes, to be shown once, or None when the code was wrong (nothing changes then).
    """
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("id")
            .first()
        )
        if device is None or not _verify(device, code).device:
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _new_recovery_codes(user)
    log.info("two-factor login turned on by user %s", user.pk)
    return codes


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def replace_recovery_codes(*, user) -> list[str]:
    """A new set of recovery codes for someone with two-factor login on; the old set stops
    working. The view checks a current code first. Returns the codes, to be shown once."""
    with transaction.atomic():
        codes = _new_recovery_codes(user)
    log.info("new recovery codes made by user %s", user.pk)
    return codes


def _remove_devices(user) -> int:
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return removed


def turn_off(*, user) -> None:
    """The person's own choice, after their password and a current code (checked by the view)."""
    with transaction.atomic():
        _remove_devices(user)
    log.info("two-factor login turned off by user %s", user.pk)


def reset(*, by, user) -> bool:
    """An admin removes someone's app and recovery codes (a lost phone). Their next login asks
    for the password only, or, under PRINTDESK_REQUIRE_2FA, leads to enrolment. False when
    there was nothing to reset. Logged, as the staff pages' other changes are."""
    if user.pk == by.pk:
        raise Refused("Turn your own two-factor login off on your two-factor page.")
    with transaction.atomic():
        removed = _remove_devices(user)
    if removed:
        log.warning("two-factor login of user %s reset by admin user %s", user.pk, by.pk)
    return bool(removed)


# --- checking a code ------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    device: Device | None = None  # the device that accepted the code
    wait: int = 0  # seconds until the device takes another try, when it is throttled


def normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def check_code(user, code: str) -> Checked:
    """Check a code from the login's second step or the turn-off form: six digits go to the
    app, anything else to the recovery codes. The device row is locked while it is checked,
    so two requests cannot both spend one code."""
    code = normalise(code)
    model = TOTPDevice if code.isdigit() and len(code) in (6, 8) else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            return Checked()
        return _verify(device, code)


def _verify(device, code: str) -> Checked:
    allowed, about = device.verify_is_allowed()
    if not allowed:
        until = (about or {}).get("locked_until") or timezone.now()
        return Checked(wait=max(1, round((until - timezone.now()).total_seconds())))
    return Checked(device=device if device.verify_token(normalise(code)) else None)


# --- the pending login between the password and the code ------------------------------------


def start_pending(request: HttpRequest, user, *, next_url: str) -> None:
    """Remember, in the session, that `user` gave the right password (and where they go)."""
    request.session[PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "at": int(time.time()),
        "next": next_url,
    }


def pending(request: HttpRequest) -> tuple[Any, dict] | None:
    """The user whose password was right a moment ago in this session, with the pending
    login's details; None when there is none, or it is too old, or the user was deactivated."""
    found = request.session.get(PENDING)
    if not isinstance(found, dict) or time.time() - found.get("at", 0) > PENDING_SECONDS:
        return None
    user = get_user_model()._default_manager.filter(pk=found["user"], is_active=True).first()
    return (user, found) if user is not None else None


def drop_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)
