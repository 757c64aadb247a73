"""Login lockout (django-axes): after AXES_FAILURE_LIMIT failures for one username from one
client IP, that pair is refused until the cool-off has passed, on the desk login page, the
admin site's login and POST /api/v1/auth/token alike. Another IP or username is unaffected; a
success clears the count."""

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from printdesk.security import lockout

LOGIN = reverse("desk:login")
TOKEN = "/api/v1/auth/token"
LIMIT = 3


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes


def _log_in(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    data = {"username": username, "password": password}
    return client.post(LOGIN, data, REMOTE_ADDR=ip)


def _token(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    body = json.dumps({"username": username, "password": password})
    return client.post(TOKEN, body, content_type="application/json", REMOTE_ADDR=ip)


def _fail(times: int, username: str = "olga", ip: str = "203.0.113.7") -> list[int]:
    return [_log_in(Client(), username, "wrong", ip).status_code for _ in range(times)]


def _move_failures_back(minutes: int) -> None:
    """As if the failures had happened `minutes` ago (axes reads its own clock)."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=minutes)
        attempt.save(update_fields=["attempt_time"])


def test_it_locks_the_username_and_ip_out_after_the_limit(client, operator):
    # The form again for each failure, until the one that reaches the limit.
    assert _fail(LIMIT) == [200] * (LIMIT - 1) + [429]

    # Locked: the right password is refused too, with a clear message on the login page.
    response = _log_in(client, "olga", "pw-olga")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page
    assert 'role="alert"' in page and 'name="password"' in page
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_before_the_limit_a_failure_is_only_a_wrong_password(client, db):
    response = _log_in(client, "olga", "wrong")
    assert response.status_code == 200
    assert "Too many failed logins" not in response.content.decode()


def test_another_ip_or_another_username_is_not_locked_out(operator, admin):
    _fail(LIMIT, "olga", "203.0.113.7")

    assert _log_in(Client(), "olga", "pw-olga", ip="198.51.100.9").status_code == 302
    assert _log_in(Client(), "ada", "pw-ada", ip="203.0.113.7").status_code == 302
    assert _log_in(Client(), "olga", "pw-olga", ip="203.0.113.7").status_code == 429


def test_the_lockout_ends_after_the_cool_off(operator):
    _fail(LIMIT)
    _move_failures_back(minutes=16)
    assert _log_in(Client(), "olga", "pw-olga").status_code == 302


def test_an_attempt_during_the_lockout_starts_the_cool_off_again(operator):
    _fail(LIMIT)
    _move_failures_back(minutes=14)
    assert _log_in(Client(), "olga", "pw-olga").status_code == 429  # refused, and counted

    _move_failures_back(minutes=2)  # 16 minutes after the first failures, 2 after the last
    assert _log_in(Client(), "olga", "pw-olga").status_code == 429
    _move_failures_back(minutes=16)
    assert _log_in(Client(), "olga", "pw-olga").status_code == 302


def test_a_success_resets_the_count(operator):
    _fail(LIMIT - 1)
    assert _log_in(Client(), "olga", "pw-olga").status_code == 302

    _fail(LIMIT - 1)
    assert _log_in(Client(), "olga", "pw-olga").status_code == 302


def test_the_api_token_endpoint_counts_failures_and_answers_429_json(client, operator):
    for _ in range(LIMIT - 1):
        assert _token(client, "olga", "wrong").status_code == 401
    assert _token(client, "olga", "wrong").status_code == 429

    response = _token(client, "olga", "pw-olga")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "locked_out"
    assert "Too many failed logins" in body["message"]
    assert response["Retry-After"] == "900"
    # Another address still gets its token.
    assert _token(client, "olga", "pw-olga", ip="198.51.100.9").status_code == 201


def test_failures_on_the_login_page_and_the_api_count_together(client, operator):
    _fail(LIMIT - 1)
    assert _token(client, "olga", "wrong").status_code == 429
    assert _log_in(client, "olga", "pw-olga").status_code == 429


def test_the_api_lockout_also_ends_after_the_cool_off(client, operator):
    for _ in range(LIMIT):
        _token(client, "olga", "wrong")
    _move_failures_back(minutes=16)
    assert _token(client, "olga", "pw-olga").status_code == 201


def test_the_admin_site_login_is_covered_too(admin):
    for _ in range(LIMIT):
        Client().post(
            "/admin/login/", {"username": "ada", "password": "wrong"}, REMOTE_ADDR="203.0.113.7"
        )
    response = Client().post(
        "/admin/login/", {"username": "ada", "password": "pw-ada"}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_behind_a_proxy_the_forwarded_client_ip_is_what_counts(settings, operator):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def attempt(client_ip: str, password: str):
        data = {"username": "olga", "password": password}
        forwarded = f"6.6.6.6, {client_ip}"  # the left entry is whatever the client claimed
        return Client().post(LOGIN, data, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded)

    for _ in range(LIMIT):
        attempt("203.0.113.7", "wrong")
    assert attempt("203.0.113.7", "pw-olga").status_code == 429
    # Same proxy, another client: not locked out.
    assert attempt("198.51.100.9", "pw-olga").status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_the_lockout_counts_only_real_addresses(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert lockout.client_ip(rf.get("/", REMOTE_ADDR="203.0.113.7")) == "203.0.113.7"
    garbage = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert lockout.client_ip(garbage) is None  # never a 500 from the address column
    request = rf.get("/")
    del request.META["REMOTE_ADDR"]
    assert lockout.client_ip(request) is None
