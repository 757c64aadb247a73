"""The production set-up, for real: gunicorn started with gunicorn.conf.py serves pages, the
hashed and compressed static files whitenoise serves after `collectstatic`, and a large upload
streamed through tus (tests/production/conftest.py starts it)."""

import gzip
import hashlib
import http.client
import json
import re
import runpy
from collections.abc import Iterator

import requests

from printdesk.lib.staticfiles import StaticFilesStorage
from tests.production.conftest import ROOT
from tests.uploads.test_tuspy import binary_stl

HASHED_CSS = re.compile(r'href="(/static/printdesk/[\w/.-]+\.[0-9a-f]{12}\.css)"')
MB = 1024 * 1024


def test_it_serves_a_page_naming_hashed_static_files(gunicorn):
    response = requests.get(f"{gunicorn.base}/", timeout=30)

    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    assert HASHED_CSS.search(response.text), "the page links its stylesheet by a hashed name"


def test_static_files_come_hashed_gzipped_and_cached_for_ever(gunicorn):
    page = requests.get(f"{gunicorn.base}/", timeout=30).text
    css = HASHED_CSS.search(page).group(1)
    original = (gunicorn.static_root / css.removeprefix("/static/")).read_bytes()

    # requests would decompress for us: ask with http.client to see what travels.
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=30)
    connection.request("GET", css, headers={"Accept-Encoding": "gzip"})
    response = connection.getresponse()
    body = response.read()

    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert "immutable" in response.getheader("Cache-Control")
    assert gzip.decompress(body) == original
    assert len(body) < len(original)


def test_a_static_file_without_gzip_comes_plain(gunicorn):
    page = requests.get(f"{gunicorn.base}/", timeout=30).text
    css = HASHED_CSS.search(page).group(1)

    connection = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=30)
    connection.request("GET", css, headers={"Accept-Encoding": "identity"})
    response = connection.getresponse()

    assert response.status == 200
    assert response.getheader("Content-Encoding") is None
    assert response.read() == (gunicorn.static_root / css.removeprefix("/static/")).read_bytes()


def _pieces(data: bytes, size: int = MB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_large_upload_streams_through_in_one_request(gunicorn):
    data = binary_stl(300_000)  # 15 MB, sent as one PATCH in 1 MiB writes
    auth = {"Authorization": f"Bearer {gunicorn.seed['token']}", "Tus-Resumable": "1.0.0"}
    created = requests.post(
        f"{gunicorn.base}/uploads/",
        headers={
            **auth,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename cGFydC5zdGw=",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    path = created.headers["Location"].removeprefix(gunicorn.base)

    connection = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=120)
    connection.request(
        "PATCH",
        path,
        body=_pieces(data),
        headers={
            **auth,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(data)),
        },
    )
    patched = connection.getresponse()
    patched.read()

    assert patched.status == 204
    assert patched.getheader("Upload-Offset") == str(len(data))
    status = requests.get(f"{gunicorn.base}{path}status", headers=auth, timeout=30)
    assert json.loads(status.text)["sha256"] == hashlib.sha256(data).hexdigest()


def test_before_collectstatic_pages_name_the_plain_files(tmp_path):
    storage = StaticFilesStorage(location=tmp_path)  # no manifest written there

    assert storage.url("printdesk/base.css") == "/static/printdesk/base.css"


def _gunicorn_config(monkeypatch, **env: str) -> dict:
    for name in ("PRINTDESK_TRUSTED_PROXY_COUNT", "SECURE_PROXY_SSL_HEADER", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    # Set, so the file's setdefault leaves this process's environment as it was.
    monkeypatch.setenv("PRINTDESK_STATIC_MANIFEST", "0")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_with_no_proxy_configured_gunicorn_believes_no_forwarded_header(monkeypatch):
    config = _gunicorn_config(monkeypatch)

    assert config["forwarded_allow_ips"] == ""
    assert config["secure_scheme_headers"] == {}
    assert config["worker_class"] == "gthread"


def test_behind_a_proxy_gunicorn_believes_only_its_scheme_header_from_loopback(monkeypatch):
    config = _gunicorn_config(
        monkeypatch, PRINTDESK_TRUSTED_PROXY_COUNT="1", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )

    assert config["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert config["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
