"""Actors and a movable clock for the lifecycle tests (personas come from tests/conftest.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from printdesk.jobs.actions import Actor


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The personas are created with passwords; the production hasher costs ~0.3 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def customer():
    return Actor.customer()


@pytest.fixture
def staff(operator):
    return Actor.staff(operator)


@pytest.fixture
def admin_staff(admin):
    return Actor.staff(admin)


class Clock:
    """Moves django.utils.timezone.now (and with it localdate) forward from the real time."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._real_now = timezone.now

    def now(self):
        return self._real_now() + self.offset

    def advance(self, *, days: int) -> None:
        self.offset += timedelta(days=days)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock
