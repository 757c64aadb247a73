"""What arrives at a real SMTP server (tests/smtp.py): each lifecycle event's messages, and a
thousand random actions delivering exactly one message per (event occurrence, audience)."""

import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor, customer_link
from printdesk.jobs.errors import ActionError
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import AuditEvent, DispatchMethod, Job, RunState, link_secret
from printdesk.lib import demo
from printdesk.notifications import render, sender
from printdesk.notifications.models import Notification, NotificationState
from tests.conftest import stl_upload
from tests.jobs.helpers import expected_audiences
from tests.smtp import Delivered, SMTPServer


def drain_all() -> int:
    """Send until nothing is due; how many were sent."""
    sent = 0
    while (batch := sender.drain()).claimed:
        assert not batch.unreachable, batch
        sent += batch.sent
    return sent


def recipient(audience: str) -> str:
    return "cara@example.com" if audience == "customer" else settings.STAFF_NOTIFICATION_EMAIL


def assert_well_formed(message: Delivered, row: Notification) -> None:
    """The message the issue asks for: to the right person, the job's reference in the subject,
    text and HTML, and the private link in customer mail only."""
    job = Job.objects.get(pk=row.job_id)
    assert message.to == [row.recipient] == [recipient(row.audience)]
    assert job.reference in message.subject
    assert message.text.strip(), "no text part"
    assert message.html.strip(), "no HTML part"
    secret = link_secret(job)
    assert secret is not None
    if row.audience == "customer":
        link = customer_link(secret)
        assert link in message.text
        assert link in message.html
    else:
        assert secret not in message.text
        assert secret not in message.html


def staff_actor(operator) -> Actor:
    return Actor.staff(operator)


# event -> (the state the job starts in, the action that causes the event)
EVENTS: dict[EventType, tuple[JobState, Callable[[Job, Actor], object]]] = {
    EventType.QUOTE_SENT: (JobState.SUBMITTED, lambda job, staff: demo.send_quote(job, staff)),
    EventType.REQUEST_DECLINED: (
        JobState.SUBMITTED,
        lambda job, staff: actions.decline_request(job=job, actor=staff, reason="Not printable"),
    ),
    EventType.QUOTE_ACCEPTED: (JobState.QUOTED, lambda job, staff: demo.accept(job)),
    EventType.QUOTE_DECLINED: (
        JobState.QUOTED,
        lambda job, staff: actions.decline_quote(
            job=job, actor=Actor.customer(), quote_version=1, reason="Too dear"
        ),
    ),
    EventType.FILE_REVISED: (
        JobState.QUOTED,
        lambda job, staff: actions.revise_file(
            job=job, actor=Actor.customer(), upload=stl_upload("v2.stl"), job_file_id=None
        ),
    ),
    EventType.PRODUCTION_STARTED: (
        JobState.ACCEPTED,
        lambda job, staff: actions.start_production(job=job, actor=staff),
    ),
    EventType.READY: (JobState.IN_PRODUCTION, lambda job, staff: demo.print_all(job, staff)),
    EventType.DISPATCHED: (
        JobState.READY,
        lambda job, staff: actions.dispatch(
            job=job,
            actor=staff,
            method=DispatchMethod.CARRIER,
            carrier="DHL",
            tracking_number="JD014600",
        ),
    ),
    EventType.CANCELLED: (
        JobState.SUBMITTED,
        lambda job, staff: actions.cancel(job=job, actor=Actor.customer(), reason="Not needed"),
    ),
    EventType.LINK_ROTATED: (
        JobState.DISPATCHED,
        lambda job, staff: actions.rotate_link(job=job, actor=staff),
    ),
    EventType.LINK_SENT: (
        JobState.QUOTED,
        lambda job, staff: actions.send_link(job=job, actor=Actor.system()),
    ),
}


def test_submission_delivers_the_customer_and_staff_messages(make_job, smtp):
    job, secret = make_job(JobState.SUBMITTED)
    assert drain_all() == 2
    rows = {row.audience: row for row in Notification.objects.filter(job=job)}
    by_id = {message.message_id: message for message in smtp.messages}
    assert set(by_id) == {render.message_id(row) for row in rows.values()}
    for row in rows.values():
        assert_well_formed(by_id[render.message_id(row)], row)
    assert secret in by_id[render.message_id(rows["customer"])].text


@pytest.mark.parametrize("event", list(EVENTS), ids=[event.value for event in EVENTS])
def test_each_lifecycle_event_delivers_exactly_its_messages(event, make_job, operator, smtp):
    start, act = EVENTS[event]
    job, _ = make_job(start)
    drain_all()
    before = len(smtp.messages)

    act(job, staff_actor(operator))
    drain_all()

    audit = AuditEvent.objects.filter(job=job, event=event).latest("id")
    rows = list(Notification.objects.filter(audit_event=audit))
    assert {row.audience for row in rows} == expected_audiences(event, audit.actor_kind)
    new = smtp.messages[before:]
    assert sorted(m.message_id for m in new) == sorted(render.message_id(row) for row in rows)
    for row in rows:
        message = next(m for m in new if m.message_id == render.message_id(row))
        assert_well_formed(message, row)
        assert Notification.objects.get(pk=row.pk).state == NotificationState.SENT
    if event == EventType.DISPATCHED:
        assert "DHL" in new[0].text and "JD014600" in new[0].text


# --- a thousand random actions -------------------------------------------------------------------


class Walk:
    """Random actions on a pool of jobs, each one a move a person could make in that state,
    with now and then the same move again on the page as it was (a double click or a retried
    request), which must be refused and queue nothing."""

    def __init__(self, rng: random.Random, staff: Actor, material_id: int) -> None:
        self.rng = rng
        self.staff = staff
        self.material_id = material_id
        self.jobs: list[Job] = []
        self.calls = 0
        self.repeats = 0
        self.current: Job | None = None

    def submit(self) -> None:
        job, _ = actions.submit_request(
            customer_name="Cara Customer",
            customer_email="cara@example.com",
            material_id=self.material_id,
            colour="black",
            quantity=1,
            files=[stl_upload()],
        )
        self.jobs.append(job)

    def moves(self, job: Job) -> list[Callable[[int | None], object]]:
        staff, customer, rng = self.staff, Actor.customer(), self.rng
        state = JobState(job.state)

        def quote(seen):
            lines = demo.quote_lines(job)
            return actions.send_quote(
                job=job,
                actor=staff,
                lines=lines,
                currency="EUR",
                lead_time_days=5,
                valid_until=timezone.localdate() + timedelta(days=14),
                expected_version=seen,
            )

        def cancel(who):
            return lambda seen: actions.cancel(
                job=job, actor=who, reason="Changed plans", expected_version=seen
            )

        def revise(seen):
            return actions.revise_file(
                job=job, actor=customer, upload=stl_upload("v.stl"), expected_version=seen
            )

        def live(seen):
            return job.quotes.order_by("-version").values_list("version", flat=True).first()

        moves: list[Callable[[int | None], object]] = [
            self.note,
            lambda seen: actions.rotate_link(job=job, actor=staff, expected_version=seen),
        ]
        if state == JobState.SUBMITTED:
            moves += [quote, quote, revise, cancel(customer)]
            moves.append(
                lambda seen: actions.decline_request(
                    job=job, actor=staff, reason="No", expected_version=seen
                )
            )
        elif state == JobState.QUOTED:
            moves += [quote, revise, cancel(rng.choice([customer, staff]))]
            moves += [
                lambda seen: actions.accept_quote(
                    job=job, actor=customer, quote_version=live(seen), expected_version=seen
                )
            ] * 3
            moves.append(
                lambda seen: actions.decline_quote(
                    job=job,
                    actor=customer,
                    quote_version=live(seen),
                    reason="Too dear",
                    expected_version=seen,
                )
            )
        elif state == JobState.QUOTE_DECLINED:
            moves += [quote, quote, cancel(customer)]
        elif state == JobState.ACCEPTED:
            moves += [revise, cancel(customer)]
            moves += [
                lambda seen: actions.start_production(job=job, actor=staff, expected_version=seen)
            ] * 3
        elif state == JobState.IN_PRODUCTION:
            moves += [cancel(staff), lambda seen: self.produce(job, seen)]
            moves += [lambda seen: self.produce(job, seen)] * 3
        elif state == JobState.READY:
            moves.append(cancel(staff))
            moves += [
                lambda seen: actions.dispatch(
                    job=job,
                    actor=staff,
                    method=rng.choice(list(DispatchMethod)),
                    carrier="DHL",
                    tracking_number="JD1",
                    expected_version=seen,
                )
            ] * 3
        return moves

    def note(self, seen: int | None) -> object:
        """An internal note (no email, and no version to check: never repeated)."""
        return actions.add_note(job=self.current, actor=self.staff, body="Checked")

    def produce(self, job: Job, seen: int | None) -> object:
        """The next step of production: a run, the run done, or the job ready."""
        run = job.runs.exclude(state=RunState.FAILED).order_by("id").last()
        if run is None:
            return actions.add_run(job=job, actor=self.staff, quantity=1, expected_version=seen)
        if run.state != RunState.DONE:
            return actions.update_run(
                job=job, actor=self.staff, run_id=run.pk, state=RunState.DONE, expected_version=seen
            )
        return actions.mark_ready(job=job, actor=self.staff, expected_version=seen)

    def step(self) -> None:
        open_jobs = [job for job in self.jobs if job.state not in ("declined", "cancelled")]
        if len(open_jobs) < 12 or self.rng.random() < 0.05:
            self.submit()
            self.calls += 1
            return
        index = self.jobs.index(self.rng.choice(open_jobs))
        job = self.current = Job.objects.get(pk=self.jobs[index].pk)
        move, seen = self.rng.choice(self.moves(job)), job.version
        move(seen)
        self.calls += 1
        self.jobs[index] = Job.objects.get(pk=job.pk)
        if move != self.note and self.rng.random() < 0.1 and self.calls < 1000:
            # The same request again, from the page as it was: refused, nothing queued.
            queued = Notification.objects.count()
            with pytest.raises(ActionError):
                move(seen)
            assert Notification.objects.count() == queued
            self.calls += 1
            self.repeats += 1


def test_a_thousand_random_actions_deliver_each_message_exactly_once(
    catalogue, operator, smtp: SMTPServer
):
    seed = int(os.environ.get("EMAIL_WALK_SEED", random.randrange(10**9)))
    walk = Walk(random.Random(seed), Actor.staff(operator), catalogue["pla"].pk)
    while walk.calls < 1000:
        walk.step()
        if walk.calls % 250 == 0:
            drain_all()  # some mail goes out while the walk goes on, as with a live worker
    drain_all()

    expected = {
        (audit.pk, audience)
        for audit in AuditEvent.objects.all()
        for audience in expected_audiences(audit.event, audit.actor_kind)
    }
    rows = {render.message_id(row): row for row in Notification.objects.all()}
    delivered = smtp.message_ids()
    note = f"seed {seed}"
    assert len(expected) > 500, note  # the walk reached far enough to mean something
    assert {(row.audit_event_id, row.audience) for row in rows.values()} == expected, note
    assert set(delivered) == set(rows), note  # none missing, none unknown
    assert set(delivered.values()) == {1}, note  # none twice
    assert len(smtp.messages) == len(expected), note
    assert Counter(row.state for row in rows.values()) == {NotificationState.SENT: len(rows)}
    for message in smtp.messages:
        assert message.to == [rows[message.message_id].recipient], note
    assert walk.repeats > 0
