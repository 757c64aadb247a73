"""The worker analysing real sample files: metrics and previews stored, bad files failed with
their reason while the job carries on, local disk and S3, and the worker's stop.

Most tests run the worker's drain (analysis.drain, what `manage.py worker` runs) inside the
test's transaction; the tests of the command itself let it commit (it closes its connection).
"""

import signal
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from printdesk.files import analysis
from printdesk.files.models import Analysis, AnalysisState, FileVersion
from printdesk.jobs.models import Job
from tests.conftest import sample_upload
from tests.files.makers import step, upload
from tests.notifications.test_worker import start_worker, worker_env

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n"


def work() -> analysis.Pass:
    """What the worker's analysis thread does when rows are due."""
    return analysis.drain()


def analysis_of(job: Job) -> Analysis:
    return Analysis.objects.get(version__job_file__job=job)


def nan_stl() -> bytes:
    """A binary STL whose size matches its count (so the upload check passes), with NaNs."""
    facet = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, float("nan"), 0, 0)
    return b"made by the tests".ljust(80) + struct.pack("<I", 2) + facet * 2


def job_snapshot(job: Job) -> tuple:
    fresh = Job.objects.get(pk=job.pk)
    return fresh.state, fresh.version, fresh.audit_events.count()


def key(image) -> str:
    """A FileField's storage key (typed: never None once saved)."""
    assert image.name
    return image.name


def stored_png(image) -> bytes:
    with default_storage.open(key(image), "rb") as stored:
        return stored.read()


@pytest.mark.django_db(transaction=True)  # the command closes its connection between batches
def test_a_submitted_stl_ends_done_with_its_metrics_and_a_stored_preview(make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    before = job_snapshot(job)

    call_command("worker", "--once")

    row = analysis_of(job)
    assert row.state == AnalysisState.DONE and row.reason == ""
    report = row.report
    assert report is not None
    assert report.triangles == 260 and report.watertight is True
    assert report.volume_mm3 == pytest.approx(7938.7, rel=1e-3)
    assert report.extents == pytest.approx((20.0, 20.0, 20.0), rel=1e-3)
    assert key(row.preview).startswith("previews/")
    assert key(row.thumbnail).startswith("thumbnails/")
    assert stored_png(row.preview).startswith(PNG)
    assert stored_png(row.thumbnail).startswith(PNG)
    assert row.finished_at is not None and row.attempts == 1
    assert job_snapshot(job) == before  # analysis informs the quote; it never moves the job


@pytest.mark.parametrize(
    ("sample", "file_format", "triangles"),
    [
        ("ADIS16480.STL", "stl-ascii", 7436),  # in metres
        ("counterX.3MF", "3mf", 8080),
        ("3mf/multiple_cylinders.3mf", "3mf", 528),
        ("rabbit.obj", "obj", 1252),
    ],
)
def test_each_format_is_analysed(make_job, sample, file_format, triangles):
    job, _ = make_job(files=[sample_upload(sample)])

    work()

    report = analysis_of(job).report
    assert report is not None
    assert (report.format, report.triangles) == (file_format, triangles)


def test_a_file_that_cannot_be_parsed_fails_with_its_reason_and_the_job_carries_on(make_job):
    broken, _ = make_job(files=[upload("broken.stl", nan_stl())])
    good, _ = make_job(files=[sample_upload("7_8ths_cube.stl")])
    before = job_snapshot(broken)

    work()

    row = analysis_of(broken)
    assert row.state == AnalysisState.FAILED
    assert "not numbers (NaN)" in row.reason
    assert row.metrics == {} and not row.preview and row.finished_at is not None
    assert row.attempts == 1  # a bad file is not tried again
    assert job_snapshot(broken) == before
    assert analysis_of(good).state == AnalysisState.DONE  # the worker carried on


def test_loose_triangles_are_analysed_not_refused(make_job):
    job, _ = make_job(files=[sample_upload("soup.stl")])

    work()

    # 100 loose triangles: measured and shown for an operator to judge, not a failure.
    report = analysis_of(job).report
    assert report is not None and report.watertight is False and report.body_count == 100


def test_a_step_file_is_left_unsupported_by_the_worker(make_job):
    job, _ = make_job(files=[upload("part.step", step())])

    work()

    row = analysis_of(job)
    assert row.state == AnalysisState.UNSUPPORTED and row.attempts == 0


def test_a_version_missing_from_storage_fails_with_that_reason(make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    default_storage.delete(key(FileVersion.objects.get(job_file__job=job).blob))

    work()

    row = analysis_of(job)
    assert row.state == AnalysisState.FAILED
    assert row.reason == "The stored file is missing, so it could not be analysed."


def test_analysing_again_replaces_the_previews_and_deletes_the_old_ones(make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    work()
    old = analysis_of(job)

    call_command("analyse", "--all")
    work()

    new = analysis_of(job)
    assert new.state == AnalysisState.DONE
    assert key(new.preview) != key(old.preview)
    assert not default_storage.exists(key(old.preview))
    assert not default_storage.exists(key(old.thumbnail))
    assert default_storage.exists(key(new.preview))


def test_a_worker_whose_lease_was_taken_records_nothing(make_job, settings):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    mine = analysis.claim()
    assert mine is not None
    # Our lease ran out and another worker took the row over.
    Analysis.objects.filter(pk=mine.pk).update(next_attempt_at=timezone.now())
    theirs = analysis.claim()
    assert theirs is not None

    assert analysis.analyse_row(mine) is None

    row = analysis_of(job)
    assert row.state == AnalysisState.RUNNING and row.attempts == 2
    assert not row.preview
    # What the first worker drew was deleted again.
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.png"))


# --- S3 ---------------------------------------------------------------------------------------


def test_a_file_in_s3_is_streamed_to_a_temporary_copy_and_its_previews_stored_there(
    s3_storage, make_job, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    analysis.tempfile.tempdir = None  # read TMPDIR again
    try:
        job, _ = make_job(files=[sample_upload("ADIS16480.STL")])

        work()
    finally:
        analysis.tempfile.tempdir = None

    row = analysis_of(job)
    assert row.state == AnalysisState.DONE, row.reason
    assert row.report is not None and row.report.triangles == 7436
    keys = s3_storage.keys()
    assert row.preview.name in keys and row.thumbnail.name in keys
    assert s3_storage.body(row.preview.name).startswith(PNG)
    # The temporary copy is gone.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("printdesk-analysis-")]


def test_a_file_missing_from_the_bucket_fails_with_that_reason(s3_storage, make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    s3_storage.client.delete_object(
        Bucket=s3_storage.name, Key=FileVersion.objects.get(job_file__job=job).blob.name
    )

    work()

    assert analysis_of(job).reason.startswith("The stored file is missing")


def test_a_bucket_that_cannot_be_read_hands_the_row_back_for_later(s3_storage, make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    for key in s3_storage.keys():
        s3_storage.client.delete_object(Bucket=s3_storage.name, Key=key)
    s3_storage.client.delete_bucket(Bucket=s3_storage.name)  # a storage misconfigured

    work()

    row = analysis_of(job)
    assert row.state == AnalysisState.PENDING and row.attempts == 1  # the attempt counts
    assert row.next_attempt_at > timezone.now()  # tried again in a minute, not in a loop


# --- the worker process -----------------------------------------------------------------------


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def random_triangles_stl(path: Path, count: int = 2_500_000) -> None:
    """A binary STL of random triangles in a 100 mm box: several seconds to analyse whole."""
    records = np.zeros(
        count, dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")]
    )
    records["corners"] = np.random.default_rng(7).random((count, 3, 3), np.float32) * 100
    with path.open("wb") as out:
        out.write(b"random triangles".ljust(80) + np.uint32(count).tobytes())
        records.tofile(out)


@pytest.mark.django_db(transaction=True)  # the worker process must see the rows
def test_sigterm_kills_the_analysis_in_hand_and_hands_the_file_back(make_job, smtp, settings):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    # The stored bytes become a file that takes seconds to measure, so the stop comes first.
    random_triangles_stl(Path(default_storage.path(analysis_of(job).version.blob.name or "")))
    env = worker_env(smtp.port, MEDIA_ROOT=str(settings.MEDIA_ROOT))
    worker = start_worker(env)
    try:
        wait_for(lambda: analysis_of(job).state == AnalysisState.RUNNING)
        worker.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        output, _ = worker.communicate(timeout=30)
        took = time.monotonic() - stopped
    finally:
        worker.kill()

    assert worker.returncode == 0, output
    assert took < 5, output  # not the minute the time limit would allow
    assert "worker: stopped" in output
    row = analysis_of(job)
    assert row.state == AnalysisState.PENDING  # for the next worker, from the start
    assert row.attempts == 0 and row.reason == ""  # the stop cost the file nothing
