"""A real S3 endpoint for any test: moto's server mode, in its own process.

tests/conftest.py imports these fixtures, so every suite can ask for S3 storage:

- `moto_endpoint` (session): starts `python -m moto.server` on 127.0.0.1 with a free port,
  waits until it answers, stops it when the session ends
- `bucket`: a new, empty bucket for one test, with boto3 helpers to look inside it
- `s3_storage`: STORAGES["default"] switched to S3 against that bucket, configured the way a
  deployment is (the PRINTDESK_S3_* variables read by printdesk.settings._storages)

Never moto's in-process mock: the point is a real HTTP endpoint, as MinIO or R2 would be.
"""

import hashlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from printdesk.settings import _storages

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_answering(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto server exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # polling for readiness, not waiting on luck
    raise RuntimeError(f"moto server did not answer within 30 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Bucket:
    """One bucket on the moto server, seen through boto3 rather than through Django."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.endpoint = endpoint
        self.name = name
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
        self.client.create_bucket(Bucket=name)

    def keys(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)

    def body(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def sha256(self, key: str) -> str:
        return hashlib.sha256(self.body(key)).hexdigest()

    def etag(self, key: str) -> str:
        return self.head(key)["ETag"].strip('"')


@pytest.fixture
def bucket(moto_endpoint) -> Bucket:
    # A bucket per test: what a test finds in it is what that test put there.
    return Bucket(moto_endpoint, f"printdesk-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def s3_storage(settings, monkeypatch, bucket) -> Bucket:
    """Print files go to `bucket`, configured through the environment as in production."""
    return use_s3(settings, monkeypatch, bucket)


def use_s3(settings, monkeypatch, bucket: Bucket) -> Bucket:
    """Switch storage to `bucket` (what s3_storage does before a test, for use within one)."""
    for name, value in {
        "PRINTDESK_STORAGE": "s3",
        "PRINTDESK_S3_BUCKET": bucket.name,
        "PRINTDESK_S3_ENDPOINT_URL": bucket.endpoint,
        "PRINTDESK_S3_REGION": REGION,
        "PRINTDESK_S3_ADDRESSING_STYLE": "path",
        "PRINTDESK_S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "PRINTDESK_S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }.items():
        monkeypatch.setenv(name, value)
    # A new dict, so Django's setting_changed handler drops the cached storages (and
    # default_storage, which FileField.storage is) and rebuilds them from this.
    settings.STORAGES = _storages()
    return bucket
