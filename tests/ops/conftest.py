import pytest

from printdesk.catalogue.models import Material


@pytest.fixture
def pla(transactional_db) -> Material:
    """The material tests/ops/drill.submit asks for, without the whole demo."""
    return Material.objects.create(name="PLA", process="fdm", colours=["orange"])
