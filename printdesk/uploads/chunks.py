"""The bytes of uploads in progress: one partial file per upload on local disk.

Kept behind this small interface (create, size, writer, open_finished, delete) so that an S3
multipart implementation can replace it: a writer then appends parts instead of bytes.

Writers take an exclusive, non-blocking flock on the partial file. The operating system
releases it when a process dies, so a crash mid-chunk never leaves an upload locked; and two
requests for one upload (two tabs, a retry racing its original) can never interleave bytes.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import File


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
