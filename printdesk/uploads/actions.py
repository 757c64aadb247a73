"""The tus upload actions: create, append, recover, finish, terminate, prune.

The views parse headers and call these; each raises a TusError that names its status code.
"""

import base64
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from printdesk.files.models import DraftUpload, FileVersion
from printdesk.files.storage import StoredFile, discard_drafts, extension, sanitise_filename
from printdesk.jobs.errors import InvalidInput
from printdesk.jobs.models import Job
from printdesk.uploads import chunks
from printdesk.uploads.auth import Uploader
from printdesk.uploads.models import OwnerKind, TusUpload, UploadState

# Read the request body in pieces this size: memory stays flat whatever the chunk size (one
# piece per PATCH in progress). Each read costs a pass through Python's layers of the WSGI input
# (gunicorn's body reader, Django's LimitedStream): with 64 KiB pieces those took more time than
# the bytes did. 256 KiB pieces keep most of the gain of 1 MiB ones (which halved a chunk's
# time on loopback) with less memory per upload in flight (docs/benchmarks.md).
READ_BYTES = 256 * 1024


class RunningHashes:
    """sha256 of each upload's bytes so far, kept in this process while its chunks arrive.

    A hash's state cannot be saved between requests, so it lives here, keyed by upload (and its
    rewinds) and the offset it has reached. The next chunk continues it only when it starts at
    that offset; a chunk served by another process, a restart or an offset that went back
    simply misses, and the completion then hashes the whole file instead. The result is the
    same either way.
    """

    LIMIT = 256  # uploads remembered at once; each costs a few hundred bytes

    def __init__(self) -> None:
        self._hashes: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload: str, offset: int) -> Any:
        """The running hash at `offset` (removed: the caller gives it back with `keep`)."""
        with self._lock:
            kept = self._hashes.pop(upload, None)
        if kept is not None and kept[0] == offset:
            return kept[1]
        return hashlib.sha256() if offset == 0 else None

    def keep(self, upload: str, offset: int, digest: Any) -> None:
        with self._lock:
            self._hashes[upload] = (offset, digest)
            while len(self._hashes) > self.LIMIT:
                self._hashes.popitem(last=False)

    def finished(self, upload: str, length: int) -> str | None:
        """The hex sha256 of the whole upload, if this process saw every byte of it."""
        with self._lock:
            kept = self._hashes.pop(upload, None)
        return kept[1].hexdigest() if kept is not None and kept[0] == length else None


running_hashes = RunningHashes()


def _hash_key(upload: TusUpload) -> str:
    return f"{upload.uuid}/{upload.rewinds}"


class TusError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Gone(TusError):
    status = 410


class TooLarge(TusError):
    status = 413


class UnsupportedType(TusError):
    status = 415


class OffsetMismatch(TusError):
    status = 409


class Locked(TusError):
    status = 423


class ChecksumMismatch(TusError):
    status = 460


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> "Checksum":
        algorithm, _, encoded = header.strip().partition(" ")
        if algorithm.lower() != "sha1":
            raise TusError(f"Checksum algorithm {algorithm!r} is not supported; use sha1.")
        try:
            digest = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as error:
            raise TusError("Upload-Checksum is not valid base64.") from error
        return cls("sha1", digest)


def check_new_file(*, filename: str, length: int) -> str:
    """The sanitised name, if a file so named and so long could be stored at all."""
    if length > settings.MAX_FILE_BYTES:
        raise TooLarge(f"{filename or 'The file'} is larger than the limit per file.")
    name = sanitise_filename(filename)
    if extension(name) not in settings.ALLOWED_FILE_EXTENSIONS:
        allowed = ", ".join(f".{e}" for e in settings.ALLOWED_FILE_EXTENSIONS)
        raise UnsupportedType(f"{name}: only {allowed} files can be printed.")
    if length == 0:
        raise TusError(f"{name} is empty.")
    return name


def check_job_room(*, job: Job, length: int, name: str) -> None:
    """Refuse (413) a file that would take the job past MAX_JOB_BYTES.

    Counted: every stored version of the job's files, plus the uploads through its link that
    are still in progress or finished but not yet attached (so parallel uploads cannot slip
    past the limit together).
    """
    stored = FileVersion.objects.filter(job_file__job=job).aggregate(total=Sum("size"))["total"]
    pending = TusUpload.objects.filter(
        job=job, state__in=[UploadState.UPLOADING, UploadState.COMPLETE]
    ).aggregate(total=Sum("length"))["total"]
    used = (stored or 0) + (pending or 0)
    if used + length > settings.MAX_JOB_BYTES:
        raise TooLarge(
            f"{name} does not fit: {job.reference} already holds {used:,} bytes of files, "
            f"and a job may hold {settings.MAX_JOB_BYTES:,} bytes in all."
        )


def create_upload(
    *, uploader: Uploader, filename: str, length: int, for_job: Job | None = None
) -> TusUpload:
    """Check the announced name and size, then record the upload and make its partial file.

    `for_job` is the job an operator's upload is meant for (a customer's job link names its
    own): the upload must then fit in the job's room too.
    """
    name = check_new_file(filename=filename, length=length)
    target = uploader.job or for_job
    if target is not None:
        check_job_room(job=target, length=length, name=name)
    owner: dict[str, Any]
    if uploader.draft_token_hash:
        owner = {"owner_kind": OwnerKind.DRAFT, "draft_token_hash": uploader.draft_token_hash}
    elif uploader.job is not None:
        owner = {"owner_kind": OwnerKind.JOB, "job": uploader.job}
    else:  # named, the job counts it towards its room and takes it for no other job
        owner = {"owner_kind": OwnerKind.STAFF, "user_id": uploader.user_id, "job": for_job}
    upload = TusUpload.objects.create(
        filename=name,
        length=length,
        expires_at=timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS),
        **owner,
    )
    chunks.partials().create(upload)
    return upload


def check_alive(upload: TusUpload) -> None:
    if upload.state == UploadState.UPLOADING and upload.expires_at <= timezone.now():
        raise Gone("This upload has expired; start it again.")


def append(
    *,
    upload: TusUpload,
    offset: int,
    read: Callable[[int], bytes],
    content_length: int,
    checksum: Checksum | None,
) -> TusUpload:
    """Write one PATCH body at `offset`, then finish the upload if that was the last byte.

    1. Lock the upload's partial data (Busy -> 423) and re-read the offset under the lock.
    2. Refuse a wrong offset (409) or a body past the announced length (413) before reading.
    3. Rewind to the recorded offset (bytes a crashed request left behind are dropped).
    4. Stream the body in; on a checksum mismatch discard it again (460).
    5. Make it durable, record the new offset; at the end, store the file (`_finish`).
    """
    check_alive(upload)
    if upload.state != UploadState.UPLOADING:
        raise OffsetMismatch("This upload is already complete.")
    try:
        with chunks.partials().writer(upload) as writer:
            upload.refresh_from_db()
            if offset != upload.offset:
                raise OffsetMismatch(f"The upload is at offset {upload.offset}, not {offset}.")
            if offset + content_length > upload.length:
                raise TooLarge("The body goes past the upload's announced length.")
            writer.rewind()
            running = running_hashes.take(_hash_key(upload), offset)
            received = _stream_in(writer, read, content_length, checksum, running)
            writer.commit(offset + received)
            if running is not None:
                running_hashes.keep(_hash_key(upload), upload.offset, running)
            if upload.offset == upload.length:
                _finish(upload, writer)
    except chunks.Busy as error:
        raise Locked("Another request is writing to this upload.") from error
    except (FileNotFoundError, TusUpload.DoesNotExist):  # terminated or pruned meanwhile
        raise Gone("This upload is gone; start it again.") from None
    return upload


def _stream_in(
    writer: chunks.UploadWriter,
    read: Callable[[int], bytes],
    content_length: int,
    checksum: Checksum | None,
    running: Any,
) -> int:
    # sha1 only when the client sent a checksum: hashing costs as much as the disk write.
    digest = hashlib.sha1(usedforsecurity=False) if checksum is not None else None
    digests = [d for d in (digest, running) if d is not None]
    received = 0
    with _Hashing(digests) as hashing:
        while received < content_length:
            try:
                data = read(min(READ_BYTES, content_length - received))
            except OSError:  # the client went away: keep what arrived (unless checksummed)
                break
            if not data:
                break
            writer.write(data)
            hashing.update(data)
            received += len(data)
    if (
        checksum is not None
        and digest is not None
        and (received < content_length or digest.digest() != checksum.digest)
    ):
        writer.discard()
        raise ChecksumMismatch("The chunk does not match its Upload-Checksum; send it again.")
    return received


class _Hashing:
    """Feeds each piece to the digests on a second thread while the next piece is read.

    hashlib lets go of the GIL while it hashes a large buffer, so the hashing runs on another
    core beside the socket reads and disk writes instead of after them. At most two pieces are
    held at once: the one being hashed and the one being read.
    """

    def __init__(self, digests: list[Any]) -> None:
        self._digests = digests
        self._pool = ThreadPoolExecutor(max_workers=1) if digests else None
        self._pending: Future[None] | None = None

    def _hash(self, data: bytes) -> None:
        for digest in self._digests:
            digest.update(data)

    def update(self, data: bytes) -> None:
        if self._pool is None:
            return
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._hash, data)

    def __enter__(self) -> "_Hashing":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # every piece is hashed before the digests are read


def recover(upload: TusUpload) -> TusUpload:
    """Reconcile the recorded offset with the partial data, unless a request is writing now.

    On local disk a process killed mid-chunk leaves bytes past the offset: they are cut off; a
    file shorter than the offset (lost on a crash before it reached the disk) lowers the offset
    to match. (In S3 nothing is counted before it is durable, so there is nothing to do, and
    a HEAD or a status check costs no lock.)
    An upload whose last byte arrived but was never finished is finished here.
    """
    check_alive(upload)
    if upload.state != UploadState.UPLOADING:
        return upload
    partials = chunks.partials()
    if partials.offset_always_true and upload.offset < upload.length:
        return upload  # nothing to reconcile nor to finish: no need to take the lock
    try:
        with partials.writer(upload) as writer:
            upload.refresh_from_db()
            writer.reconcile()
            if upload.state == UploadState.UPLOADING and upload.offset == upload.length:
                _finish(upload, writer)
    except chunks.Busy:
        pass  # a PATCH holds it: the recorded offset is what the client may resume from
    except (FileNotFoundError, TusUpload.DoesNotExist):  # terminated or pruned meanwhile
        raise Gone("This upload is gone; start it again.") from None
    return upload


def _finish(upload: TusUpload, writer: chunks.UploadWriter) -> None:
    """Run the file checks and store the file; record the result on the upload.

    Called with the upload locked. The partial data goes either way: a stored file is now in
    storage, a refused one is useless.
    """
    sha256 = running_hashes.finished(_hash_key(upload), upload.length)
    try:
        stored = writer.store(sha256)
    except InvalidInput as error:
        upload.state, upload.refusal = UploadState.REFUSED, error.message
        upload.save(update_fields=["state", "refusal"])
    else:
        with transaction.atomic():
            if upload.owner_kind == OwnerKind.DRAFT:
                upload.draft = DraftUpload.objects.create(
                    token_hash=upload.draft_token_hash,
                    blob=stored.key,
                    original_name=stored.original_name,
                    size=stored.size,
                    sha256=stored.sha256,
                )
            upload.state, upload.completed_at = UploadState.COMPLETE, timezone.now()
            upload.stored_key, upload.sha256 = stored.key, stored.sha256
            upload.save(update_fields=["state", "completed_at", "stored_key", "sha256", "draft"])
    writer.cleanup()


UPLOAD_GONE = "That upload is not there any more; please upload the file again."


def take_finished(uploader: Uploader, upload_id: UUID, job: Job) -> StoredFile:
    """The stored file of the uploader's finished upload, to become a version of `job`'s file.

    Its row is deleted in the caller's transaction, so an upload becomes one version only (a
    second attempt finds nothing), and a refused revision rolls back and leaves it usable. An
    operator's upload that named a job at creation is for that job only. Every refusal is an
    InvalidInput on the form's `file` field.
    """
    found = (
        TusUpload.objects.filter(uploader.owns(), uuid=upload_id)
        .filter(Q(job=None) | Q(job=job))
        .first()
    )
    if found is None:
        raise InvalidInput(UPLOAD_GONE, field="file")
    if found.state == UploadState.REFUSED:
        raise InvalidInput(found.refusal, field="file")
    if found.state != UploadState.COMPLETE:
        raise InvalidInput("That file has not finished uploading yet.", field="file")
    if not TusUpload.objects.filter(pk=found.pk, state=UploadState.COMPLETE).delete()[0]:
        raise InvalidInput(UPLOAD_GONE, field="file")
    return StoredFile(
        key=found.stored_key,
        original_name=found.filename,
        size=found.length,
        sha256=found.sha256,
    )


def file_or_upload(
    file: File | None, upload_id: UUID | None, uploader: Uploader, job: Job
) -> File | StoredFile:
    """An API revision's file: sent in the request, or the uploader's finished tus upload
    (used up in the caller's transaction, as take_finished says). Exactly one of the two."""
    if file is not None and upload_id is None:
        return file
    if upload_id is not None and file is None:
        return take_finished(uploader, upload_id, job)
    raise InvalidInput(
        "Send the file, or the id of a finished upload (upload_id): one of the two.",
        field="file",
    )


def terminate(upload: TusUpload) -> None:
    """tus termination: forget the upload. A finished draft is taken off the request form too
    (unless a submitted job has already claimed it: a job's files are never deleted here)."""
    if upload.state == UploadState.UPLOADING:
        try:
            with chunks.partials().writer(upload) as writer:
                writer.delete()
        except chunks.Busy as error:
            raise Locked("Another request is writing to this upload.") from error
        except (FileNotFoundError, TusUpload.DoesNotExist):
            pass
    if upload.draft is not None:
        discard_drafts([upload.draft])
    upload.delete()


def prune_expired() -> int:
    """Housekeeping: delete expired uploads that never finished, with their partial files.

    Finished uploads are kept until they expire too, then only their rows go: the stored file
    belongs to a draft or a job by then.
    """
    pruned = 0
    partials = chunks.partials()
    for upload in TusUpload.objects.filter(expires_at__lte=timezone.now()).iterator():
        try:
            if upload.state == UploadState.UPLOADING:
                with partials.writer(upload) as writer:
                    writer.delete()
        except chunks.Busy:
            continue  # someone is still writing: next hour
        except (FileNotFoundError, TusUpload.DoesNotExist):
            pass
        pruned += TusUpload.objects.filter(pk=upload.pk).delete()[0]
    return pruned
