"""MAX_JOB_BYTES holds for every way files reach a job, not only for resumable uploads."""

import pytest

from printdesk.files.models import FileVersion
from printdesk.jobs import actions
from printdesk.jobs.errors import InvalidInput
from printdesk.jobs.models import Job
from tests.conftest import box_stl, stl_upload

ONE_FILE = len(box_stl("part.stl"))  # each upload below is named part.stl: the same size


def test_it_refuses_a_request_whose_files_exceed_the_job_limit(make_job, settings):
    settings.MAX_JOB_BYTES = ONE_FILE * 2 - 1
    with pytest.raises(InvalidInput) as refused:
        make_job(files=[stl_upload(), stl_upload()])
    assert refused.value.field == "files"
    assert "may hold" in refused.value.message
    assert not Job.objects.exists()
    assert not FileVersion.objects.exists()


def test_a_request_exactly_at_the_limit_goes_through(make_job, settings):
    settings.MAX_JOB_BYTES = ONE_FILE * 2
    job, _ = make_job(files=[stl_upload(), stl_upload()])
    assert FileVersion.objects.filter(job_file__job=job).count() == 2


def test_it_refuses_a_revision_that_would_take_the_job_past_the_limit(make_job, customer, settings):
    job, _ = make_job()
    settings.MAX_JOB_BYTES = ONE_FILE * 2 - 1
    before = Job.objects.get(pk=job.pk)
    with pytest.raises(InvalidInput) as refused:
        actions.revise_file(job=job, actor=customer, upload=stl_upload())
    assert refused.value.field == "file"
    assert job.reference in refused.value.message
    after = Job.objects.get(pk=job.pk)
    assert (after.version, after.state) == (before.version, before.state)
    assert FileVersion.objects.filter(job_file__job=job).count() == 1


def test_a_revision_that_fits_is_added(make_job, customer, settings):
    job, _ = make_job()
    settings.MAX_JOB_BYTES = ONE_FILE * 2
    actions.revise_file(job=job, actor=customer, upload=stl_upload())
    assert FileVersion.objects.filter(job_file__job=job).count() == 2
