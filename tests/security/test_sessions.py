"""Staff sessions: logged out after SESSION_IDLE_TIMEOUT without a request and
SESSION_COOKIE_AGE after logging in, whatever the activity; logout (POST only) ends the
session. Time is moved by backdating the stamps the session holds (the middleware reads the
wall clock, not the `clock` fixture's)."""

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.urls import reverse

from printdesk.security.middleware import StaffIdleTimeoutMiddleware as Idle

QUEUE = reverse("desk:queue")
LOGIN = reverse("desk:login")
LOGOUT = reverse("desk:logout")


@pytest.fixture
def desk(client, operator):
    response = client.post(LOGIN, {"username": "olga", "password": "pw-olga"})
    assert response.status_code == 302
    return client


def _backdate(client, key: str, seconds: int) -> None:
    session = client.session
    session[key] -= seconds
    session.save()


def test_the_settings_give_a_12_hour_lifetime_and_a_60_minute_idle_timeout():
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_IDLE_TIMEOUT == 60 * 60


def test_a_login_stamps_the_session(desk):
    session = desk.session
    assert session[Idle.STARTED] == session[Idle.SEEN]


def test_an_active_session_carries_on(desk):
    _backdate(desk, Idle.SEEN, 59 * 60)
    assert desk.get(QUEUE).status_code == 200
    # The request counted as activity: another 59 minutes on, still logged in.
    _backdate(desk, Idle.SEEN, 59 * 60)
    assert desk.get(QUEUE).status_code == 200


def test_an_idle_session_is_logged_out_with_a_message(desk):
    _backdate(desk, Idle.SEEN, 61 * 60)
    old_key = desk.session.session_key

    response = desk.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={QUEUE}"
    assert not Session.objects.filter(session_key=old_key).exists()
    page = desk.get(response["Location"]).content.decode()
    assert "You were logged out after 60 minutes without activity." in page
    assert desk.get(QUEUE).status_code == 302  # and stays logged out


def test_a_session_ends_after_its_lifetime_however_active(desk):
    _backdate(desk, Idle.STARTED, 12 * 3600 + 1)

    response = desk.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert SESSION_KEY not in desk.session
    assert "Your session ended after 12 hours" in desk.get(response["Location"]).content.decode()


def test_an_idle_session_calling_the_api_gets_401_not_a_redirect(desk):
    _backdate(desk, Idle.SEEN, 61 * 60)

    response = desk.get("/api/v1/jobs")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert SESSION_KEY not in desk.session


def test_the_session_cookie_expires_with_the_lifetime(desk):
    cookie = desk.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 12 * 3600
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_logout_is_post_only_and_ends_the_session(desk):
    old_key = desk.session.session_key

    assert desk.get(LOGOUT).status_code == 405
    assert desk.get(QUEUE).status_code == 200  # a link or a prefetch logs no one out

    response = desk.post(LOGOUT)

    assert response.status_code == 302
    assert not Session.objects.filter(session_key=old_key).exists()
    assert desk.get(QUEUE).status_code == 302


def test_reading_pages_writes_the_session_at_most_once_a_minute(desk):
    desk.get(QUEUE)
    before = desk.session[Idle.SEEN]
    desk.get(QUEUE)
    assert desk.session[Idle.SEEN] == before
    _backdate(desk, Idle.SEEN, 61)
    desk.get(QUEUE)
    assert desk.session[Idle.SEEN] > before - 61
