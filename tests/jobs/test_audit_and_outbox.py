"""What every action leaves behind: one audit entry per change, one email per audience."""

from itertools import pairwise

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.lifecycle import ActorKind, JobState
from printdesk.jobs.models import DispatchMethod, RunState
from printdesk.notifications.models import Notification
from printdesk.notifications.outbox import queue_for_event
from tests.conftest import stl_upload
from tests.jobs.helpers import expected_audiences, quote_kwargs


def test_a_whole_job_leaves_a_continuous_trail_and_one_email_per_audience(
    make_job, customer, staff
):
    job, _ = make_job(JobState.QUOTED, quantity=2)
    actions.decline_quote(job=job, actor=customer, quote_version=1, reason="Too dear")
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    actions.revise_file(job=job, actor=customer, upload=stl_upload("v2.stl"))
    actions.send_quote(job=job, actor=staff, **quote_kwargs(job))
    actions.accept_quote(job=job, actor=customer, quote_version=3)
    actions.start_production(job=job, actor=staff)
    failed = actions.add_run(job=job, actor=staff, quantity=2)
    actions.update_run(job=job, actor=staff, run_id=failed.pk, state=RunState.FAILED)
    reprint = actions.add_run(job=job, actor=staff, quantity=2)
    actions.update_run(job=job, actor=staff, run_id=reprint.pk, state=RunState.DONE)
    actions.add_note(job=job, actor=staff, body="Packed in the blue box")
    actions.mark_ready(job=job, actor=staff)
    actions.dispatch(job=job, actor=staff, method=DispatchMethod.CARRIER, carrier="DPD")

    job.refresh_from_db()
    trail = list(job.audit_events.order_by("id"))
    assert job.state == JobState.DISPATCHED
    assert len(trail) == job.version == 15
    assert trail[0].from_state == ""
    for earlier, later in pairwise(trail):
        assert later.from_state == earlier.to_state
    assert trail[-1].to_state == job.state
    for audit in trail:
        assert {n.audience for n in audit.notifications.all()} == expected_audiences(
            audit.event, audit.actor_kind
        )
    assert Notification.objects.filter(job=job).count() == sum(
        len(expected_audiences(audit.event, audit.actor_kind)) for audit in trail
    )


def test_the_same_event_can_never_email_the_same_audience_twice(make_job):
    job, _ = make_job(JobState.SUBMITTED)
    audit = job.audit_events.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        queue_for_event(job=job, audit=audit, actor_kind=ActorKind.CUSTOMER)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            job=job,
            audit_event=audit,
            event=audit.event,
            audience="staff",
            recipient="someone@example.com",
            next_attempt_at=timezone.now(),
        )
    assert audit.notifications.count() == 2
