"""Two-factor login for staff (printdesk/accounts/two_factor.py, printdesk/desk/auth.py).

Someone turns it on by scanning a QR code and typing a code from the app; they get recovery
codes, shown once. From then on the password leads to a second step, and until a code passes
they are logged in nowhere: not on the desk, not in the API, not on the tus uploads. Wrong
codes count toward the login lockout; a code and a recovery code work once. Codes are computed
here from the device's own key, as an app would (django_otp.oath.TOTP).
"""

import base64
import json
import logging
import re
import time
from base64 import b32decode
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from printdesk.accounts import two_factor
from printdesk.accounts.models import ApiToken

LOGIN = reverse("desk:login")
CODE = reverse("desk:login_code")
PAGE = reverse("desk:two_factor")
OFF = reverse("desk:two_factor_off")
NEW_CODES = reverse("desk:two_factor_codes")
QUEUE = reverse("desk:queue")
IP = "203.0.113.7"
LIMIT = 3


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = 0.25  # hours


@pytest.fixture(autouse=True)
def _whole_time_step():
    """Start each test early in a 30-second time step, so "this step's code" stays this step's
    for the few seconds the test takes."""
    left = 30 - time.time() % 30
    if left < 8:
        time.sleep(left + 0.1)


def code(device: TOTPDevice, steps: int = 0) -> str:
    """What the app shows now (or `steps` time steps from now) for `device`: from the key and
    the clock alone, as an app knows nothing of the drift the server has noted."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def turn_on(user) -> tuple[TOTPDevice, list[str]]:
    """Two-factor login on for `user`, confirmed with the previous step's code (the app's
    current one stays unused for the test's login)."""
    device = two_factor.pending_device(user)
    codes = two_factor.confirm(user=user, code=code(device, -1))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def unthrottle(device) -> None:
    """As if the last wrong code had been typed a minute ago (django-otp's per-device delay)."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=device.throttling_failure_timestamp - timedelta(minutes=1)
    )


def password(client: Client, username: str = "olga", ip: str = IP, **extra):
    data = {"username": username, "password": f"pw-{username}", **extra}
    return client.post(LOGIN, data, REMOTE_ADDR=ip)


def second_step(client: Client, value: str, ip: str = IP):
    return client.post(CODE, {"code": value}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


# --- enrolment ------------------------------------------------------------------------------


def test_the_page_shows_a_qr_code_and_the_secret_then_a_real_code_turns_it_on(client, operator):
    client.force_login(operator)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    # The QR code is inline SVG made on the server; the page has no script and no inline style.
    assert '<svg width="' in html and 'class="qr"' in html
    assert "<script" not in html and "style=" not in html
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7 ]+)</code>', html).group(1)
    assert b32decode(secret.replace(" ", "")) == device.bin_key
    assert not two_factor.has_two_factor(operator)

    wrong = client.post(PAGE, {"code": "000000" if code(device) != "000000" else "111111"})
    assert "That code is not right" in wrong.content.decode()
    assert not two_factor.has_two_factor(operator)
    unthrottle(TOTPDevice.objects.get(pk=device.pk))

    done = client.post(PAGE, {"code": code(device)})
    html = done.content.decode()
    assert done.status_code == 200 and "Two-factor login is on" in html
    shown = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", html)
    assert len(shown) == two_factor.RECOVERY_CODES
    assert sorted(t.replace("-", "") for t in shown) == sorted(
        StaticToken.objects.filter(device__user=operator).values_list("token", flat=True)
    )
    assert done["Cache-Control"].startswith("max-age=0")
    assert two_factor.has_two_factor(operator)
    # Shown once: the page now says it is on, with neither the codes nor the secret.
    again = client.get(PAGE).content.decode()
    assert "10 unused recovery codes" in again
    assert shown[0] not in again and secret not in again and "<svg" not in again


def test_the_qr_code_holds_the_key_with_the_bureaus_name(operator):
    device = two_factor.pending_device(operator)
    device.key = "3132333435363738393031323334353637383930"  # RFC 6238's test key
    url = two_factor.otpauth_url(device, "Layer Co: Ghent")
    assert url == (
        "otpauth://totp/Layer%20Co%20Ghent%3Aolga?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        "&issuer=Layer%20Co%20Ghent&algorithm=SHA1&digits=6&period=30"
    )
    assert two_factor.qr_svg(url).startswith("<svg ")


def test_an_empty_code_is_asked_for_again(client, operator):
    turn_on(operator)
    password(client)
    response = second_step(client, "  ")
    assert "Type the code from your app, or a recovery code." in response.content.decode()
    assert not logged_in(client)


def test_the_page_is_for_staff_and_takes_no_wrong_method(client, operator, stranger_user):
    assert client.get(PAGE)["Location"].startswith(LOGIN)
    client.force_login(stranger_user)
    assert client.get(PAGE).status_code == 403
    client.force_login(operator)
    assert client.put(PAGE).status_code == 405
    assert client.get(OFF).status_code == 405


def test_the_nav_links_to_the_page(client, operator):
    client.force_login(operator)
    assert f'href="{PAGE}"' in client.get(QUEUE).content.decode()


# --- logging in -----------------------------------------------------------------------------


def test_without_two_factor_the_password_logs_in(client, operator):
    assert password(client)["Location"] == QUEUE
    assert logged_in(client)


def test_with_two_factor_the_password_leads_to_the_code_and_the_code_logs_in(client, operator):
    device, _ = turn_on(operator)

    response = password(client, next=reverse("desk:tokens"))
    assert response["Location"] == CODE
    assert not logged_in(client)
    assert "6-digit code" in client.get(CODE).content.decode()

    response = second_step(client, code(device))
    assert response["Location"] == reverse("desk:tokens")  # on to where the login was going
    assert logged_in(client)
    assert client.get(QUEUE).status_code == 200
    assert client.session["otp_device_id"] == device.persistent_id


def test_a_wrong_code_is_refused_with_a_reason(client, operator):
    device, _ = turn_on(operator)
    password(client)
    wrong = "000000" if code(device) != "000000" else "111111"

    response = second_step(client, wrong)
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not logged_in(client)
    # Straight after, django-otp's per-device delay (1 s after one failure) says to wait.
    response = second_step(client, code(device))
    assert "wait 1 second" in response.content.decode()
    assert not logged_in(client)
    unthrottle(TOTPDevice.objects.get(pk=device.pk))
    assert second_step(client, code(device))["Location"] == QUEUE


def test_a_code_works_once(operator):
    device, _ = turn_on(operator)
    first = Client()
    password(first)
    now = code(device)
    assert second_step(first, now)["Location"] == QUEUE

    replay = Client()
    password(replay)
    response = second_step(replay, now)
    assert "That code is not right, or it was used already" in response.content.decode()
    assert not logged_in(replay)
    unthrottle(TOTPDevice.objects.get(pk=device.pk))
    # The app's next code still works.
    assert second_step(replay, code(device, 1))["Location"] == QUEUE


def test_a_recovery_code_logs_in_once(operator):
    _, codes = turn_on(operator)
    first = Client()
    password(first)
    assert second_step(first, codes[0].upper())["Location"] == QUEUE  # as typed: any case
    assert two_factor.recovery_codes_left(operator) == two_factor.RECOVERY_CODES - 1

    again = Client()
    password(again)
    assert not logged_in(again)
    assert "That code is not right" in second_step(again, codes[0]).content.decode()
    assert not logged_in(again)
    unthrottle(two_factor.StaticDevice.objects.get(user=operator))
    assert second_step(again, codes[1].replace("-", " "))["Location"] == QUEUE


def test_the_code_page_without_a_password_first_goes_back_to_the_login(client, operator):
    turn_on(operator)
    assert client.get(CODE)["Location"] == LOGIN
    assert client.post(CODE, {"code": "123456"})["Location"] == LOGIN
    assert not logged_in(client)


def test_a_password_typed_too_long_ago_must_be_typed_again(client, operator):
    device, _ = turn_on(operator)
    password(client)
    session = client.session
    session[two_factor.PENDING]["at"] -= two_factor.PENDING_SECONDS + 1
    session.save()
    assert second_step(client, code(device))["Location"] == LOGIN
    assert not logged_in(client)


def test_a_deactivated_person_cannot_finish_the_login(client, operator):
    device, _ = turn_on(operator)
    password(client)
    type(operator).objects.filter(pk=operator.pk).update(is_active=False)
    assert second_step(client, code(device))["Location"] == LOGIN
    assert not logged_in(client)


# --- the half-login opens nothing -----------------------------------------------------------


TUS_CREATE = {
    "Tus-Resumable": "1.0.0",
    "Upload-Length": "100",
    "Upload-Metadata": "filename " + base64.b64encode(b"part.stl").decode(),
}


def test_after_the_password_alone_nothing_is_open(client, operator):
    device, _ = turn_on(operator)
    password(client)
    tus = TUS_CREATE

    assert client.get(QUEUE)["Location"].startswith(LOGIN)
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.post("/uploads/", headers=tus).status_code == 401
    assert client.get("/admin/")["Location"].startswith("/admin/login/")

    # The same session once the code passed: all of them open (the checks above can fail).
    second_step(client, code(device))
    assert client.get(QUEUE).status_code == 200
    assert client.get("/api/v1/jobs").status_code == 200
    assert client.post("/uploads/", headers=tus).status_code == 201


def test_the_admin_sites_password_only_login_refuses_someone_with_two_factor(admin):
    turn_on(admin)
    response = Client().post(
        "/admin/login/", {"username": "ada", "password": "pw-ada"}, REMOTE_ADDR=IP
    )
    assert response.status_code == 200
    assert "Log in on the desk (two-factor login)" in response.content.decode()


def test_the_api_gives_no_token_for_a_password_alone_to_someone_with_two_factor(operator):
    turn_on(operator)
    body = json.dumps({"username": "olga", "password": "pw-olga", "name": "script"})
    response = Client().post(
        "/api/v1/auth/token", body, content_type="application/json", REMOTE_ADDR=IP
    )
    assert response.status_code == 403
    assert "two-factor login" in response.json()["message"]
    assert not ApiToken.objects.filter(user=operator).exists()


# --- lockout --------------------------------------------------------------------------------


def test_wrong_codes_lock_the_login_out_like_wrong_passwords(client, operator):
    device, _ = turn_on(operator)
    password(client)
    wrong = "000000" if code(device) != "000000" else "111111"
    statuses = [second_step(client, wrong).status_code for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert not logged_in(client)

    # Locked out: the password is refused, and the code step must start again from it.
    assert client.get(CODE)["Location"] == LOGIN
    response = password(client)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    # Another address is not locked out.
    other = Client()
    assert password(other, ip="198.51.100.9")["Location"] == CODE


def test_wrong_passwords_and_wrong_codes_count_together(client, operator):
    device, _ = turn_on(operator)
    for _ in range(LIMIT - 1):
        client.post(LOGIN, {"username": "olga", "password": "wrong"}, REMOTE_ADDR=IP)
    password(client)
    response = second_step(client, "000000" if code(device) != "000000" else "111111")
    assert response.status_code == 429
    assert not logged_in(client)


def test_a_login_that_passes_the_code_clears_the_count(client, operator):
    device, _ = turn_on(operator)
    password(client)
    for _ in range(LIMIT - 1):
        second_step(client, "000000" if code(device) != "000000" else "111111")
    unthrottle(TOTPDevice.objects.get(pk=device.pk))
    assert second_step(client, code(device))["Location"] == QUEUE

    again = Client()
    assert password(again)["Location"] == CODE  # not locked out: the count was cleared


# --- turning it off -------------------------------------------------------------------------


def test_turning_it_off_takes_the_password_and_a_current_code(client, operator):
    device, _ = turn_on(operator)
    client.force_login(operator)

    response = client.post(OFF, {"password": "wrong", "code": code(device)})
    assert "That is not your password" in response.content.decode()
    response = client.post(OFF, {"password": "pw-olga", "code": "12345x"})
    assert "That code is not right" in response.content.decode()
    assert two_factor.has_two_factor(operator)
    unthrottle(two_factor.StaticDevice.objects.get(user=operator))

    response = client.post(OFF, {"password": "pw-olga", "code": code(device)})
    assert response["Location"] == PAGE
    assert not two_factor.has_two_factor(operator)
    assert not StaticToken.objects.filter(device__user=operator).exists()
    assert password(Client())["Location"] == QUEUE  # the password alone again


# --- new recovery codes ---------------------------------------------------------------------


def test_a_current_code_makes_new_recovery_codes_and_the_old_ones_stop_working(client, operator):
    device, old_codes = turn_on(operator)
    client.force_login(operator)
    assert "Make new recovery codes" in client.get(PAGE).content.decode()

    response = client.post(NEW_CODES, {"code": "12345x"})
    assert "That code is not right" in response.content.decode()
    assert two_factor.recovery_codes_left(operator) == len(old_codes)  # nothing changed
    unthrottle(two_factor.StaticDevice.objects.get(user=operator))

    response = client.post(NEW_CODES, {"code": code(device)})
    page = response.content.decode()
    new_codes = re.findall(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4})</code></li>", page)
    assert response.status_code == 200 and "Your new recovery codes" in page
    assert len(new_codes) == len(old_codes) == two_factor.recovery_codes_left(operator)
    assert not set(new_codes) & set(old_codes)

    fresh = Client()
    password(fresh)
    assert "That code is not right" in second_step(fresh, old_codes[0]).content.decode()
    assert not logged_in(fresh)
    unthrottle(two_factor.StaticDevice.objects.get(user=operator))
    assert second_step(fresh, new_codes[0])["Location"] == QUEUE


def test_new_recovery_codes_need_two_factor_on_and_a_post(client, operator):
    client.force_login(operator)

    response = client.post(NEW_CODES, {"code": "123456"}, follow=True)
    assert "no recovery codes to replace" in response.content.decode()
    assert client.get(NEW_CODES).status_code == 405


# --- PRINTDESK_REQUIRE_2FA ------------------------------------------------------------------


def test_when_required_staff_without_it_see_only_the_enrolment_page(client, settings, operator):
    settings.PRINTDESK_REQUIRE_2FA = True
    token = ApiToken.issue(operator, "script")[1]
    client.force_login(operator)

    response = client.get(reverse("desk:tokens"))
    assert response["Location"] == f"{PAGE}?next=%2Fdesk%2Ftokens%2F"
    assert client.get(response["Location"]).status_code == 200
    # Nor does the session open the API or uploads meanwhile.
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.post("/uploads/", headers=TUS_CREATE).status_code == 401
    assert client.post(reverse("desk:logout")).status_code == 302  # leaving is open
    # API tokens are a separate credential: they keep working (docs/security.md).
    bearer = {"Authorization": f"Bearer {token}"}
    assert Client().get("/api/v1/jobs", headers=bearer).status_code == 200

    client.force_login(operator)
    device = two_factor.pending_device(operator)
    page = client.post(PAGE, {"code": code(device), "next": "/desk/tokens/"}).content.decode()
    assert 'href="/desk/tokens/"' in page  # "continue" goes where they were going
    assert client.get(reverse("desk:tokens")).status_code == 200
    assert client.get("/api/v1/jobs").status_code == 200  # the checks above can fail
    assert client.post("/uploads/", headers=TUS_CREATE).status_code == 201


def test_when_required_the_admin_site_is_covered_too(client, settings, admin):
    settings.PRINTDESK_REQUIRE_2FA = True
    client.force_login(admin)
    assert client.get("/admin/")["Location"].startswith(PAGE)
    response = Client().post(
        "/admin/login/", {"username": "ada", "password": "pw-ada"}, REMOTE_ADDR=IP
    )
    assert "Log in on the desk (two-factor login)" in response.content.decode()


def test_when_not_required_nobody_is_sent_to_enrol(client, operator):
    client.force_login(operator)
    assert client.get(QUEUE).status_code == 200


# --- an admin's reset -----------------------------------------------------------------------


def test_an_admin_resets_an_operators_two_factor_and_it_is_logged(client, admin, operator, caplog):
    turn_on(operator)
    url = reverse("desk:admin_reset_two_factor", args=[operator.pk])
    client.force_login(admin)
    operators = client.get(reverse("desk:admin_operators")).content.decode()
    assert f'href="{url}"' in operators and "Two-factor on" in operators
    assert "Reset the two-factor login of olga?" in client.get(url).content.decode()

    with caplog.at_level(logging.INFO, logger="printdesk.accounts.two_factor"):
        response = client.post(url)
    assert response["Location"] == reverse("desk:admin_operators")
    assert not two_factor.has_two_factor(operator)
    assert not StaticToken.objects.filter(device__user=operator).exists()
    assert f"two-factor login of user {operator.pk} reset by admin user {admin.pk}" in caplog.text
    assert password(Client())["Location"] == QUEUE


def test_only_admins_reset_and_not_their_own(client, admin, operator):
    turn_on(admin)
    url = reverse("desk:admin_reset_two_factor", args=[admin.pk])
    client.force_login(operator)
    assert client.post(url).status_code == 403
    client.force_login(admin)
    response = client.post(url, follow=True)
    assert "Turn your own two-factor login off" in response.content.decode()
    assert two_factor.has_two_factor(admin)
    missing = reverse("desk:admin_reset_two_factor", args=[987_654])
    assert client.post(missing).status_code == 404
    assert client.put(url).status_code == 405
