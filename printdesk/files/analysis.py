"""Mesh analysis by the worker: the Analysis rows are the queue (as the notification outbox).

Each stored file version gets a row in the transaction that stores it (`queue_analysis`):
pending, or unsupported for STEP. `manage.py worker` drains the pending rows (`drain`); each
one, in order:
1. is claimed with a conditional update (`claim`): running, one attempt more, leased for the
   time limit plus a margin. A row left running by a worker that was killed is taken back
   when its lease ends; after MAX_ATTEMPTS claims it is failed instead of tried again;
2. gets a local path for its bytes (`local_copy`): the file itself on local disk, a temporary
   copy streamed 64 KiB at a time from S3. The lease is renewed once the copy is made;
3. is measured in a child process with a time and memory limit
   (`analysis_child.run_analysis`): a bad, huge or hostile file becomes a failed outcome with
   its reason, never an exception here;
4. has its preview and thumbnail PNGs and its viewer mesh (the 3D view's, viewer_mesh.py)
   saved in default storage under generated keys, then is recorded done (or failed, with the
   reason) by an update fenced on its claim: a worker that lost its lease records nothing, and
   its files are deleted again.
A storage error (S3 unreachable) hands the row back to be tried again later; the job is never
touched: analysis only informs the people quoting it.
"""

import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from printdesk.files.models import (
    ANALYSED_EXTENSIONS,
    ANALYSIS_OPEN,
    Analysis,
    AnalysisState,
    FileVersion,
)
from printdesk.files.storage import extension
from printdesk.lib import logs

log = logging.getLogger(__name__)

# Claims before a row is given up: only a worker killed mid-file or a storage error spends one
# without an outcome (a file the analysis refuses is failed at its first attempt).
MAX_ATTEMPTS = 3
# Beyond the child's time limit: starting it, saving the PNGs, recording the outcome.
LEASE_MARGIN_SECONDS = 120
# After a storage error: 1, 2, 4 ... minutes.
RETRY_BASE_SECONDS = 60
COPY_CHUNK_BYTES = 64 * 1024
INTERRUPTED = (
    "The analysis was interrupted {n} times (the worker stopped or the file could not be "
    "read), so it was given up. An operator can queue it again."
)


@dataclass
class Pass:
    """What one `drain` did."""

    claimed: int = 0
    done: int = 0
    failed: int = 0
    released: int = 0


@dataclass(frozen=True)
class Outcome:
    """What `analyse_row` recorded: the state and, when failed, the reason."""

    state: AnalysisState
    reason: str = ""


# --- queueing ---------------------------------------------------------------------------------


def _readable(version: FileVersion) -> bool:
    return extension(version.blob.name or "") in ANALYSED_EXTENSIONS


def queue_analysis(version: FileVersion) -> Analysis:
    """Queue `version` for the worker (in the caller's transaction): pending, or unsupported
    for a format the analysis does not read (STEP). Only a row is written: the work is the
    worker's, so storing a file never waits for it or fails because of it."""
    state = AnalysisState.PENDING if _readable(version) else AnalysisState.UNSUPPORTED
    return Analysis.objects.create(version=version, state=state, next_attempt_at=timezone.now())


def requeue(versions: "QuerySet[FileVersion]", *, only_missing: bool = False) -> int:
    """Queue these versions' analyses again (`manage.py analyse`): unless `only_missing`, every
    row that is neither running nor unsupported becomes pending with a fresh allowance of
    attempts; then a row is made for each version that has none. Measurements, previews and
    the operator's scale stay until the new outcome replaces them. Returns how many were
    queued."""
    queued = 0
    if not only_missing:
        again = Analysis.objects.filter(version__in=versions).exclude(
            state__in=[AnalysisState.RUNNING, AnalysisState.UNSUPPORTED]
        )
        queued += again.update(
            state=AnalysisState.PENDING, attempts=0, reason="", next_attempt_at=timezone.now()
        )
    for version in versions.filter(analysis__isnull=True).iterator():
        queued += queue_analysis(version).state == AnalysisState.PENDING
    return queued


# --- claiming ---------------------------------------------------------------------------------


def due() -> Q:
    """Rows to take: pending, or running under a lease that ran out (a worker was killed)."""
    return Q(state__in=ANALYSIS_OPEN, next_attempt_at__lte=timezone.now())


def lease() -> timedelta:
    return timedelta(seconds=settings.PRINTDESK_ANALYSIS_TIME_LIMIT_S + LEASE_MARGIN_SECONDS)


def give_up_interrupted() -> int:
    """Fail the due rows that were claimed MAX_ATTEMPTS times without an outcome."""
    worn = Analysis.objects.filter(due(), attempts__gte=MAX_ATTEMPTS)
    failed = 0
    for pk, attempts in worn.values_list("pk", "attempts"):
        failed += Analysis.objects.filter(due(), pk=pk, attempts=attempts).update(
            state=AnalysisState.FAILED,
            reason=INTERRUPTED.format(n=attempts),
            finished_at=timezone.now(),
        )
    return failed


def claim() -> Analysis | None:
    """Take the next due row: running, one attempt more, leased to us; None if none is due.

    As the outbox's claim: on PostgreSQL the candidate is locked with SKIP LOCKED, so two
    workers take different rows; on SQLite the transaction holds the write lock from BEGIN.
    The update repeats the "due" condition, so only one worker can ever take a row.
    """
    give_up_interrupted()
    until = timezone.now() + lease()
    with transaction.atomic():
        candidates = Analysis.objects.filter(due(), attempts__lt=MAX_ATTEMPTS).order_by(
            "next_attempt_at", "id"
        )
        pk = candidates.select_for_update(skip_locked=True).values_list("id", flat=True).first()
        if pk is None:
            return None
        taken = Analysis.objects.filter(due(), pk=pk, attempts__lt=MAX_ATTEMPTS).update(
            state=AnalysisState.RUNNING, attempts=F("attempts") + 1, next_attempt_at=until
        )
        if not taken:
            return None
    return Analysis.objects.select_related("version").get(pk=pk)


def _mine(row: Analysis) -> "QuerySet[Analysis]":
    """The row, only while it still carries this claim."""
    return Analysis.objects.filter(pk=row.pk, state=AnalysisState.RUNNING, attempts=row.attempts)


def _renew(row: Analysis) -> bool:
    """A full lease from now (after a slow copy from S3); False if the claim was lost."""
    return _mine(row).update(next_attempt_at=timezone.now() + lease()) == 1


def release(row: Analysis, *, delay: timedelta = timedelta(0), spend: bool = False) -> bool:
    """Hand a claimed row back: pending again after `delay`. Unless `spend`, its attempt is
    given back (a worker that stops before starting the file costs the file nothing)."""
    attempts = F("attempts") if spend else F("attempts") - 1
    return (
        _mine(row).update(
            state=AnalysisState.PENDING,
            attempts=attempts,
            next_attempt_at=timezone.now() + delay,
        )
        == 1
    )


# --- one row ----------------------------------------------------------------------------------


@contextmanager
def local_copy(name: str) -> Iterator[str]:
    """A path to the stored file the child process can open: the file itself on local disk,
    or a temporary copy (deleted afterwards) streamed 64 KiB at a time from remote storage."""
    try:
        path = default_storage.path(name)
    except NotImplementedError:  # S3: no local path
        pass
    else:
        if not os.path.exists(path):
            raise FileNotFoundError(name)
        yield path
        return
    suffix = "." + extension(name) if extension(name) else ""
    with tempfile.NamedTemporaryFile(prefix="printdesk-analysis-", suffix=suffix) as copy:
        for chunk in _remote_chunks(name):
            copy.write(chunk)
        copy.flush()
        yield copy.name


def _remote_chunks(name: str) -> Iterator[bytes]:
    """The stored file's bytes, 64 KiB at a time. From S3 straight from boto3's stream:
    django-storages' own files first spool the whole object to disk (see downloads.py)."""
    storage = default_storage
    if not storage.__class__.__module__.startswith("storages.backends.s3"):
        with storage.open(name, "rb") as source:
            while chunk := source.read(COPY_CHUNK_BYTES):
                yield chunk
        return
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    key = storage._normalize_name(clean_name(name))  # type: ignore[attr-defined]
    try:
        found = storage.bucket.Object(key).get()  # type: ignore[attr-defined]
    except ClientError as error:
        # Only the object is missing; a missing bucket is a storage to fix, not a file.
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(name) from error
        raise
    body = found["Body"]
    try:
        yield from body.iter_chunks(COPY_CHUNK_BYTES)
    finally:
        body.close()


def _measure(path: str, ext: str, stopping: Callable[[], bool]):
    # Imported here: the child's runner is only needed by the worker, never by a web process.
    from printdesk.files.analysis_child import run_analysis

    return run_analysis(
        path,
        ext,
        time_limit_s=settings.PRINTDESK_ANALYSIS_TIME_LIMIT_S,
        memory_limit_mb=settings.PRINTDESK_ANALYSIS_MEMORY_MB,
        stream_over_bytes=settings.PRINTDESK_ANALYSIS_STREAM_OVER_MB * 1024**2,
        max_3mf_unpacked_bytes=settings.MAX_3MF_UNCOMPRESSED_BYTES,
        stopping=stopping,
    )


# The row's columns that name a file the analysis made, with the folder and suffix of its keys.
IMAGES = {
    "preview": ("previews", "png"),
    "thumbnail": ("thumbnails", "png"),
    "viewer_mesh": ("viewer-meshes", "bin"),
}


def _image_key(kind: str, suffix: str = "png") -> str:
    """A new, never-reused key, as uploads get (files/storage.py)."""
    return f"{kind}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{suffix}"


def _save_images(made: dict[str, bytes | None]) -> dict[str, str]:
    """Each of the outcome's files (by column of IMAGES) saved under a new key ("" for one it
    lacks), or none of them."""
    saved: dict[str, str] = {}
    try:
        for column, (kind, suffix) in IMAGES.items():
            data = made.get(column)
            key = _image_key(kind, suffix)
            saved[column] = default_storage.save(key, ContentFile(data)) if data else ""
    except Exception:
        _delete(*saved.values())
        raise
    return saved


def _delete(*keys: str) -> None:
    for key in keys:
        if not key:
            continue
        try:
            default_storage.delete(key)
        except Exception:  # an orphaned PNG costs a few KB; the outcome matters more
            log.warning("could not delete %s from storage", key, exc_info=True)


def _record(row: Analysis, state: AnalysisState, reason: str, fields: dict) -> bool:
    """Record the outcome, fenced on the claim; replaced files are deleted once it is."""
    old = [getattr(row, column).name or "" for column in IMAGES]
    new = [str(fields.get(column, "")) for column in IMAGES]
    recorded = (
        _mine(row).update(state=state, reason=reason, finished_at=timezone.now(), **fields) == 1
    )
    if recorded:
        _delete(*(key for key in old if key not in new))
    else:
        log.warning("analysis %s: finished after its lease ran out; not recorded", row.pk)
        _delete(*new)
    return recorded


def _failed(row: Analysis, reason: str) -> Outcome:
    fields: dict[str, object] = {"metrics": {}, "bodies": None, **dict.fromkeys(IMAGES, "")}
    _record(row, AnalysisState.FAILED, reason, fields)
    return Outcome(AnalysisState.FAILED, reason)


def _retry_later(row: Analysis) -> None:
    """Storage failed us (S3 unreachable...): the file is not at fault. The attempt counts, so
    a storage that never answers ends in `failed` after MAX_ATTEMPTS, not in a loop."""
    delay = timedelta(seconds=RETRY_BASE_SECONDS * 2 ** (row.attempts - 1))
    release(row, delay=delay, spend=True)


def analyse_row(row: Analysis, *, stopping: Callable[[], bool] = lambda: False) -> Outcome | None:
    """Steps 2 to 4 for a claimed row. None when it was handed back (stopping, or a storage
    error: tried again later) or the claim was lost meanwhile."""
    name = row.version.blob.name or ""
    with ExitStack() as copies:  # the local copy stays for the 3D view's mesh, made last
        try:
            path = copies.enter_context(local_copy(name))
            if stopping() or not _renew(row):
                release(row)
                return None
            measured = _measure(path, extension(name), stopping)
            if measured is None:  # stopping: the child was killed, the file goes back
                release(row)
                return None
        except FileNotFoundError:
            log.error("analysis %s: %s is missing from storage", row.pk, name)
            return _failed(row, "The stored file is missing, so it could not be analysed.")
        except Exception:
            log.exception("analysis %s: could not read %s", row.pk, name)
            _retry_later(row)
            return None
        if measured.report is None:
            return _failed(row, measured.reason or "The file could not be analysed.")
        try:
            saved = _save_images(
                {
                    "preview": measured.preview_png,
                    "thumbnail": measured.thumb_png,
                    "viewer_mesh": measured.viewer_mesh,
                }
            )
        except Exception:
            log.exception("analysis %s: could not store its preview", row.pk)
            _retry_later(row)
            return None
        fields = {**Analysis.columns(measured.report), **saved}
        if not _record(row, AnalysisState.DONE, "", fields):
            return None
        if not saved["viewer_mesh"]:
            _add_viewer_mesh(row, path, extension(name), saved["preview"], stopping)
    return Outcome(AnalysisState.DONE)


def _add_viewer_mesh(
    row: Analysis, path: str, ext: str, preview: str, stopping: Callable[[], bool]
) -> None:
    """The 3D view's mesh of a file over the viewer's cap, made once the analysis is recorded
    (people see the figures and the preview first). Kept only if the row still holds this
    analysis (its preview's key is this run's): a file analysed again meanwhile gets its own.
    Never raises: without it the pages offer the preview alone."""
    from printdesk.files.analysis_child import run_viewer_mesh

    try:
        data = run_viewer_mesh(
            path,
            ext,
            time_limit_s=settings.PRINTDESK_ANALYSIS_TIME_LIMIT_S,
            memory_limit_mb=settings.PRINTDESK_ANALYSIS_MEMORY_MB,
            max_3mf_unpacked_bytes=settings.MAX_3MF_UNCOMPRESSED_BYTES,
            stopping=stopping,
        )
        if data is None:
            return
        key = default_storage.save(_image_key(*IMAGES["viewer_mesh"]), ContentFile(data))
        same = Analysis.objects.filter(
            pk=row.pk, state=AnalysisState.DONE, preview=preview, viewer_mesh=""
        )
        if not same.update(viewer_mesh=key):
            _delete(key)
    except Exception:
        log.exception("analysis %s: could not make the 3D view's mesh", row.pk)


def drain(*, stopping: Callable[[], bool] = lambda: False, limit: int | None = None) -> Pass:
    """Analyse due rows one at a time until none is due, `limit` is reached or `stopping()`."""
    result = Pass()
    while not stopping() and (limit is None or result.claimed < limit):
        row = claim()
        if row is None:
            break
        result.claimed += 1
        with logs.job_context(row.version.job_file.job_id):  # its log lines name the job
            outcome = analyse_row(row, stopping=stopping)
        if outcome is None:
            result.released += 1
        elif outcome.state == AnalysisState.DONE:
            result.done += 1
        else:
            result.failed += 1
    return result
