import pytest

from printdesk.lib.env import envbool, envint
from printdesk.settings import _email


def test_envbool_reads_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert envbool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert envbool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert envbool("FLAG", True) is True


def test_envbool_and_envint_fail_loudly_on_nonsense(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ValueError, match="FLAG"):
        envbool("FLAG", False)
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ValueError, match="COUNT"):
        envint("COUNT", 1)


def test_email_url_configures_smtp_with_tls():
    config = _email("smtp://user%40x:p%2Fw@mail.example.com:587?tls=1")
    assert config["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
    assert config["EMAIL_HOST"] == "mail.example.com"
    assert config["EMAIL_PORT"] == 587
    assert config["EMAIL_HOST_USER"] == "user@x"
    assert config["EMAIL_HOST_PASSWORD"] == "p/w"
    assert config["EMAIL_USE_TLS"] is True
    assert config["EMAIL_USE_SSL"] is False


def test_email_url_file_and_console():
    assert _email("file:///srv/printdesk/mail")["EMAIL_FILE_PATH"] == "/srv/printdesk/mail"
    assert _email("console:")["EMAIL_BACKEND"].endswith("console.EmailBackend")


def test_email_url_refuses_an_unknown_scheme():
    with pytest.raises(ValueError, match="EMAIL_URL"):
        _email("carrier-pigeon://coop")


def test_sqlite_is_set_up_for_a_web_process_and_a_worker_at_once(settings, db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings only apply on SQLite")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
