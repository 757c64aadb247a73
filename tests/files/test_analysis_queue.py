"""The analysis queue: a row per stored version, claimed by one worker at a time under a lease
(printdesk/files/analysis.py), and `manage.py analyse` to queue versions again."""

import importlib
import io
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from printdesk.files import analysis
from printdesk.files.models import Analysis, AnalysisState, FileVersion
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import InvalidInput
from tests.conftest import sample_upload, stl_upload
from tests.files.analysed import analysed
from tests.files.makers import step, upload

pytestmark = pytest.mark.django_db


def analysis_of(job) -> Analysis:
    return Analysis.objects.get(version__job_file__job=job)


def test_a_submitted_stl_is_queued_with_its_version(make_job):
    job, _ = make_job()

    row = analysis_of(job)
    assert row.state == AnalysisState.PENDING
    assert row.attempts == 0 and row.scale == 1 and row.metrics == {}
    assert row.next_attempt_at <= timezone.now()


@pytest.mark.parametrize("name", ["part.step", "part.stp"])
def test_a_step_file_is_recorded_as_not_analysed(make_job, name):
    job, _ = make_job(files=[upload(name, step())])

    row = analysis_of(job)
    assert row.state == AnalysisState.UNSUPPORTED
    assert analysis.claim() is None  # nothing for a worker to take


def test_every_file_of_a_request_and_every_revision_is_queued(make_job, operator):
    job, _ = make_job(files=[stl_upload("a.stl"), sample_upload("3mf/box.3mf")])
    first = job.files.order_by("id").first()

    actions.revise_file(
        job=job, actor=Actor.staff(operator), upload=stl_upload("a2.stl"), job_file_id=first.pk
    )

    rows = Analysis.objects.filter(version__job_file__job=job)
    assert rows.count() == FileVersion.objects.filter(job_file__job=job).count() == 3
    assert set(rows.values_list("state", flat=True)) == {AnalysisState.PENDING}


def test_a_refused_revision_queues_nothing(make_job, operator):
    job, _ = make_job()
    before = Analysis.objects.count()

    with pytest.raises(InvalidInput):
        actions.revise_file(
            job=job, actor=Actor.staff(operator), upload=stl_upload(), job_file_id=999_999
        )

    assert Analysis.objects.count() == before


# --- claiming ---------------------------------------------------------------------------------


def test_a_claim_takes_the_row_under_a_lease(make_job, settings):
    settings.PRINTDESK_ANALYSIS_TIME_LIMIT_S = 60
    job, _ = make_job()

    row = analysis.claim()

    assert row is not None and row.version.job_file.job_id == job.pk
    assert row.state == AnalysisState.RUNNING and row.attempts == 1
    lease = row.next_attempt_at - timezone.now()
    assert timedelta(seconds=170) < lease <= timedelta(seconds=60 + analysis.LEASE_MARGIN_SECONDS)


def test_a_second_worker_cannot_take_a_running_row(make_job):
    make_job()

    first = analysis.claim()
    second = analysis.claim()

    assert first is not None
    assert second is None
    assert Analysis.objects.get(pk=first.pk).attempts == 1


def test_two_rows_go_to_two_claims(make_job):
    make_job()
    make_job()

    first, second = analysis.claim(), analysis.claim()

    assert first is not None and second is not None and first.pk != second.pk


def test_a_row_left_running_by_a_killed_worker_is_taken_back_after_its_lease(make_job):
    make_job()
    lost = analysis.claim()
    assert lost is not None
    # The worker was killed: its lease runs out with the row still running.
    Analysis.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(1))

    taken = analysis.claim()

    assert taken is not None and taken.pk == lost.pk
    assert taken.attempts == 2
    # The first claim is fenced out: whatever it finishes is not recorded.
    assert not analysis.release(lost)
    assert Analysis.objects.get(pk=lost.pk).state == AnalysisState.RUNNING


def test_a_row_interrupted_too_often_is_failed_with_its_reason(make_job):
    job, _ = make_job()
    Analysis.objects.filter(version__job_file__job=job).update(
        state=AnalysisState.RUNNING,
        attempts=analysis.MAX_ATTEMPTS,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )

    assert analysis.claim() is None

    row = analysis_of(job)
    assert row.state == AnalysisState.FAILED
    assert "interrupted 3 times" in row.reason
    assert row.finished_at is not None


def test_a_worker_that_stops_hands_the_row_back_without_spending_an_attempt(make_job):
    make_job()
    row = analysis.claim()
    assert row is not None

    assert analysis.analyse_row(row, stopping=lambda: True) is None

    row.refresh_from_db()
    assert row.state == AnalysisState.PENDING and row.attempts == 0
    assert analysis.claim() is not None  # due again at once


# --- queueing again ---------------------------------------------------------------------------


def test_analyse_all_queues_every_finished_row_again_and_keeps_the_scale(make_job):
    job, _ = make_job()
    Analysis.objects.filter(version__job_file__job=job).update(
        state=AnalysisState.FAILED, reason="Took too long.", attempts=1, scale=10
    )

    call_command("analyse", "--all")

    row = analysis_of(job)
    assert (row.state, row.reason, row.attempts, row.scale) == (AnalysisState.PENDING, "", 0, 10)


def test_analyse_leaves_running_rows_and_step_files_alone(make_job):
    running_job, _ = make_job()
    step_job, _ = make_job(files=[upload("part.step", step())])
    assert analysis.claim() is not None

    call_command("analyse", "--all")

    assert analysis_of(running_job).state == AnalysisState.RUNNING
    assert analysis_of(step_job).state == AnalysisState.UNSUPPORTED


def test_analyse_failed_queues_only_the_failed(make_job):
    failed_job, _ = make_job()
    done_job, _ = make_job()
    Analysis.objects.filter(version__job_file__job=failed_job).update(state=AnalysisState.FAILED)
    Analysis.objects.filter(version__job_file__job=done_job).update(state=AnalysisState.DONE)

    call_command("analyse", "--failed")

    assert analysis_of(failed_job).state == AnalysisState.PENDING
    assert analysis_of(done_job).state == AnalysisState.DONE


def test_analyse_missing_creates_rows_for_versions_without_one(make_job):
    job, _ = make_job()
    done, _ = make_job()
    Analysis.objects.filter(version__job_file__job=job).delete()
    Analysis.objects.filter(version__job_file__job=done).update(state=AnalysisState.DONE)
    out = io.StringIO()

    call_command("analyse", "--missing", stdout=out)

    assert analysis_of(job).state == AnalysisState.PENDING
    assert analysis_of(done).state == AnalysisState.DONE
    assert out.getvalue() == "analyse: 1 file version(s) queued for the worker\n"


def test_analyse_one_version_by_id(make_job):
    job, _ = make_job()
    other, _ = make_job()
    Analysis.objects.update(state=AnalysisState.DONE)
    version = FileVersion.objects.get(job_file__job=job)

    call_command("analyse", "--version", str(version.pk))

    assert analysis_of(job).state == AnalysisState.PENDING
    assert analysis_of(other).state == AnalysisState.DONE


def test_analyse_refuses_a_version_that_does_not_exist(db):
    with pytest.raises(CommandError, match="no file version 424242"):
        call_command("analyse", "--version", "424242")


def test_the_upgrade_queues_every_version_stored_before_analysis(make_job):
    """The data migration, run against versions without rows (as before the upgrade)."""
    stl_job, _ = make_job()
    step_job, _ = make_job(files=[upload("part.stp", step())])
    Analysis.objects.all().delete()
    migration = importlib.import_module("printdesk.files.migrations.0006_analyse_existing_versions")

    migration.queue_existing(apps, None)

    assert analysis_of(stl_job).state == AnalysisState.PENDING
    assert analysis_of(step_job).state == AnalysisState.UNSUPPORTED


def test_the_upgrade_moves_each_list_of_bodies_to_its_own_column(make_job):
    job, _ = make_job(files=[sample_upload("cube_and_sphere_same_name.3mf")])
    row = analysed(job.files.get().versions.get())
    listed = row.bodies
    Analysis.objects.filter(pk=row.pk).update(
        metrics={**row.metrics, "bodies": listed}, bodies=None
    )
    old = Analysis.objects.get(pk=row.pk)  # as the release before recorded it
    assert old.report is not None and len(old.report.bodies or []) == 2  # read as it is
    migration = importlib.import_module("printdesk.files.migrations.0007_analysis_bodies")

    migration.split_bodies(apps, None)

    moved = Analysis.objects.get(pk=row.pk)
    assert "bodies" not in moved.metrics and moved.bodies == listed
    assert moved.report == old.report

    migration.merge_bodies(apps, None)  # going back

    assert Analysis.objects.get(pk=row.pk).metrics["bodies"] == listed


@pytest.mark.django_db(transaction=True)  # the workers are threads with their own connections
def test_workers_claiming_at_once_each_take_different_rows(make_job):
    for _ in range(6):
        make_job()
    taken: list[int] = []
    start = threading.Barrier(3)

    def worker() -> None:
        try:
            start.wait()
            while (row := analysis.claim()) is not None:
                taken.append(row.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken) == sorted(Analysis.objects.values_list("pk", flat=True))
    assert set(Analysis.objects.values_list("state", "attempts")) == {(AnalysisState.RUNNING, 1)}
