import pytest

from printdesk.jobs import actions
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from printdesk.jobs.models import RunState
from tests.jobs.helpers import applies, assert_audit, refused

# --- add_run --------------------------------------------------------------------------------


def test_it_plans_a_run_for_part_of_the_quantity(make_job, staff, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=5)
    with applies(job) as result:
        run = actions.add_run(
            job=job, actor=staff, quantity=2, printer_id=catalogue["mk4"].pk, notes="plate A"
        )

    assert result.job.state == JobState.IN_PRODUCTION
    assert (run.state, run.quantity, run.printer, run.notes) == (
        RunState.QUEUED,
        2,
        catalogue["mk4"],
        "plate A",
    )
    # Material and colour default to what the customer asked for.
    assert (run.material, run.colour) == (catalogue["pla"], "black")
    assert_audit(
        result.audit,
        event=EventType.RUN_ADDED,
        actor=staff,
        from_state=JobState.IN_PRODUCTION,
        to_state=JobState.IN_PRODUCTION,
        details={"run_id": run.pk, "quantity": 2},
    )
    assert result.sent_to == {}  # run bookkeeping stays internal


def test_a_run_may_use_another_material(make_job, admin_staff, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(
        job=job, actor=admin_staff, quantity=1, material_id=catalogue["resin"].pk, colour=""
    )
    assert (run.material, run.colour) == (catalogue["resin"], "")


def test_add_run_cannot_plan_more_than_owed(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=5)
    actions.add_run(job=job, actor=staff, quantity=3)
    with refused(job, InvalidInput) as caught:
        actions.add_run(job=job, actor=staff, quantity=3)
    assert "Only 2 more" in caught.value.message
    actions.add_run(job=job, actor=staff, quantity=2)
    with refused(job, InvalidInput):
        actions.add_run(job=job, actor=staff, quantity=1)


@pytest.mark.parametrize("quantity", [0, -1, True, 2.5, actions.MAX_QUANTITY + 1])
def test_it_refuses_a_run_of_a_silly_quantity(make_job, staff, quantity):
    job, _ = make_job(JobState.IN_PRODUCTION)
    with refused(job, InvalidInput):
        actions.add_run(job=job, actor=staff, quantity=quantity)


def test_it_refuses_an_inactive_printer(make_job, staff, catalogue):
    catalogue["form"].active = False
    catalogue["form"].save()
    job, _ = make_job(JobState.IN_PRODUCTION)
    with refused(job, InvalidInput) as caught:
        actions.add_run(job=job, actor=staff, quantity=1, printer_id=catalogue["form"].pk)
    assert caught.value.field == "printer"


def test_it_refuses_a_colour_the_material_does_not_come_in(make_job, staff, catalogue):
    job, _ = make_job(JobState.IN_PRODUCTION)
    with refused(job, InvalidInput):
        actions.add_run(
            job=job, actor=staff, quantity=1, material_id=catalogue["pla"].pk, colour="gold"
        )


def test_it_refuses_a_run_planned_by_the_customer(make_job, customer):
    job, _ = make_job(JobState.IN_PRODUCTION)
    with refused(job, NotAllowed):
        actions.add_run(job=job, actor=customer, quantity=1)


@pytest.mark.parametrize("state", [JobState.ACCEPTED, JobState.READY, JobState.DISPATCHED])
def test_it_refuses_a_run_outside_production(make_job, staff, state):
    job, _ = make_job(state)
    with refused(job, Conflict):
        actions.add_run(job=job, actor=staff, quantity=1)


def test_it_refuses_a_run_on_a_stale_version(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    with refused(job, JobChanged):
        actions.add_run(job=job, actor=staff, quantity=1, expected_version=job.version - 1)


# --- update_run -----------------------------------------------------------------------------


def test_a_run_moves_from_queued_through_printing_to_done(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=2)
    run = actions.add_run(job=job, actor=staff, quantity=2)
    with applies(job) as result:
        actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.PRINTING)
    assert_audit(
        result.audit,
        event=EventType.RUN_UPDATED,
        actor=staff,
        from_state=JobState.IN_PRODUCTION,
        to_state=JobState.IN_PRODUCTION,
        details={"run_id": run.pk, "from": "queued", "to": "printing", "quantity": 2},
    )
    assert result.sent_to == {}
    with applies(job):
        actions.update_run(
            job=job, actor=staff, run_id=run.pk, state=RunState.DONE, notes="all good"
        )
    run.refresh_from_db()
    assert (run.state, run.notes) == (RunState.DONE, "all good")
    assert actions.done_quantity(job) == 2


@pytest.mark.parametrize(
    ("path", "refused_move"),
    [
        ([RunState.DONE], RunState.FAILED),
        ([RunState.FAILED], RunState.DONE),
        ([RunState.FAILED], RunState.QUEUED),
        ([RunState.PRINTING], RunState.QUEUED),
        ([], RunState.QUEUED),
    ],
)
def test_done_and_failed_runs_are_final(make_job, staff, path, refused_move):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    for move in path:
        actions.update_run(job=job, actor=staff, run_id=run.pk, state=move)
    with refused(job, Conflict):
        actions.update_run(job=job, actor=staff, run_id=run.pk, state=refused_move)


def test_it_refuses_to_update_a_run_of_another_job(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    other, _ = make_job(JobState.IN_PRODUCTION)
    elsewhere = actions.add_run(job=other, actor=staff, quantity=1)
    with refused(job, InvalidInput):
        actions.update_run(job=job, actor=staff, run_id=elsewhere.pk, state=RunState.DONE)


def test_it_refuses_a_run_update_by_the_customer(make_job, staff, customer):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    with refused(job, NotAllowed):
        actions.update_run(job=job, actor=customer, run_id=run.pk, state=RunState.DONE)


def test_it_refuses_a_run_update_after_production(make_job, staff):
    job, _ = make_job(JobState.READY)
    with refused(job, Conflict):
        actions.update_run(job=job, actor=staff, run_id=job.runs.get().pk, state=RunState.FAILED)


def test_it_refuses_a_run_update_on_a_stale_version(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    with refused(job, JobChanged):
        actions.update_run(
            job=job, actor=staff, run_id=run.pk, state=RunState.DONE, expected_version=1
        )


# --- a job split into runs --------------------------------------------------------------------


def test_a_failed_run_is_owed_again_and_the_job_is_ready_only_when_done_covers_it(
    make_job, staff, catalogue
):
    job, _ = make_job(JobState.IN_PRODUCTION, quantity=6)
    first, second, third = (
        actions.add_run(job=job, actor=staff, quantity=2, printer_id=catalogue["mk4"].pk)
        for _ in range(3)
    )
    with refused(job, InvalidInput):  # all six are planned
        actions.add_run(job=job, actor=staff, quantity=1)

    actions.update_run(job=job, actor=staff, run_id=first.pk, state=RunState.DONE)
    actions.update_run(job=job, actor=staff, run_id=second.pk, state=RunState.PRINTING)
    actions.update_run(job=job, actor=staff, run_id=second.pk, state=RunState.FAILED)
    actions.update_run(job=job, actor=staff, run_id=third.pk, state=RunState.DONE)
    assert (actions.done_quantity(job), actions.planned_quantity(job)) == (4, 4)

    with refused(job, Conflict) as caught:
        actions.mark_ready(job=job, actor=staff)
    assert "owes 2 of 6" in caught.value.message
    with refused(job, InvalidInput):  # the failed run's two parts, no more
        actions.add_run(job=job, actor=staff, quantity=3)

    reprint = actions.add_run(job=job, actor=staff, quantity=2)
    with refused(job, Conflict):  # planned is not printed
        actions.mark_ready(job=job, actor=staff)
    actions.update_run(job=job, actor=staff, run_id=reprint.pk, state=RunState.DONE)
    with applies(job) as result:
        actions.mark_ready(job=job, actor=staff)
    assert result.job.state == JobState.READY
    assert result.audit.details == {"done": 6}


def test_it_refuses_a_run_state_that_does_not_exist(make_job, staff):
    job, _ = make_job(JobState.IN_PRODUCTION)
    run = actions.add_run(job=job, actor=staff, quantity=1)
    with refused(job, InvalidInput) as caught:
        actions.update_run(job=job, actor=staff, run_id=run.pk, state="melted")
    assert caught.value.field == "state"
