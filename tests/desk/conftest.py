"""What the desk's tests share."""

import pytest
from django.core.cache import cache


@pytest.fixture
def desk(client, operator):
    """The test client, logged in as an operator."""
    client.force_login(operator)
    return client


@pytest.fixture
def fresh_cache():
    """The dashboard's figures are cached between requests: a test starts and ends without."""
    cache.clear()
    yield
    cache.clear()
