"""Random sequences of actions by random actors on a few jobs, checked after every step.

A hypothesis state machine keeps its own model of each job (state, version, quotes, runs,
emails) and predicts every attempt from PRODUCT.md's table (`helpers.PRODUCT_TABLE`): which
error it must be refused with, or how it changes the job. After each step it checks:
- the job's state is a declared JobState and matches the model;
- an applied action wrote exactly one audit entry (audit count == version for every job) and
  the emails its event calls for; a refused one changed nothing at all;
- a terminal job stays in its terminal state;
- a quoted job has exactly one current quote, its latest; from `accepted` on, the accepted quote
  is the job's only live quote and its latest version; before a quote, none is live.

Each example runs in a savepoint that is rolled back at teardown, inside pytest-django's `db`.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import ActionError, Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import Action, EventType, JobState
from printdesk.jobs.models import DispatchMethod, Job, PrintRun, Quote, QuoteStatus, RunState
from printdesk.lib.demo import drive_to
from tests.conftest import stl_upload
from tests.jobs.helpers import (
    CUSTOMER,
    OPERATOR,
    PRODUCT_TABLE,
    RUN_MOVES,
    TERMINAL,
    expected_audiences,
    footprint,
    quote_kwargs,
    who_may,
)

JOBS = 3
QUANTITY = 2
LIVE = (QuoteStatus.CURRENT, QuoteStatus.ACCEPTED)
AFTER_ACCEPTANCE = (JobState.ACCEPTED, JobState.IN_PRODUCTION, JobState.READY, JobState.DISPATCHED)
NO_LIVE_QUOTE = (JobState.SUBMITTED, JobState.QUOTE_DECLINED, JobState.DECLINED)
EVENTS = {
    Action.SEND_QUOTE: EventType.QUOTE_SENT,
    Action.DECLINE: EventType.REQUEST_DECLINED,
    Action.ACCEPT_QUOTE: EventType.QUOTE_ACCEPTED,
    Action.DECLINE_QUOTE: EventType.QUOTE_DECLINED,
    Action.REVISE_FILE: EventType.FILE_REVISED,
    Action.START_PRODUCTION: EventType.PRODUCTION_STARTED,
    Action.ADD_RUN: EventType.RUN_ADDED,
    Action.UPDATE_RUN: EventType.RUN_UPDATED,
    Action.MARK_READY: EventType.READY,
    Action.DISPATCH: EventType.DISPATCHED,
    Action.CANCEL: EventType.CANCELLED,
    Action.ADD_NOTE: EventType.NOTE_ADDED,
}

# Most attempts are ones a person would make (the right actor, good input), so that walks get
# far into the lifecycle; the rest are the refusals. Shrinking prefers the first of each list.
# "fit" is whoever the table allows; "stranger" is a logged-in user who is not staff, for whom
# Actor.staff refuses to build an actor at all.
WHO = st.sampled_from(["fit"] * 5 + ["customer", "operator", "admin", "stranger", "system"])
# The version the caller saw: none sent, the current one, or one from before the last change.
SEEN = st.sampled_from(["none"] * 3 + ["current"] * 3 + ["stale"])
REASON = st.sampled_from(["Changed plans"] * 4 + [""])
OPEN = [state for state in JobState if state not in TERMINAL]
START = st.sampled_from(OPEN * 3 + sorted(TERMINAL))
RUNS = st.lists(st.sampled_from([RunState.DONE, RunState.QUEUED, RunState.FAILED]), max_size=2)
QUOTE_PICK = st.sampled_from(["latest"] * 4 + ["older", "unsent"])


@dataclass
class Model:
    """What the machine expects of one job, kept apart from the database."""

    pk: int
    state: JobState
    version: int
    emails: int
    quotes: dict[int, str] = field(default_factory=dict)  # version -> status
    valid_until: dict[int, date] = field(default_factory=dict)
    runs: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (quantity, state)

    @classmethod
    def load(cls, job: Job) -> "Model":
        job = Job.objects.get(pk=job.pk)
        return cls(
            pk=job.pk,
            state=JobState(job.state),
            version=job.version,
            emails=job.notifications.count(),
            quotes=dict(job.quotes.values_list("version", "status")),
            valid_until=dict(job.quotes.values_list("version", "valid_until")),
            runs={pk: (q, s) for pk, q, s in job.runs.values_list("id", "quantity", "state")},
        )

    def live(self) -> int | None:
        return next((v for v, status in self.quotes.items() if status in LIVE), None)

    def latest(self) -> int:
        return max(self.quotes, default=0)

    def done(self) -> int:
        return sum(q for q, s in self.runs.values() if s == RunState.DONE)

    def owed(self) -> int:
        return QUANTITY - sum(q for q, s in self.runs.values() if s != RunState.FAILED)


@dataclass
class People:
    operator: object
    admin: object
    stranger: object
    material_id: int


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self, people: People, clock) -> None:
        super().__init__()
        self.people = people
        self.clock = clock
        self.clock.offset = timedelta()
        self.jobs: list[Job] = []
        self.models: list[Model] = []
        self.ended: dict[int, JobState] = {}
        # One savepoint per example, rolled back at teardown: examples never see each other.
        self._example = transaction.atomic()
        self._example.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    @initialize(starts=st.lists(st.tuples(START, RUNS), min_size=JOBS, max_size=JOBS))
    def open_jobs(self, starts):
        """Jobs start anywhere in the lifecycle, taken there by the real actions.

        A job starting in production may already have runs of one part each (in the states
        drawn), so that walks reach the end of production in few steps.
        """
        staff = Actor.staff(self.people.operator)
        for start, runs in starts:
            job, _ = actions.submit_request(
                customer_name="Cara",
                customer_email="cara@example.com",
                material_id=self.people.material_id,
                colour="black",
                quantity=QUANTITY,
                files=[stl_upload()],
            )
            job = drive_to(job, start, staff)
            for run_state in runs if start == JobState.IN_PRODUCTION else []:
                run = actions.add_run(job=job, actor=staff, quantity=1)
                if run_state != RunState.QUEUED:
                    actions.update_run(job=job, actor=staff, run_id=run.pk, state=run_state)
            self.jobs.append(job)
            self.models.append(Model.load(job))

    # --- how an attempt is judged -------------------------------------------------------------

    def actor(self, who: str, action: Action, model: Model) -> Actor:
        if who == "fit":
            allowed = PRODUCT_TABLE[action].get(model.state, (frozenset(),))[0]
            who = CUSTOMER if CUSTOMER in allowed else OPERATOR
        return {
            "customer": Actor.customer,
            "operator": lambda: Actor.staff(self.people.operator),
            "admin": lambda: Actor.staff(self.people.admin),
            "stranger": lambda: Actor.staff(self.people.stranger),
            "system": Actor.system,
        }[who]()

    def expect(self, action, model, who, seen, *, bad_input=False, domain=None):
        """The error the attempt must be refused with, in the order the actions check, or None."""
        if who == "stranger":
            return NotAllowed  # no Actor can be built for a user who is not active staff
        if bad_input:
            return InvalidInput  # input is checked before the job is even looked at
        if model.state not in PRODUCT_TABLE[action]:
            return Conflict
        if seen == "stale":
            return JobChanged  # whoever acts on an old page is told the job changed
        if not who_may(action, model.state, self.actor(who, action, model).kind):
            return NotAllowed
        return domain() if domain else None

    def target(self, i: int, action: Action, who: str) -> int:
        """A fitting attempt goes to a job in a state where the action exists, if there is one."""
        if who != "fit":
            return i
        fits = [j for j in (i, *range(JOBS)) if self.models[j].state in PRODUCT_TABLE[action]]
        return fits[0] if fits else i

    def attempt(self, i, action, who, seen, call, *, bad_input=False, domain=None, then=None):
        """Try `call(job, actor, expected_version)` and hold it to the model's prediction."""
        job, model = self.jobs[i], self.models[i]
        expected = self.expect(action, model, who, seen, bad_input=bad_input, domain=domain)
        version = {"none": None, "current": model.version, "stale": model.version - 1}[seen]
        before = footprint(job)
        try:
            result = call(job, self.actor(who, action, model), version)
        except ActionError as error:
            assert expected is not None, f"{action} by {who} in {model.state} refused: {error!r}"
            assert type(error) is expected, f"{action} by {who} in {model.state}: {error!r}"
            assert footprint(job) == before, f"refused {action} changed something"
            return
        assert expected is None, f"{action} by {who} in {model.state} applied, not {expected}"

        actor = self.actor(who, action, model)
        target = PRODUCT_TABLE[action][model.state][1] or model.state
        [audit] = job.audit_events.exclude(id__in=[pk for pk, _ in before["audit"]])
        assert (audit.event, audit.actor_kind) == (EVENTS[action], actor.kind)
        assert (audit.from_state, audit.to_state) == (model.state, target)
        audiences = {n.audience for n in audit.notifications.all()}
        assert audiences == expected_audiences(audit.event, actor.kind)
        if then is not None:
            then(model, result)
        model.state = target
        model.version += 1
        model.emails += len(audiences)

    # --- the rules: every action, with good and bad input ------------------------------------

    @rule(
        i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, days=st.sampled_from([14, 14, 14, 3, 0, -1])
    )
    def send_quote(self, i, who, seen, days):
        i = self.target(i, Action.SEND_QUOTE, who)
        valid_until = timezone.localdate() + timedelta(days=days)

        def then(model, quote):
            if (live := model.live()) is not None:
                model.quotes[live] = QuoteStatus.SUPERSEDED
            model.quotes[quote.version] = QuoteStatus.CURRENT
            model.valid_until[quote.version] = valid_until
            assert quote.version == max(model.quotes)

        self.attempt(
            i,
            Action.SEND_QUOTE,
            who,
            seen,
            lambda job, actor, version: actions.send_quote(
                job=job,
                actor=actor,
                expected_version=version,
                **quote_kwargs(job, valid_until=valid_until),
            ),
            bad_input=days < 0,
            then=then,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, reason=REASON)
    def decline_request(self, i, who, seen, reason):
        i = self.target(i, Action.DECLINE, who)
        self.attempt(
            i,
            Action.DECLINE,
            who,
            seen,
            lambda job, actor, version: actions.decline_request(
                job=job, actor=actor, reason=reason, expected_version=version
            ),
            bad_input=not reason,
        )

    def _quote_version(self, model: Model, pick: str) -> int:
        return {
            "latest": model.latest(),
            "older": model.latest() - 1,
            "unsent": model.latest() + 1,
        }[pick]

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, pick=QUOTE_PICK)
    def accept_quote(self, i, who, seen, pick):
        i = self.target(i, Action.ACCEPT_QUOTE, who)
        model = self.models[i]
        number = self._quote_version(model, pick)

        def domain():
            if model.live() != number:
                return Conflict
            return Conflict if model.valid_until[number] < timezone.localdate() else None

        def then(model, _):
            model.quotes[number] = QuoteStatus.ACCEPTED

        self.attempt(
            i,
            Action.ACCEPT_QUOTE,
            who,
            seen,
            lambda job, actor, version: actions.accept_quote(
                job=job, actor=actor, quote_version=number, expected_version=version
            ),
            domain=domain,
            then=then,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, pick=QUOTE_PICK, reason=REASON)
    def decline_quote(self, i, who, seen, pick, reason):
        i = self.target(i, Action.DECLINE_QUOTE, who)
        model = self.models[i]
        number = self._quote_version(model, pick)

        def then(model, _):
            model.quotes[number] = QuoteStatus.DECLINED

        self.attempt(
            i,
            Action.DECLINE_QUOTE,
            who,
            seen,
            lambda job, actor, version: actions.decline_quote(
                job=job,
                actor=actor,
                quote_version=number,
                reason=reason,
                expected_version=version,
            ),
            bad_input=not reason,
            domain=lambda: None if model.live() == number else Conflict,
            then=then,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, same_file=st.booleans())
    def revise_file(self, i, who, seen, same_file):
        i = self.target(i, Action.REVISE_FILE, who)
        file_id = self.jobs[i].files.order_by("id").values_list("id", flat=True)[0]

        def then(model, _):
            if (live := model.live()) is not None:
                model.quotes[live] = QuoteStatus.SUPERSEDED

        self.attempt(
            i,
            Action.REVISE_FILE,
            who,
            seen,
            lambda job, actor, version: actions.revise_file(
                job=job,
                actor=actor,
                upload=stl_upload("revised.stl"),
                job_file_id=file_id if same_file else None,
                expected_version=version,
            ),
            then=then,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN)
    def start_production(self, i, who, seen):
        i = self.target(i, Action.START_PRODUCTION, who)
        self.attempt(
            i,
            Action.START_PRODUCTION,
            who,
            seen,
            lambda job, actor, version: actions.start_production(
                job=job, actor=actor, expected_version=version
            ),
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, quantity=st.sampled_from([1, 1, 2, 0, 3]))
    def add_run(self, i, who, seen, quantity):
        i = self.target(i, Action.ADD_RUN, who)
        model = self.models[i]

        def then(model, run):
            model.runs[run.pk] = (quantity, RunState.QUEUED)

        self.attempt(
            i,
            Action.ADD_RUN,
            who,
            seen,
            lambda job, actor, version: actions.add_run(
                job=job, actor=actor, quantity=quantity, expected_version=version
            ),
            bad_input=quantity < 1,
            domain=lambda: InvalidInput if quantity > model.owed() else None,
            then=then,
        )

    @rule(
        i=st.integers(0, JOBS - 1),
        who=WHO,
        seen=SEEN,
        pick=st.integers(0, 3),
        to=st.sampled_from(list(RunState)),
    )
    def update_run(self, i, who, seen, pick, to):
        i = self.target(i, Action.UPDATE_RUN, who)
        model = self.models[i]
        runs = sorted(model.runs)
        run_id = runs[pick] if pick < len(runs) else 0

        def domain():
            if run_id not in model.runs:
                return InvalidInput
            return None if to in RUN_MOVES[model.runs[run_id][1]] else Conflict

        def then(model, run):
            model.runs[run_id] = (model.runs[run_id][0], to)

        self.attempt(
            i,
            Action.UPDATE_RUN,
            who,
            seen,
            lambda job, actor, version: actions.update_run(
                job=job, actor=actor, run_id=run_id, state=to, expected_version=version
            ),
            domain=domain,
            then=then,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN)
    def mark_ready(self, i, who, seen):
        i = self.target(i, Action.MARK_READY, who)
        model = self.models[i]
        self.attempt(
            i,
            Action.MARK_READY,
            who,
            seen,
            lambda job, actor, version: actions.mark_ready(
                job=job, actor=actor, expected_version=version
            ),
            domain=lambda: None if model.done() >= QUANTITY else Conflict,
        )

    @rule(
        i=st.integers(0, JOBS - 1),
        who=WHO,
        seen=SEEN,
        method=st.sampled_from(list(DispatchMethod)),
        carrier=st.sampled_from(["DHL", ""]),
    )
    def dispatch(self, i, who, seen, method, carrier):
        i = self.target(i, Action.DISPATCH, who)
        self.attempt(
            i,
            Action.DISPATCH,
            who,
            seen,
            lambda job, actor, version: actions.dispatch(
                job=job,
                actor=actor,
                method=method,
                carrier=carrier,
                expected_version=version,
            ),
            bad_input=method == DispatchMethod.CARRIER and not carrier,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO, seen=SEEN, reason=REASON)
    def cancel(self, i, who, seen, reason):
        i = self.target(i, Action.CANCEL, who)
        self.attempt(
            i,
            Action.CANCEL,
            who,
            seen,
            lambda job, actor, version: actions.cancel(
                job=job, actor=actor, reason=reason, expected_version=version
            ),
            bad_input=not reason,
        )

    @rule(i=st.integers(0, JOBS - 1), who=WHO)
    def add_note(self, i, who):
        i = self.target(i, Action.ADD_NOTE, who)
        self.attempt(
            i,
            Action.ADD_NOTE,
            who,
            "none",
            lambda job, actor, version: actions.add_note(job=job, actor=actor, body="Note"),
        )

    @rule(days=st.integers(1, 7))
    def time_passes(self, days):
        self.clock.advance(days=days)

    # --- what must hold after every step -----------------------------------------------------

    @invariant()
    def jobs_match_the_model(self):
        pks = [model.pk for model in self.models]
        jobs = Job.objects.filter(pk__in=pks).annotate(
            audits=Count("audit_events", distinct=True),
            emails=Count("notifications", distinct=True),
        )
        found = {job.pk: (job.state, job.version, job.audits, job.emails) for job in jobs}
        quotes = {pk: {} for pk in pks}
        for job_id, version, status in Quote.objects.filter(job__in=pks).values_list(
            "job_id", "version", "status"
        ):
            quotes[job_id][version] = status
        runs = {pk: {} for pk in pks}
        for job_id, run_id, quantity, state in PrintRun.objects.filter(job__in=pks).values_list(
            "job_id", "id", "quantity", "state"
        ):
            runs[job_id][run_id] = (quantity, state)
        for model in self.models:
            state, version, audits, emails = found[model.pk]
            assert state in JobState.values
            assert (state, version, emails) == (model.state, model.version, model.emails)
            assert audits == version  # one audit entry per applied action, submission included
            assert quotes[model.pk] == model.quotes
            assert runs[model.pk] == model.runs

    @invariant()
    def terminal_jobs_stay_terminal(self):
        for model in self.models:
            if model.pk in self.ended:
                assert model.state == self.ended[model.pk]
            elif model.state in TERMINAL:
                self.ended[model.pk] = model.state

    @invariant()
    def the_live_quote_is_the_latest_and_the_one_the_state_says(self):
        live = {model.pk: [] for model in self.models}
        for job_id, version, status in Quote.objects.filter(
            job__in=list(live), status__in=LIVE
        ).values_list("job_id", "version", "status"):
            live[job_id].append((version, status))
        for model in self.models:
            latest = max(model.quotes, default=None)
            if model.state == JobState.QUOTED:
                assert live[model.pk] == [(latest, QuoteStatus.CURRENT)]
            elif model.state in AFTER_ACCEPTANCE:
                assert live[model.pk] == [(latest, QuoteStatus.ACCEPTED)]
            elif model.state in NO_LIVE_QUOTE:
                assert live[model.pk] == []


@pytest.mark.django_db
def test_random_walks_through_the_lifecycle_keep_every_rule(
    operator, admin, stranger_user, catalogue, clock
):
    people = People(operator, admin, stranger_user, material_id=catalogue["pla"].pk)
    run_state_machine_as_test(
        lambda: LifecycleMachine(people, clock),
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,  # shrink one failure well rather than several slowly
            # The explain phase traces coverage while re-running: minutes on a failure, here.
            phases=[phase for phase in Phase if phase != Phase.explain],
        ),
    )
