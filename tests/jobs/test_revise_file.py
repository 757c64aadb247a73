import pytest

from printdesk.files.models import FileVersion
from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import QuoteStatus
from tests.conftest import stl_upload
from tests.jobs.helpers import applies, assert_audit, quote_kwargs, quote_statuses, refused


def versions_of(job) -> list[tuple[str, int, str]]:
    rows = FileVersion.objects.filter(job_file__job=job).order_by("id")
    return [(v.job_file.name, v.number, v.uploaded_by) for v in rows]


def test_a_revision_before_quoting_only_adds_a_version(make_job, customer):
    job, _ = make_job(JobState.SUBMITTED)
    part = job.files.get()
    with applies(job) as result:
        version = actions.revise_file(
            job=job, actor=customer, upload=stl_upload("part-v2.stl"), job_file_id=part.pk
        )

    assert result.job.state == JobState.SUBMITTED
    assert version.number == 2
    assert versions_of(job) == [("part.stl", 1, "customer"), ("part.stl", 2, "customer")]
    assert_audit(
        result.audit,
        event=EventType.FILE_REVISED,
        actor=customer,
        from_state=JobState.SUBMITTED,
        to_state=JobState.SUBMITTED,
        details={"file_id": part.pk, "file": "part.stl", "version": 2},
    )
    assert set(result.sent_to) == {"customer", "staff"}


def test_a_new_file_can_join_the_job(make_job, staff):
    job, _ = make_job(JobState.SUBMITTED)
    with applies(job) as result:
        actions.revise_file(job=job, actor=staff, upload=stl_upload("stand.stl"))
    assert [f.name for f in job.files.all()] == ["part.stl", "stand.stl"]
    assert versions_of(job)[-1] == ("stand.stl", 1, "operator")
    # The customer hears that the bureau changed a file; staff did it themselves.
    assert result.sent_to == {"customer": "cara@example.com"}


def test_a_revision_after_the_quote_needs_a_new_quote(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with applies(job) as result:
        actions.revise_file(job=job, actor=customer, upload=stl_upload("v2.stl"))

    assert result.job.state == JobState.SUBMITTED
    assert quote_statuses(job) == {1: QuoteStatus.SUPERSEDED}
    assert actions.live_quote(job) is None
    assert result.audit.details["superseded_quote_version"] == 1
    assert (result.audit.from_state, result.audit.to_state) == ("quoted", "submitted")


def test_a_revision_after_acceptance_supersedes_the_accepted_quote(
    make_job, staff, customer, admin_staff
):
    job, _ = make_job(JobState.ACCEPTED)
    with applies(job) as result:
        actions.revise_file(job=job, actor=admin_staff, upload=stl_upload("v2.stl"))
    assert result.job.state == JobState.SUBMITTED
    assert quote_statuses(job) == {1: QuoteStatus.SUPERSEDED}

    actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    with refused(job, Conflict):
        actions.accept_quote(job=job, actor=customer, quote_version=1)
    actions.accept_quote(job=job, actor=customer, quote_version=2)
    assert quote_statuses(job) == {1: QuoteStatus.SUPERSEDED, 2: QuoteStatus.ACCEPTED}


def test_it_refuses_a_revision_from_the_system(make_job):
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, NotAllowed):
        actions.revise_file(job=job, actor=actions.Actor.system(), upload=stl_upload())


@pytest.mark.parametrize(
    "state",
    [JobState.QUOTE_DECLINED, JobState.IN_PRODUCTION, JobState.READY, JobState.CANCELLED],
)
def test_it_refuses_a_revision_once_production_started_or_the_quote_was_declined(
    make_job, customer, state
):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.revise_file(job=job, actor=customer, upload=stl_upload())


def test_it_refuses_a_revision_of_another_jobs_file(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    other, _ = make_job(JobState.SUBMITTED)
    with refused(job, InvalidInput):
        actions.revise_file(
            job=job, actor=customer, upload=stl_upload(), job_file_id=other.files.get().pk
        )


@pytest.mark.parametrize(("name", "content"), [("notes.pdf", b"%PDF"), ("empty.stl", b"")])
def test_it_refuses_a_file_it_cannot_print(make_job, customer, name, content):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, InvalidInput) as caught:
        actions.revise_file(job=job, actor=customer, upload=stl_upload(name, content))
    assert caught.value.field == "file"


def test_it_refuses_a_revision_on_a_stale_version(make_job, customer):
    job, _ = make_job(JobState.QUOTED)
    with refused(job, JobChanged):
        actions.revise_file(
            job=job, actor=customer, upload=stl_upload(), expected_version=job.version + 1
        )
