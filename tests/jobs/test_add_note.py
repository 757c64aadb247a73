import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import InvalidInput, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import Note
from tests.jobs.helpers import applies, assert_audit, refused


@pytest.mark.parametrize("state", list(JobState))
def test_staff_keep_notes_in_every_state_without_changing_it(make_job, staff, state):
    job, _ = make_job(state)
    with applies(job) as result:
        note = actions.add_note(job=job, actor=staff, body="  Customer phoned about colour  ")

    assert result.job.state == state
    assert (note.author, note.body) == (staff.user, "Customer phoned about colour")
    assert_audit(
        result.audit,
        event=EventType.NOTE_ADDED,
        actor=staff,
        from_state=state,
        to_state=state,
        details={"note_id": note.pk},
    )
    assert result.sent_to == {}  # a note never reaches the customer


def test_admins_keep_notes_too(make_job, admin_staff):
    job, _ = make_job(JobState.SUBMITTED)
    note = actions.add_note(job=job, actor=admin_staff, body="VIP")
    assert note.author == admin_staff.user


@pytest.mark.parametrize("state", [JobState.SUBMITTED, JobState.CANCELLED])
def test_customers_cannot_write_internal_notes(make_job, customer, state):
    job, _ = make_job(state)
    with refused(job, NotAllowed):
        actions.add_note(job=job, actor=customer, body="Let me in")
    assert not Note.objects.exists()


@pytest.mark.parametrize("body", ["", "  \n", None])
def test_it_refuses_an_empty_note(make_job, staff, body):
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, InvalidInput):
        actions.add_note(job=job, actor=staff, body=body)
