"""Actors for the lifecycle tests (personas and the movable clock come from tests/conftest.py)."""

import pytest

from printdesk.jobs.actions import Actor


@pytest.fixture
def customer():
    return Actor.customer()


@pytest.fixture
def staff(operator):
    return Actor.staff(operator)


@pytest.fixture
def admin_staff(admin):
    return Actor.staff(admin)
