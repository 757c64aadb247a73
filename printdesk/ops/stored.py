"""Every stored object the database refers to, and reading one as a stream.

A print file is a row *and* an object in storage; a backup needs both. The rows that name an
object: FileVersion.blob and DraftUpload.blob (with the sha256 taken when the file arrived),
Analysis.preview, .thumbnail and .viewer_mesh (PNGs and the 3D view's mesh the worker made, no
recorded hash), and a finished TusUpload's stored_key while no version has taken it yet.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.files.storage import Storage, default_storage

from printdesk.files.models import Analysis, DraftUpload, FileVersion
from printdesk.uploads.models import OwnerKind, TusUpload, UploadState

CHUNK_BYTES = 64 * 1024


@dataclass
class Referenced:
    key: str
    # The sha256 the database recorded when the file arrived; "" where it keeps none.
    recorded_sha256: str = ""
    referenced_by: list[str] = field(default_factory=list)


def referenced_files() -> list[Referenced]:
    """Each key the database names once, with every row naming it, in key order."""
    found: dict[str, Referenced] = defaultdict(lambda: Referenced(key=""))
    for owner, key, sha256 in _references():
        entry = found[key]
        entry.key = key
        entry.recorded_sha256 = entry.recorded_sha256 or sha256
        entry.referenced_by.append(owner)
    return [found[key] for key in sorted(found)]


def _references() -> Iterator[tuple[str, str, str]]:
    for pk, key, sha256 in FileVersion.objects.values_list("pk", "blob", "sha256").iterator():
        yield f"files.fileversion {pk}", key, sha256
    for pk, key, sha256 in DraftUpload.objects.values_list("pk", "blob", "sha256").iterator():
        yield f"files.draftupload {pk}", key, sha256
    images = Analysis.objects.values_list("pk", "preview", "thumbnail", "viewer_mesh")
    for pk, *keys in images.iterator():
        for key in keys:
            if key:
                yield f"files.analysis {pk}", key, ""
    # A draft's upload names the DraftUpload's key (listed above) or, once the draft is
    # discarded with its file, nothing that still exists: only job and staff uploads count.
    finished = TusUpload.objects.filter(state=UploadState.COMPLETE).exclude(stored_key="")
    finished = finished.exclude(owner_kind=OwnerKind.DRAFT)
    for pk, key, sha256 in finished.values_list("pk", "stored_key", "sha256").iterator():
        yield f"uploads.tusupload {pk}", key, sha256


def read_chunks(key: str, storage: Storage = default_storage) -> Iterator[bytes]:
    """The stored object's bytes, 64 KiB at a time; FileNotFoundError if it is not there.

    django-storages' S3 files copy the whole object to a temporary file on open, so for S3
    the body is read from boto3 as it arrives (as printdesk.files.downloads does).
    """
    if storage.__class__.__module__.startswith("storages.backends.s3"):
        yield from _s3_chunks(storage, key)
        return
    with storage.open(key, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def _s3_chunks(storage: Storage, key: str) -> Iterator[bytes]:
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    name = storage._normalize_name(clean_name(key))  # type: ignore[attr-defined]
    try:
        body = storage.bucket.Object(name).get()["Body"]  # type: ignore[attr-defined]
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise FileNotFoundError(key) from error
        raise
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()
