"""Replacing a customer's private link: the old one dies, the new one goes to the customer."""

import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import JobChanged, NotAllowed
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, hash_link_secret
from printdesk.notifications.models import Notification
from tests.jobs.helpers import applies, refused
from tests.links import emailed_secret


@pytest.mark.parametrize("state", [JobState.SUBMITTED, JobState.IN_PRODUCTION, JobState.DISPATCHED])
def test_staff_replace_the_link_in_any_state(make_job, staff, state):
    job, old_secret = make_job(state)

    with applies(job) as result:
        actions.rotate_link(job=job, actor=staff)

    fresh = Job.objects.get(pk=job.pk)
    assert fresh.state == state
    assert fresh.link_hash != hash_link_secret(old_secret)
    assert result.audit.event == "link_rotated"
    assert result.audit.details == {}  # the secret is never written to the audit trail
    email = Notification.objects.get(audit_event=result.audit)
    assert email.audience == "customer"
    new_secret = emailed_secret(email)
    assert hash_link_secret(new_secret) == fresh.link_hash


def test_the_customer_cannot_rotate_their_own_link(make_job, customer):
    job, secret = make_job(JobState.QUOTED)
    with refused(job, NotAllowed):
        actions.rotate_link(job=job, actor=customer)
    assert Job.objects.get(pk=job.pk).link_hash == hash_link_secret(secret)


def test_a_refused_rotation_leaves_the_link_alone(make_job, staff):
    job, secret = make_job(JobState.QUOTED)
    stale = Job.objects.get(pk=job.pk)
    actions.add_note(job=job, actor=staff, body="Customer phoned")
    with refused(stale, JobChanged):
        actions.rotate_link(job=stale, actor=staff)
    assert stale.link_hash == hash_link_secret(secret)
    assert Job.objects.get(pk=job.pk).link_hash == hash_link_secret(secret)


@pytest.mark.parametrize("state", [JobState.QUOTED, JobState.DISPATCHED])
def test_the_system_replaces_the_link_when_a_customer_asks_for_it_again(make_job, state):
    # "Lost your link?": only hashes are kept, so the system sends a new link instead.
    job, old_secret = make_job(state)

    with applies(job) as result:
        actions.rotate_link(job=job, actor=actions.Actor.system())

    assert result.audit.actor_kind == "system"
    assert result.audit.actor_user is None
    assert result.sent_to == {"customer": "cara@example.com"}
    assert Job.objects.get(pk=job.pk).link_hash != hash_link_secret(old_secret)
