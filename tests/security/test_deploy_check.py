"""`manage.py check --deploy` passes with production's minimum of settings, and the HTTPS
defaults follow DEBUG, SITE_URL and PRINTDESK_HTTPS, each in a fresh process (settings are
read once, at import)."""

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Variables that would change what the settings decide; the tests set the ones they mean.
CLEARED = (
    "DEBUG",
    "SITE_URL",
    "PRINTDESK_HTTPS",
    "SECURE_SSL_REDIRECT",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests set it in this process
)


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return {**env, "PRINTDESK_VAR_DIR": str(tmp_path), **values}


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(50))


def _settings(tmp_path: Path, **values: str) -> dict:
    names = [
        "HTTPS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
    ]
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="printdesk.settings", **values)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_at_warning_level(tmp_path):
    env = _env(tmp_path, DEBUG="0", SECRET_KEY=_secret_key(), ALLOWED_HOSTS="print.example.com")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_with_the_development_secret_key(tmp_path):
    env = _env(tmp_path, DEBUG="0", ALLOWED_HOSTS="print.example.com")
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


def test_production_defaults_are_https_only(tmp_path):
    found = _settings(tmp_path, DEBUG="0")
    assert found["SESSION_COOKIE_SECURE"] is True and found["CSRF_COOKIE_SECURE"] is True
    assert found["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert found["SECURE_SSL_REDIRECT"] is False  # the TLS proxy redirects


def test_a_plain_http_site_url_or_debug_gives_plain_http_cookies(tmp_path):
    for values in ({"SITE_URL": "http://127.0.0.1:8000"}, {"DEBUG": "1"}):
        found = _settings(tmp_path, **values)
        assert found["SESSION_COOKIE_SECURE"] is False, values
        assert found["SECURE_HSTS_SECONDS"] == 0, values


def test_printdesk_https_says_so_outright(tmp_path):
    found = _settings(tmp_path, SITE_URL="http://127.0.0.1:8000", PRINTDESK_HTTPS="1")
    assert found["HTTPS"] is True and found["SESSION_COOKIE_SECURE"] is True
    found = _settings(tmp_path, PRINTDESK_HTTPS="0", SECURE_SSL_REDIRECT="1")
    assert found["HTTPS"] is False and found["SECURE_SSL_REDIRECT"] is True
