"""GET /healthz: 200 with JSON when the database and file storage answer, 503 otherwise."""

from django.db import connection
from django.db.utils import OperationalError


def test_it_answers_ok_when_everything_answers(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {"database": True, "storage": True}}


def test_it_answers_503_when_storage_is_unavailable(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "not-mounted"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "storage": False},
    }


def test_it_answers_503_when_the_database_is_unavailable(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr(connection, "cursor", refuse)
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": False, "storage": True}


def test_it_needs_no_login(client, db):
    assert client.get("/healthz").status_code == 200


def test_it_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
