"""The bytes of uploads in progress, on local disk or (chunks_s3.py) in the S3 bucket.

`partials()` chooses, in this one place: with S3 storage the bytes go to the bucket, so any
web process on any host can take any PATCH; on local disk, one partial file per upload under
MEDIA_ROOT/uploads-partial. Both offer the same per-upload writer (`UploadWriter`): rewind to
the recorded offset, write, discard, commit (make durable and record the new offset),
reconcile, store the finished file, clean up or delete.

On local disk writers take an exclusive, non-blocking flock on the partial file. The operating
system releases it when a process dies, so a crash mid-chunk never leaves an upload locked; and
two requests for one upload (two tabs, a retry racing its original) can never interleave bytes.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db.models import F

from printdesk.files.storage import StoredFile, store_upload
from printdesk.uploads.models import TusUpload


class Busy(Exception):
    """Another request is writing to this upload right now."""


def _path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads-partial" / name


def create(name: str) -> None:
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)


def exists(name: str) -> bool:
    return _path(name).exists()


def size(name: str) -> int:
    return _path(name).stat().st_size


class Writer:
    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    def size(self) -> int:
        return os.fstat(self._handle.fileno()).st_size

    def truncate(self, length: int) -> None:
        """Cut the file back to `length` bytes and write from there."""
        self._handle.truncate(length)
        self._handle.seek(length)

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def sync(self) -> None:
        """Make what was written durable before the caller records the new offset.

        fdatasync, not fsync: it still writes the file's size (needed to read the data back)
        but skips timestamps, one journal commit fewer per chunk.
        """
        self._handle.flush()
        os.fdatasync(self._handle.fileno())


@contextmanager
def writer(name: str) -> Iterator[Writer]:
    """The upload's partial file, locked for this request alone (else Busy)."""
    with open(_path(name), "r+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise Busy(name) from error
        try:
            yield Writer(handle)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class FinishedFile(File):
    """The complete partial file, for store_upload.

    It names a path the way Django's TemporaryUploadedFile does, so FileSystemStorage moves
    that into place (a rename on the same filesystem) instead of copying a gigabyte; S3Storage
    ignores the path and sends the bytes by multipart upload. The path is a second hard link
    to the partial file: the partial file itself stays where it is until the upload is
    recorded as complete, so a request looking at the upload meanwhile never finds it gone.
    """

    def __init__(self, path: Path, filename: str) -> None:
        super().__init__(open(path, "rb"), name=filename)  # name: the display name
        self.path = path

    def temporary_file_path(self) -> str:
        link = _finishing(self.path)
        link.unlink(missing_ok=True)
        os.link(self.path, link)
        return str(link)


def _finishing(path: Path) -> Path:
    return path.with_name(path.name + ".finishing")


def open_finished(name: str, filename: str) -> FinishedFile:
    """The complete partial file, for store_upload (`filename` is the name it is stored as)."""
    return FinishedFile(_path(name), filename)


def delete(name: str) -> None:
    _path(name).unlink(missing_ok=True)
    _finishing(_path(name)).unlink(missing_ok=True)  # left behind if storing it failed


# --- one interface for both places -------------------------------------------------------------


class UploadWriter(Protocol):
    """One request's hold on an upload's partial data (taken by `Partials.writer`)."""

    def rewind(self) -> None:
        """Drop anything past the recorded offset, and write from there."""

    def write(self, data: bytes) -> None: ...

    def discard(self) -> None:
        """Forget what this request wrote (a checksum mismatch)."""

    def commit(self, offset: int) -> None:
        """Make the bytes durable, then record `offset` on the upload (Busy if the lock went)."""

    def reconcile(self) -> None:
        """Make the recorded offset match what is really stored (after a crash)."""

    def store(self, sha256: str | None) -> StoredFile:
        """Check and store the complete file (InvalidInput if the checks refuse it)."""

    def cleanup(self) -> None:
        """After the result is recorded: drop what the finished upload no longer needs."""

    def delete(self) -> None:
        """Termination or expiry: every byte of the unfinished upload goes."""


class Partials(Protocol):
    # Whether the recorded offset always matches the stored data (S3: nothing is recorded
    # before it is durable). Then only an upload whose last byte arrived needs `recover`.
    offset_always_true: bool

    def create(self, upload: TusUpload) -> None: ...

    def writer(self, upload: TusUpload) -> AbstractContextManager[UploadWriter]:
        """The upload locked for this request alone: Busy if another holds it,
        FileNotFoundError or TusUpload.DoesNotExist if it is gone."""


def partials() -> Partials:
    """Where partial data lives: in the bucket with S3 storage, else on local disk.

    The bucket's multipart upload becomes the final object in place, so the choice follows the
    storage of finished files rather than a setting of its own.
    """
    # By module name, as files/downloads.py does: boto3 is imported only with S3.
    if default_storage.__class__.__module__.startswith("storages.backends.s3"):
        from printdesk.uploads import chunks_s3

        return chunks_s3.S3Partials()
    return LocalPartials()


class LocalWriter:
    def __init__(self, upload: TusUpload, writer: Writer) -> None:
        self._upload = upload
        self._writer = writer

    def rewind(self) -> None:
        self._writer.truncate(self._upload.offset)

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    def discard(self) -> None:
        self._writer.truncate(self._upload.offset)

    def commit(self, offset: int) -> None:
        self._writer.sync()  # the offset is recorded only after the bytes are on disk
        start, self._upload.offset = self._upload.offset, offset
        TusUpload.objects.filter(pk=self._upload.pk, offset=start).update(offset=offset)

    def reconcile(self) -> None:
        """Cut off bytes a killed request left past the offset; lower the offset to a file
        that lost synced bytes (counted in `rewinds`: a kept running hash no longer holds)."""
        upload, real = self._upload, self._writer.size()
        if real > upload.offset:
            self._writer.truncate(upload.offset)
        elif real < upload.offset:
            TusUpload.objects.filter(pk=upload.pk, offset=upload.offset).update(
                offset=real, rewinds=F("rewinds") + 1
            )
            upload.offset, upload.rewinds = real, upload.rewinds + 1

    def store(self, sha256: str | None) -> StoredFile:
        with open_finished(str(self._upload.uuid), self._upload.filename) as finished:
            return store_upload(finished, field="file", sha256=sha256)

    def cleanup(self) -> None:
        delete(str(self._upload.uuid))

    def delete(self) -> None:
        delete(str(self._upload.uuid))


class LocalPartials:
    offset_always_true = False  # a killed request may leave bytes past it; a crash, fewer

    def create(self, upload: TusUpload) -> None:
        create(str(upload.uuid))

    @contextmanager
    def writer(self, upload: TusUpload) -> Iterator[UploadWriter]:
        with writer(str(upload.uuid)) as locked:
            yield LocalWriter(upload, locked)
