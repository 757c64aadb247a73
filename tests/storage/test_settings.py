"""STORAGES from the environment: local disk unless PRINTDESK_STORAGE=s3, and loud failures."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, default_storage
from storages.backends.s3 import S3Storage

from printdesk.files.models import DraftUpload, FileVersion
from printdesk.settings import _storages

S3_VARIABLES = [
    "PRINTDESK_STORAGE",
    "PRINTDESK_S3_BUCKET",
    "PRINTDESK_S3_ENDPOINT_URL",
    "PRINTDESK_S3_REGION",
    "PRINTDESK_S3_ACCESS_KEY_ID",
    "PRINTDESK_S3_SECRET_ACCESS_KEY",
    "PRINTDESK_S3_MULTIPART_THRESHOLD_BYTES",
    "PRINTDESK_S3_MULTIPART_CHUNK_BYTES",
    "PRINTDESK_S3_MAX_CONCURRENCY",
    "PRINTDESK_S3_ADDRESSING_STYLE",
    "PRINTDESK_S3_PREFIX",
]


@pytest.fixture
def env(monkeypatch):
    for name in S3_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_nothing_set_means_local_disk(env):
    storages = _storages()
    assert storages["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert storages["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")


def test_s3_takes_everything_from_the_environment(env):
    env.setenv("PRINTDESK_STORAGE", "S3")
    env.setenv("PRINTDESK_S3_BUCKET", "prints")
    env.setenv("PRINTDESK_S3_ENDPOINT_URL", "https://minio.example.com")
    env.setenv("PRINTDESK_S3_REGION", "auto")
    env.setenv("PRINTDESK_S3_ACCESS_KEY_ID", "key")
    env.setenv("PRINTDESK_S3_SECRET_ACCESS_KEY", "secret")
    env.setenv("PRINTDESK_S3_MULTIPART_CHUNK_BYTES", str(16 * 1024**2))

    default = _storages()["default"]

    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "prints"
    assert options["endpoint_url"] == "https://minio.example.com"
    assert options["region_name"] == "auto"
    assert (options["access_key"], options["secret_key"]) == ("key", "secret")
    assert options["file_overwrite"] is False  # stored files are immutable
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
    assert options["transfer_config"].multipart_chunksize == 16 * 1024**2
    assert options["transfer_config"].multipart_threshold == 8 * 1024**2


def test_without_keys_boto3_finds_its_own_credentials(env):
    env.setenv("PRINTDESK_STORAGE", "s3")
    env.setenv("PRINTDESK_S3_BUCKET", "prints")
    options = _storages()["default"]["OPTIONS"]
    assert "access_key" not in options and "secret_key" not in options
    assert options["endpoint_url"] is None  # AWS itself


def test_s3_without_a_bucket_fails_at_startup(env):
    env.setenv("PRINTDESK_STORAGE", "s3")
    with pytest.raises(ImproperlyConfigured, match="PRINTDESK_S3_BUCKET"):
        _storages()


def test_an_unknown_storage_fails_at_startup(env):
    env.setenv("PRINTDESK_STORAGE", "ftp")
    with pytest.raises(ImproperlyConfigured, match="PRINTDESK_STORAGE"):
        _storages()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PRINTDESK_S3_MULTIPART_CHUNK_BYTES", str(1024**2), "at least 5 MiB"),
        ("PRINTDESK_S3_MAX_CONCURRENCY", "0", "at least 1"),
        ("PRINTDESK_S3_ADDRESSING_STYLE", "sideways", "auto, path or virtual"),
    ],
)
def test_nonsense_transfer_settings_fail_at_startup(env, name, value, message):
    env.setenv("PRINTDESK_STORAGE", "s3")
    env.setenv("PRINTDESK_S3_BUCKET", "prints")
    env.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=f"{name} must be {message}"):
        _storages()


def test_file_fields_follow_the_configured_storage(settings, s3_storage):
    for model in (FileVersion, DraftUpload):
        assert isinstance(model._meta.get_field("blob").storage, S3Storage)
    assert default_storage.bucket_name == s3_storage.name


def test_local_disk_is_what_the_tests_use_otherwise(settings):
    assert isinstance(default_storage, FileSystemStorage)
    assert str(default_storage.location) == str(settings.MEDIA_ROOT)
