"""Print file downloads, streamed from storage to the client whatever the storage is.

django-storages' S3 files download the whole object into a spooled temporary file on open,
before the first byte reaches the client: a 2 GiB file would wait, and fill the server's disk.
So for S3 the object's body is streamed here straight from boto3 (`iter_chunks`), and for
local disk Django's FileResponse reads the file as the client takes it.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.core.files.storage import Storage
from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from printdesk.files.models import FileVersion

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

STREAM_BYTES = 64 * 1024
CONTENT_TYPE = "application/octet-stream"  # an attachment, never something to render


class MissingFile(FileNotFoundError):
    """The version's bytes are not in storage (the views answer 410 and log it)."""


def file_response(version: FileVersion) -> StreamingHttpResponse | FileResponse:
    """The version's bytes as an attachment under its sanitised name, streamed."""
    storage = version.blob.storage
    name = version.blob.name or ""
    if _is_s3(storage):
        return _s3_response(storage, name, version.original_name)  # type: ignore[arg-type]
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError as error:
        raise MissingFile(name) from error
    return FileResponse(
        handle, as_attachment=True, filename=version.original_name, content_type=CONTENT_TYPE
    )


def _is_s3(storage: Storage) -> bool:
    # By module name: importing boto3 costs every worker some 20 MB it needs only with S3.
    # (default_storage is a lazy proxy: its __class__ is the real storage's, its type() not.)
    return storage.__class__.__module__.startswith("storages.backends.s3")


def _s3_response(storage: "S3Storage", name: str, filename: str) -> StreamingHttpResponse:
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    key = storage._normalize_name(clean_name(name))  # the storage's own key (its location)
    try:
        found = storage.bucket.Object(key).get()
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise MissingFile(name) from error
        raise
    body = found["Body"]

    def chunks() -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(STREAM_BYTES)
        finally:
            body.close()  # the client went away: give the connection back

    response = StreamingHttpResponse(chunks(), content_type=CONTENT_TYPE)
    response["Content-Length"] = str(found["ContentLength"])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
