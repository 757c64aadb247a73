"""GET /healthz: liveness. The process answers, and nothing else is asked of it."""

from django.db import connection
from django.db.utils import OperationalError


def test_it_answers_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_it_answers_ok_while_the_database_is_down(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr(connection, "cursor", refuse)
        response = client.get("/healthz")

    assert response.status_code == 200


def test_it_answers_ok_while_storage_is_missing(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "not-mounted"

    assert client.get("/healthz").status_code == 200


def test_it_needs_no_login(client, db):
    assert client.get("/healthz").status_code == 200


def test_it_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
