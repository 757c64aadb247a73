"""The bytes of uploads in progress in the S3 bucket, kept as tusd's S3 store keeps them.

No web process keeps anything of an upload on its own disk, so any process on any host can
take any PATCH (no sticky sessions):

- One S3 multipart upload per tus upload, created on its first PATCH directly under the
  final file's key (`files/YYYY/MM/<uuid>.<ext>`), its UploadId recorded on the row.
- A PATCH body goes up in parts of PRINTDESK_S3_MULTIPART_CHUNK_BYTES (at least 5 MiB, S3's
  smallest part but the last). What is left at the end of a PATCH goes up as a part too when
  it is 5 MiB or more (or the upload's last byte); a shorter tail is put as an object of its
  own, `uploads-partial/<uuid>/<random>`, and read back in front of the next PATCH's bytes.
  Memory per PATCH: under one part plus 5 MiB.
- `offset`, `s3_parts` and `s3_tail` are recorded together, only once the parts and the tail
  are in S3, so the offset counts only durable bytes. A process killed mid-PATCH leaves parts
  nobody recorded (the next PATCH uploads the same part numbers again, and completion lists
  only the recorded parts) and maybe a tail object under a new name (deleted with the rest).
- The lock across hosts is a lease on the row (`lock_owner`, `lock_expires_at`), taken by a
  conditional update and renewed while bytes arrive; a killed process's lease runs out.
- On the last byte the multipart upload is completed: the object is the final file, no copy.
  The content checks then read it with ranged GETs, through a read-ahead buffer.
"""

import hashlib
import io
import mimetypes
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone
from storages.utils import clean_name

from printdesk.files.checks import check_content
from printdesk.files.storage import StoredFile, extension
from printdesk.jobs.errors import InvalidInput
from printdesk.uploads.chunks import Busy, UploadWriter
from printdesk.uploads.models import TusUpload

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

MIN_PART = 5 * 1024 * 1024  # S3 refuses smaller parts, except the last
READ_AHEAD = 1024 * 1024  # the checks read a few KiB at a time: one GET per MiB instead
HASH_BYTES = 1024 * 1024


def _storage() -> "S3Storage":
    return default_storage  # type: ignore[return-value]  # partials() chose S3 by it


def _client() -> Any:
    return _storage().connection.meta.client


def _bucket() -> str:
    return _storage().bucket_name


def _key(name: str) -> str:
    """The bucket key of a storage name (under PRINTDESK_S3_PREFIX, if any)."""
    return _storage()._normalize_name(clean_name(name))


def _partial_prefix(upload: TusUpload) -> str:
    return _key(f"uploads-partial/{upload.uuid}") + "/"


def _part_bytes() -> int:
    return max(_storage().transfer_config.multipart_chunksize, MIN_PART)


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in ("NoSuchUpload", "NoSuchKey", "404")


# --- the lock -----------------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.UPLOAD_LOCK_SECONDS)


def take_lock(upload: TusUpload, owner: str) -> None:
    """The row's lease for `owner`, if nobody holds one that is still running (else Busy)."""
    now = timezone.now()
    taken = (
        TusUpload.objects.filter(pk=upload.pk)
        .filter(Q(lock_owner="") | Q(lock_expires_at__lte=now))
        .update(lock_owner=owner, lock_expires_at=now + _lease())
    )
    if taken:
        return
    if not TusUpload.objects.filter(pk=upload.pk).exists():
        raise TusUpload.DoesNotExist(str(upload.uuid))  # terminated or pruned meanwhile
    raise Busy(str(upload.uuid))


def renew_lock(upload: TusUpload, owner: str) -> None:
    if not TusUpload.objects.filter(pk=upload.pk, lock_owner=owner).update(
        lock_expires_at=timezone.now() + _lease()
    ):
        raise Busy(str(upload.uuid))  # the lease ran out and another request took it


def release_lock(upload: TusUpload, owner: str) -> None:
    TusUpload.objects.filter(pk=upload.pk, lock_owner=owner).update(
        lock_owner="", lock_expires_at=None
    )


class S3Partials:
    offset_always_true = True  # parts and tail are recorded once S3 holds them

    def create(self, upload: TusUpload) -> None:
        pass  # the multipart upload starts with the first PATCH: an unused upload costs nothing

    @contextmanager
    def writer(self, upload: TusUpload) -> Iterator[UploadWriter]:
        owner = secrets.token_hex(16)
        take_lock(upload, owner)
        try:
            yield S3Writer(upload, owner)
        finally:
            release_lock(upload, owner)


# --- the writer ---------------------------------------------------------------------------------


class S3Writer:
    """One request's writes: whole parts go up as they fill, the rest at `commit`."""

    def __init__(self, upload: TusUpload, owner: str) -> None:
        self._upload = upload
        self._owner = owner
        self._buffer = bytearray()
        self._parts: list[list[Any]] = []
        self._renewed = time.monotonic()

    def rewind(self) -> None:
        """Start from the recorded parts and tail; start the multipart upload if need be."""
        upload = self._upload
        if not upload.s3_upload_id:
            self._start_multipart()
        self._parts = [list(part) for part in upload.s3_parts or []]
        self._buffer = bytearray(self._read_tail())

    def _start_multipart(self) -> None:
        upload = self._upload
        name = f"files/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.{extension(upload.filename)}"
        content_type = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        started = _client().create_multipart_upload(
            Bucket=_bucket(), Key=_key(name), ContentType=content_type
        )
        upload.s3_key, upload.s3_upload_id = name, started["UploadId"]
        # Recorded at once, so termination and expiry can abort it even if no part follows.
        if not TusUpload.objects.filter(pk=upload.pk, lock_owner=self._owner).update(
            s3_key=upload.s3_key, s3_upload_id=upload.s3_upload_id
        ):
            self._abort(upload.s3_key, upload.s3_upload_id)
            raise Busy(str(upload.uuid))

    def _read_tail(self) -> bytes:
        upload = self._upload
        if not upload.s3_tail:
            return b""
        try:
            found = _client().get_object(Bucket=_bucket(), Key=upload.s3_tail)
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(upload.s3_tail) from error  # the data is gone: 410
            raise
        data = found["Body"].read()
        expected = upload.offset - sum(part[2] for part in self._parts)
        if len(data) != expected:
            raise FileNotFoundError(upload.s3_tail)
        return data

    def write(self, data: bytes) -> None:
        self._buffer += data
        part_bytes = _part_bytes()
        # A part goes only when at least 5 MiB stay behind: whatever the PATCH's size, its
        # end can then go as a part too, and a client sending 5 MiB or more never leaves a tail.
        while len(self._buffer) >= part_bytes + MIN_PART:
            with memoryview(self._buffer) as view:
                part = bytes(view[:part_bytes])  # one copy, not two
            self._send_part(part)
            del self._buffer[:part_bytes]
        if time.monotonic() - self._renewed > settings.UPLOAD_LOCK_SECONDS / 3:
            renew_lock(self._upload, self._owner)
            self._renewed = time.monotonic()

    def _send_part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        sent = _client().upload_part(
            Bucket=_bucket(),
            Key=_key(self._upload.s3_key),
            UploadId=self._upload.s3_upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append([number, sent["ETag"], len(data)])

    def discard(self) -> None:
        # Parts already sent are not recorded: the next PATCH sends those part numbers again.
        self.rewind()

    def commit(self, offset: int) -> None:
        """Send the rest as a part (5 MiB or more, or the last) or as the new tail object,
        then record offset, parts and tail at once, if this request still holds the lock."""
        upload = self._upload
        if offset == upload.offset:
            return
        tail = ""
        if self._buffer and (len(self._buffer) >= MIN_PART or offset == upload.length):
            self._send_part(bytes(self._buffer))
        elif self._buffer:
            tail = _partial_prefix(upload) + secrets.token_hex(8)
            _client().put_object(Bucket=_bucket(), Key=tail, Body=bytes(self._buffer))
        self._buffer = bytearray()
        recorded = TusUpload.objects.filter(
            pk=upload.pk, offset=upload.offset, lock_owner=self._owner
        ).update(offset=offset, s3_parts=self._parts, s3_tail=tail)
        if not recorded:
            self._delete_object(tail)
            raise Busy(str(upload.uuid))
        self._delete_object(upload.s3_tail)  # its bytes are in a part, or in the new tail
        upload.offset, upload.s3_parts, upload.s3_tail = offset, self._parts, tail

    def reconcile(self) -> None:
        pass  # nothing is recorded before it is durable, so nothing is ever past the offset

    def store(self, sha256: str | None) -> StoredFile:
        """Complete the multipart upload (the object is now the final file), check its
        content, and take its sha256 from the running hash or one streamed read."""
        upload = self._upload
        name = upload.filename
        if upload.length > settings.MAX_FILE_BYTES:  # the limit fell while it was on its way
            self.delete()
            raise InvalidInput(f"{name} is larger than the limit per file.", field="file")
        self._complete()
        key = _key(upload.s3_key)
        try:
            with File(_RangedReader.open(key, upload.length), name=name) as finished:
                finished.size = upload.length
                check_content(finished, extension(name), name=name, field="file")
        except InvalidInput:
            self._delete_object(key)
            raise
        if sha256 is None:
            sha256 = _sha256(key)
        return StoredFile(key=upload.s3_key, original_name=name, size=upload.length, sha256=sha256)

    def _complete(self) -> None:
        upload = self._upload
        parts = [{"PartNumber": n, "ETag": etag} for n, etag, _size in upload.s3_parts or []]
        key = _key(upload.s3_key)
        try:
            _client().complete_multipart_upload(
                Bucket=_bucket(),
                Key=key,
                UploadId=upload.s3_upload_id,
                MultipartUpload={"Parts": parts},
            )
        except ClientError as error:
            # A process killed after completing, before recording it: the object is there.
            if not (_missing(error) and _object_size(key) == upload.length):
                raise FileNotFoundError(key) from error

    def cleanup(self) -> None:
        for key in _keys_under(_partial_prefix(self._upload)):
            self._delete_object(key)

    def delete(self) -> None:
        """Abort the multipart upload, delete the tail (and any a killed request left), and
        the final object if a killed request completed it but never recorded that."""
        upload = self._upload
        if upload.s3_upload_id:
            self._abort(upload.s3_key, upload.s3_upload_id)
            self._delete_object(_key(upload.s3_key))
        self.cleanup()

    def _abort(self, name: str, upload_id: str) -> None:
        try:
            _client().abort_multipart_upload(Bucket=_bucket(), Key=_key(name), UploadId=upload_id)
        except ClientError as error:
            if not _missing(error):
                raise

    def _delete_object(self, key: str) -> None:
        if key:
            _client().delete_object(Bucket=_bucket(), Key=key)


def _keys_under(prefix: str) -> list[str]:
    pages = _client().get_paginator("list_objects_v2").paginate(Bucket=_bucket(), Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _object_size(key: str) -> int | None:
    try:
        return int(_client().head_object(Bucket=_bucket(), Key=key)["ContentLength"])
    except ClientError:
        return None


def _sha256(key: str) -> str:
    digest = hashlib.sha256()
    body = _client().get_object(Bucket=_bucket(), Key=key)["Body"]
    try:
        for chunk in body.iter_chunks(HASH_BYTES):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


class _RangedReader(io.RawIOBase):
    """An object read by ranged GETs, seekable, for the content checks.

    django-storages' S3File would first download the whole object to a temporary file; the
    checks need only the head, the tail, or (3MF) one part, so they read just that.
    """

    def __init__(self, key: str, size: int) -> None:
        self._key = key
        self._size = size
        self._position = 0

    @classmethod
    def open(cls, key: str, size: int) -> io.BufferedReader:
        return io.BufferedReader(cls(key, size), buffer_size=READ_AHEAD)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size or len(buffer) == 0:
            return 0
        last = min(self._position + len(buffer), self._size) - 1
        body = _client().get_object(
            Bucket=_bucket(), Key=self._key, Range=f"bytes={self._position}-{last}"
        )["Body"]
        data = body.read()
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)
