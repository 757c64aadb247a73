"""The size limit per job (MAX_JOB_BYTES), checked when an upload for a job is created."""

from printdesk.files.models import FileVersion
from printdesk.uploads.models import TusUpload

from .conftest import PART, meta


def stored_bytes(job) -> int:
    return sum(FileVersion.objects.filter(job_file__job=job).values_list("size", flat=True))


def test_a_revision_that_fits_is_created(customer, job_and_link, settings):
    job, _ = job_and_link
    settings.MAX_JOB_BYTES = stored_bytes(job) + len(PART)

    assert customer.create(len(PART)).status_code == 201


def test_a_revision_past_the_jobs_limit_is_413_with_the_reason(customer, job_and_link, settings):
    job, _ = job_and_link
    settings.MAX_JOB_BYTES = stored_bytes(job) + len(PART) - 1

    response = customer.create(len(PART))

    assert response.status_code == 413
    assert f"{job.reference} already holds {stored_bytes(job):,} bytes" in response.content.decode()
    assert not TusUpload.objects.exists()


def test_uploads_in_progress_count_against_the_limit(customer, job_and_link, settings):
    job, _ = job_and_link
    settings.MAX_JOB_BYTES = stored_bytes(job) + 2 * len(PART) - 1
    assert customer.create(len(PART)).status_code == 201

    assert customer.create(len(PART)).status_code == 413  # the first one still counts


def test_a_refused_upload_does_not_count(customer, job_and_link, settings):
    job, _ = job_and_link
    settings.MAX_JOB_BYTES = stored_bytes(job) + len(PART)
    customer.upload(b"not an stl at all", "bad.stl")  # refused by the content check

    assert customer.create(len(PART)).status_code == 201


def test_an_operator_naming_the_job_gets_the_same_check(staff, job_and_link, settings):
    job, _ = job_and_link
    settings.MAX_JOB_BYTES = stored_bytes(job) + len(PART) - 1
    headers = {"Upload-Metadata": meta("part.stl") + ", job " + _b64(job.reference)}

    assert staff.create(len(PART), **headers).status_code == 413
    assert staff.create(len(PART)).status_code == 201  # not for a job: only the file limit


def test_an_operators_upload_in_progress_counts_for_the_job_it_names(
    staff, customer, job_and_link, settings
):
    job, _ = job_and_link
    settings.MAX_JOB_BYTES = stored_bytes(job) + 2 * len(PART) - 1
    headers = {"Upload-Metadata": meta("part.stl") + ", job " + _b64(job.reference)}
    assert staff.create(len(PART), **headers).status_code == 201

    assert customer.create(len(PART)).status_code == 413  # the operator's still counts
    assert TusUpload.objects.get().job == job


def test_an_operator_naming_no_such_job_is_400(staff):
    headers = {"Upload-Metadata": meta("part.stl") + ", job " + _b64("PD-99999")}

    response = staff.create(len(PART), **headers)

    assert response.status_code == 400
    assert "no job PD-99999" in response.content.decode()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()
