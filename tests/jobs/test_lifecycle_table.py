"""Every action, in every state, by every kind of actor, against PRODUCT.md's table.

The expected outcome comes from `helpers.PRODUCT_TABLE`, written out apart from lifecycle.py:
no row for the state -> Conflict; a row the actor is not named in -> NotAllowed; otherwise the
action applies and the job lands in the table's state.
"""

import pytest

from printdesk.files.models import FileVersion
from printdesk.jobs import actions, lifecycle
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import Conflict, NotAllowed
from printdesk.jobs.lifecycle import Action, ActorKind, JobState
from printdesk.jobs.models import DispatchMethod, Job, RunState
from printdesk.notifications import actions as emails
from printdesk.notifications.models import Notification, NotificationState
from tests.conftest import stl_upload
from tests.jobs.helpers import PRODUCT_TABLE, TERMINAL, applies, quote_kwargs, refused, who_may

ACTIONS = [action for action in Action if action != Action.SUBMIT]


def perform(action: Action, job: Job, actor: Actor) -> None:
    """Take `action` with valid input, as a page or the API would."""
    quote = job.quotes.order_by("-version").first()
    quote_version = quote.version if quote else 1
    run = job.runs.order_by("id").first()
    calls = {
        Action.SEND_QUOTE: lambda: actions.send_quote(job=job, actor=actor, **quote_kwargs(job)),
        Action.DECLINE: lambda: actions.decline_request(job=job, actor=actor, reason="No"),
        Action.ACCEPT_QUOTE: lambda: actions.accept_quote(
            job=job, actor=actor, quote_version=quote_version
        ),
        Action.DECLINE_QUOTE: lambda: actions.decline_quote(
            job=job, actor=actor, quote_version=quote_version, reason="Too dear"
        ),
        Action.REVISE_FILE: lambda: actions.revise_file(job=job, actor=actor, upload=stl_upload()),
        Action.START_PRODUCTION: lambda: actions.start_production(job=job, actor=actor),
        Action.ADD_RUN: lambda: actions.add_run(job=job, actor=actor, quantity=1),
        Action.UPDATE_RUN: lambda: actions.update_run(
            job=job, actor=actor, run_id=run.pk if run else 0, state=RunState.DONE
        ),
        Action.MARK_READY: lambda: actions.mark_ready(job=job, actor=actor),
        Action.DISPATCH: lambda: actions.dispatch(
            job=job, actor=actor, method=DispatchMethod.HAND_OVER
        ),
        Action.CANCEL: lambda: actions.cancel(job=job, actor=actor, reason="No longer needed"),
        Action.ADD_NOTE: lambda: actions.add_note(job=job, actor=actor, body="Noted"),
        Action.ROTATE_LINK: lambda: actions.rotate_link(job=job, actor=actor),
        Action.SEND_LINK: lambda: actions.send_link(job=job, actor=actor),
        Action.RESEND_EMAIL: lambda: emails.resend(
            notification=job.notifications.filter(state=NotificationState.SENT).first(),
            actor=actor,
        ),
        Action.SET_SCALE: lambda: actions.set_scale(
            job=job,
            actor=actor,
            version_id=FileVersion.objects.filter(job_file__job=job).values_list("pk", flat=True)[
                0
            ],
            scale="25.4",
        ),
    }
    calls[action]()


@pytest.fixture
def job_for(make_job, staff):
    """A job in `state` on which `action` would succeed if the table allows it."""

    def make(state: JobState, action: Action) -> Job:
        job, _ = make_job(state, quantity=2)
        if state == JobState.IN_PRODUCTION and action in (Action.UPDATE_RUN, Action.MARK_READY):
            run = actions.add_run(job=job, actor=staff, quantity=2)
            if action == Action.MARK_READY:
                actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)
        if action == Action.RESEND_EMAIL:  # an email that went out, to send again
            Notification.objects.filter(job=job).update(state=NotificationState.SENT)
        return Job.objects.get(pk=job.pk)

    return make


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", list(JobState))
def test_every_action_in_every_state_follows_the_product_table(
    job_for, customer, staff, admin_staff, state, action
):
    job = job_for(state, action)
    for actor in (customer, staff, admin_staff, Actor.system()):
        if who_may(action, state, actor.kind):
            _, target = PRODUCT_TABLE[action][state]
            with applies(job) as result:
                perform(action, job, actor)
            assert result.job.state == (target or state)
            assert result.audit.actor_kind == actor.kind
            job = job_for(state, action)  # the next actor starts again from `state`
        else:
            error = Conflict if state not in PRODUCT_TABLE[action] else NotAllowed
            with refused(job, error):
                perform(action, job, actor)


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_jobs_refuse_every_action_and_never_revive(make_job, customer, staff, state):
    job, _ = make_job(state)
    for action in ACTIONS:
        if action in (Action.ADD_NOTE, Action.ROTATE_LINK, Action.RESEND_EMAIL, Action.SEND_LINK):
            continue  # still possible: test_add_note.py, test_rotate_link.py, test_resend.py,
            # tests/security/test_links.py
        for actor in (customer, staff):
            with refused(job, Conflict) as caught:
                perform(action, job, actor)
            assert JobState(state).label.lower() in caught.value.message
    assert Job.objects.get(pk=job.pk).state == state


@pytest.mark.parametrize("state", list(JobState))
@pytest.mark.parametrize("kind", list(ActorKind))
def test_the_actions_offered_are_those_the_table_allows(state, kind):
    # Each has its own form or button: on the note, the email, the file.
    not_buttons = {Action.ADD_NOTE, Action.RESEND_EMAIL, Action.SET_SCALE}
    expected = [
        action for action in ACTIONS if action not in not_buttons and who_may(action, state, kind)
    ]
    assert sorted(lifecycle.available(state, kind)) == sorted(expected)
