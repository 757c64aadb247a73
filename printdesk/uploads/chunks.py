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
        """Make what was written durable before the caller records the new offset."""
        self._handle.flush()
        os.fsync(self._handle.fileno())


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


def open_finished(name: str) -> BinaryIO:
    """The complete partial file, for reading into final storage."""
    return open(_path(name), "rb")


def delete(name: str) -> None:
    _path(name).unlink(missing_ok=True)
