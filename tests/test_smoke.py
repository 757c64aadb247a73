import pytest

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent


@pytest.mark.parametrize("state", list(JobState))
def test_every_state_is_reachable_through_actions(make_job, state):
    job, _ = make_job(state)
    assert job.state == state
    assert AuditEvent.objects.filter(job=job).count() == job.version
