"""Every change to a job, one function per action of the lifecycle (see lifecycle.py).

Each action takes the job as its caller read it and, in one transaction:
1. looks up the transition for the job's state (refused: Conflict);
2. checks the version the caller saw (refused: JobChanged), then that the actor may take it
   (refused: NotAllowed);
3. claims the job with a conditional update on (state, version) that must match one row, so of
   two concurrent actions exactly one applies and the other is told the job changed;
4. applies its own changes (a quote, a run, a file version...);
5. writes the audit entry and queues the notifications the event calls for.
Input is validated before the transaction (refused: InvalidInput). Anything raised rolls the
whole action back: a refused action changes nothing.
Views, the API and commands call these; nothing else changes a job's state.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from printdesk.accounts.roles import actor_kind_for
from printdesk.catalogue.models import Material, Printer
from printdesk.files.analysis import queue_analysis
from printdesk.files.models import Analysis, FileVersion, JobFile
from printdesk.files.storage import StoredFile, store_upload
from printdesk.jobs import lifecycle
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import Action, ActorKind, JobState, Transition
from printdesk.jobs.models import (
    LIVE_QUOTE,
    RUN_MOVES,
    AuditEvent,
    Dispatch,
    DispatchMethod,
    Job,
    Note,
    PrintRun,
    Quote,
    QuoteLine,
    QuoteStatus,
    RevokedLink,
    RunState,
    derive_link_secret,
    hash_link_secret,
    link_secret,
    new_link_nonce,
)
from printdesk.notifications.outbox import queue_for_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_QUANTITY = 100_000
MAX_REASON = 2000
MAX_QUOTE_TOTAL = Decimal("1e10")  # Quote.total holds 12 digits, 2 of them decimals
# Analysis.scale holds 10 digits, 4 of them decimals.
SCALE_STEP = Decimal("0.0001")
MAX_SCALE = Decimal("100000")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a customer holding the job's link, a staff user, or the system."""

    kind: ActorKind
    user: "User | None" = None

    @classmethod
    def customer(cls) -> "Actor":
        return cls(ActorKind.CUSTOMER)

    @classmethod
    def system(cls) -> "Actor":
        return cls(ActorKind.SYSTEM)

    @classmethod
    def staff(cls, user) -> "Actor":
        kind = actor_kind_for(user)
        if kind is None:
            raise NotAllowed("Only active bureau staff can do this.")
        return cls(kind, user)


@dataclass(frozen=True)
class QuoteLineInput:
    description: str
    material_id: int
    quantity: int
    unit_price: Decimal
    colour: str = ""
    job_file_id: int | None = None


def customer_link(secret: str) -> str:
    return f"{settings.SITE_URL}/j/{secret}/"


# --- the shared steps -------------------------------------------------------------------------


@contextmanager
def _acting(job: Job) -> Iterator[None]:
    """The action's transaction. If it is refused, the caller's `job` is left as it was."""
    saved = (job.state, job.version, job.updated_at, job.state_changed_at)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        job.state, job.version, job.updated_at, job.state_changed_at = saved
        raise


def _claim(
    job: Job, action: Action, actor: Actor, expected_version: int | None
) -> tuple[Transition, str]:
    """Steps 1 to 3: move the job on as the caller saw it, or refuse. Returns the old state.

    `job` is the job as the caller read it (and `expected_version`, if given, the version they
    saw). The update matches only while the job is still in that state and version, so of two
    concurrent actions exactly one applies. The applied path is this one statement; a refusal
    reads the job again to say why.
    """
    old = JobState(job.state)
    transition = lifecycle.find(action, old)
    seen = job.version if expected_version is None else expected_version
    if transition is None or seen != job.version or not lifecycle.permits(transition, actor.kind):
        _refuse(job, action, actor, seen)
    assert transition is not None  # _refuse never returns
    now = timezone.now()
    target = transition.target or old
    changes: dict = {"version": F("version") + 1, "updated_at": now}
    if target != old:
        changes.update(state=target, state_changed_at=now)
    if Job.objects.filter(pk=job.pk, state=old, version=job.version).update(**changes) != 1:
        _refuse(job, action, actor, seen)
    job.state, job.version, job.updated_at = target, job.version + 1, now
    if target != old:
        job.state_changed_at = now
    return transition, old


def _refuse(job: Job, action: Action, actor: Actor, seen: int) -> NoReturn:
    """Raise the precise reason an action cannot apply, judged on the job as it is now."""
    fresh = Job.objects.filter(pk=job.pk).first()
    if fresh is None:
        raise Conflict("This job no longer exists.")
    state = JobState(fresh.state)
    transition = lifecycle.find(action, state)
    if transition is None:
        raise Conflict(
            f"{fresh.reference} is {state.label.lower()}: “{action.label}” is not possible now."
        )
    # The version before the actor: someone who lost a race (a customer cancelling as
    # production starts) is told the job changed, not that they were never allowed.
    if fresh.version != seen:
        raise JobChanged(f"{fresh.reference} changed since you loaded it; it is now {state.label}.")
    if not lifecycle.permits(transition, actor.kind):
        raise NotAllowed(
            f"{actor.kind.label} cannot “{action.label}” on a job that is {state.label.lower()}."
        )
    raise JobChanged(f"{fresh.reference} changed while you were acting; try again.")


def _record(
    job: Job,
    old: str,
    transition: Transition,
    actor: Actor,
    details: dict,
    customer_context: dict | None = None,
) -> AuditEvent:
    """Step 5: the audit entry and the outbox rows, in the action's transaction."""
    audit = AuditEvent.objects.create(
        job=job,
        event=transition.event,
        actor_kind=actor.kind,
        actor_user=actor.user,
        from_state=old,
        to_state=job.state,
        details=details,
    )
    queue_for_event(job=job, audit=audit, actor_kind=actor.kind, customer_context=customer_context)
    return audit


def _simple(
    job: Job,
    action: Action,
    actor: Actor,
    expected_version: int | None,
    details: dict | None = None,
) -> Job:
    """An action with no changes of its own beyond the state."""
    with _acting(job):
        transition, old = _claim(job, action, actor, expected_version)
        _record(job, old, transition, actor, details or {})
    return job


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please give a reason.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    return reason


def _quantity(quantity: int, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput("Quantity must be a whole number.", field=field)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"Quantity must be between 1 and {MAX_QUANTITY}.", field=field)
    return quantity


def _material(material_id: int, colour: str, field: str = "material") -> Material:
    material = Material.objects.filter(pk=material_id, active=True).first()
    if material is None:
        raise InvalidInput("Choose one of the bureau's materials.", field=field)
    if material.colours and colour not in material.colours:
        choices = ", ".join(material.colours)
        raise InvalidInput(f"{material.name} comes in: {choices}.", field="colour")
    return material


def _materials(lines: Sequence[QuoteLineInput]) -> dict[int, Material]:
    """The lines' materials, checked like _material but in one query."""
    found = Material.objects.filter(pk__in={line.material_id for line in lines}, active=True)
    materials = {material.pk: material for material in found}
    for line in lines:
        material = materials.get(line.material_id)
        if material is None:
            raise InvalidInput("Choose one of the bureau's materials.", field="lines")
        if material.colours and line.colour not in material.colours:
            choices = ", ".join(material.colours)
            raise InvalidInput(f"{material.name} comes in: {choices}.", field="lines")
    return materials


def _add_version(job_file: JobFile, stored: StoredFile, actor: Actor) -> FileVersion:
    """The new version, with its analysis queued for the worker in the same transaction."""
    latest = job_file.versions.aggregate(n=Max("number"))["n"] or 0
    version = FileVersion.objects.create(
        job_file=job_file,
        number=latest + 1,
        blob=stored.key,
        original_name=stored.original_name,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by=actor.kind,
    )
    queue_analysis(version)
    return version


def live_quote(job: Job) -> Quote | None:
    """The quote a customer can act on or has accepted: at most one per job, its latest."""
    return job.quotes.filter(status__in=LIVE_QUOTE).first()


def done_quantity(job: Job) -> int:
    return job.runs.filter(state=RunState.DONE).aggregate(n=Sum("quantity"))["n"] or 0


def planned_quantity(job: Job) -> int:
    """Parts in runs that are queued, printing or done: failed runs owe their parts again."""
    runs = job.runs.exclude(state=RunState.FAILED)
    return runs.aggregate(n=Sum("quantity"))["n"] or 0


# --- the actions ------------------------------------------------------------------------------


def submit_request(
    *,
    customer_name: str,
    customer_email: str,
    material_id: int,
    quantity: int,
    files: Sequence[File | StoredFile],
    colour: str = "",
    customer_phone: str = "",
    customer_company: str = "",
    desired_date: date | None = None,
    notes: str = "",
) -> tuple[Job, str]:
    """A customer's request: store the files, create the job, return it with its link secret.

    `files` are uploads, stored here, or files already stored (the request form keeps each
    file as it arrives, so a wrong field never costs the customer their uploads).
    The secret is returned for the confirmation page; the job keeps only its hash and the nonce
    it is derived from (models.link_secret), so each customer email can carry the link.
    """
    customer_name = customer_name.strip()
    if not customer_name:
        raise InvalidInput("Please tell us your name.", field="customer_name")
    try:
        validate_email(customer_email)
    except ValidationError:
        raise InvalidInput("Please give a valid email address.", field="customer_email") from None
    _quantity(quantity)
    material = _material(material_id, colour)
    if desired_date is not None and desired_date < timezone.localdate():
        raise InvalidInput("The desired date is in the past.", field="desired_date")
    if not files:
        raise InvalidInput("Attach at least one print file.", field="files")
    if len(files) > settings.MAX_FILES_PER_JOB:
        raise InvalidInput(f"Attach at most {settings.MAX_FILES_PER_JOB} files.", field="files")
    total = sum(item.size or 0 for item in files)
    if total > settings.MAX_JOB_BYTES:
        raise InvalidInput(
            f"These files come to {total:,} bytes; a request may hold "
            f"{settings.MAX_JOB_BYTES:,} bytes of files in all.",
            field="files",
        )
    stored = [item if isinstance(item, StoredFile) else store_upload(item) for item in files]

    actor = Actor.customer()
    nonce = new_link_nonce()
    secret = derive_link_secret(nonce)
    with transaction.atomic():
        job = Job.objects.create(
            customer_name=customer_name,
            customer_email=customer_email,
            customer_phone=customer_phone.strip(),
            customer_company=customer_company.strip(),
            material=material,
            colour=colour,
            quantity=quantity,
            desired_date=desired_date,
            notes=notes,
            state=JobState.SUBMITTED,
            link_hash=hash_link_secret(secret),
            link_nonce=nonce,
        )
        for item in stored:
            job_file = JobFile.objects.create(job=job, name=item.original_name)
            _add_version(job_file, item, actor)
        _record(
            job,
            "",  # a new job comes from no state
            lifecycle.SUBMISSION,
            actor,
            {"files": [item.original_name for item in stored]},
        )
    return job, secret


def send_quote(
    *,
    job: Job,
    actor: Actor,
    lines: Sequence[QuoteLineInput],
    currency: str,
    lead_time_days: int,
    valid_until: date,
    message: str = "",
    expected_version: int | None = None,
) -> Quote:
    """Send a new quote version; the previous live one, if any, is superseded."""
    if not lines:
        raise InvalidInput("A quote needs at least one line.", field="lines")
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput("Currency is a three-letter code such as EUR.", field="currency")
    if not 0 <= lead_time_days <= 365:
        raise InvalidInput("Lead time is between 0 and 365 days.", field="lead_time_days")
    if valid_until < timezone.localdate():
        raise InvalidInput("The quote would already have expired.", field="valid_until")
    for line in lines:
        _quantity(line.quantity, field="lines")
        if line.unit_price < 0 or line.unit_price >= Decimal("100000000"):
            raise InvalidInput("Unit prices are between 0 and 99,999,999.99.", field="lines")
        if not line.description.strip():
            raise InvalidInput("Every line needs a description.", field="lines")
    total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    if total >= MAX_QUOTE_TOTAL:
        raise InvalidInput("The quote's total is too large to keep.", field="lines")

    with _acting(job):
        transition, old = _claim(job, Action.SEND_QUOTE, actor, expected_version)
        named_files = {line.job_file_id for line in lines if line.job_file_id is not None}
        if named_files and job.files.filter(pk__in=named_files).count() != len(named_files):
            raise InvalidInput("A quote line names a file of another job.", field="lines")
        materials = _materials(lines)
        latest = job.quotes.order_by("-version").first()
        superseded = latest if latest is not None and latest.status in LIVE_QUOTE else None
        if superseded is not None:
            Quote.objects.filter(pk=superseded.pk).update(status=QuoteStatus.SUPERSEDED)
        number = latest.version + 1 if latest is not None else 1
        quote = Quote.objects.create(
            job=job,
            version=number,
            status=QuoteStatus.CURRENT,
            currency=currency,
            total=total,
            lead_time_days=lead_time_days,
            valid_until=valid_until,
            message=message,
            created_by=actor.user,
        )
        QuoteLine.objects.bulk_create(
            QuoteLine(
                quote=quote,
                job_file_id=line.job_file_id,
                description=line.description.strip(),
                material=materials[line.material_id],
                colour=line.colour,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in lines
        )
        details = {"quote_version": number, "total": str(total), "currency": currency}
        if superseded is not None:
            details["superseded_version"] = superseded.version
        _record(job, old, transition, actor, details)
    return quote


def decline_request(
    *, job: Job, actor: Actor, reason: str, expected_version: int | None = None
) -> Job:
    """The bureau will not quote this request."""
    return _simple(job, Action.DECLINE, actor, expected_version, {"reason": _reason(reason)})


def _decide_quote(
    job: Job,
    actor: Actor,
    action: Action,
    quote_version: int,
    status: QuoteStatus,
    details: dict,
    expected_version: int | None,
) -> Job:
    with _acting(job):
        transition, old = _claim(job, action, actor, expected_version)
        today, now = timezone.localdate(), timezone.now()
        open_quote = job.quotes.filter(version=quote_version, status=QuoteStatus.CURRENT)
        if action == Action.ACCEPT_QUOTE:
            open_quote = open_quote.filter(valid_until__gte=today)
        if open_quote.update(status=status, decided_at=now) != 1:
            _refuse_quote(job, quote_version)
        _record(job, old, transition, actor, {"quote_version": quote_version, **details})
    return job


def _refuse_quote(job: Job, quote_version: int) -> NoReturn:
    quote = live_quote(job)
    if quote is None or quote.version != quote_version:
        current = f" The current quote is version {quote.version}." if quote else ""
        raise Conflict(f"Quote version {quote_version} is no longer open.{current}")
    raise Conflict(
        f"This quote expired on {quote.valid_until:%d %B %Y}; ask the bureau for a new one."
    )


def accept_quote(
    *, job: Job, actor: Actor, quote_version: int, expected_version: int | None = None
) -> Job:
    """Accept the current, unexpired quote (the version the customer saw must be the current)."""
    return _decide_quote(
        job, actor, Action.ACCEPT_QUOTE, quote_version, QuoteStatus.ACCEPTED, {}, expected_version
    )


def decline_quote(
    *,
    job: Job,
    actor: Actor,
    quote_version: int,
    reason: str,
    expected_version: int | None = None,
) -> Job:
    """The customer turns the quote down; the bureau may send a revised one."""
    details = {"reason": _reason(reason)}
    return _decide_quote(
        job,
        actor,
        Action.DECLINE_QUOTE,
        quote_version,
        QuoteStatus.DECLINED,
        details,
        expected_version,
    )


def _check_job_room(job: Job, adding: int) -> None:
    """Refuse a file that would take the job's stored versions past MAX_JOB_BYTES."""
    held = FileVersion.objects.filter(job_file__job=job).aggregate(total=Sum("size"))["total"]
    if (held or 0) + adding > settings.MAX_JOB_BYTES:
        raise InvalidInput(
            f"This file does not fit: {job.reference} already holds {held or 0:,} bytes of "
            f"files, and a job may hold {settings.MAX_JOB_BYTES:,} bytes in all.",
            field="file",
        )


def revise_file(
    *,
    job: Job,
    actor: Actor,
    upload: File | StoredFile,
    job_file_id: int | None = None,
    expected_version: int | None = None,
) -> FileVersion:
    """Add a version of a file (or a new file). After a quote, the job goes back for re-quoting.

    `upload` is an upload, stored here, or a file already stored (a finished resumable upload).
    The live quote, if any, is superseded and can no longer be accepted.
    """
    _check_job_room(job, upload.size or 0)  # before storing: a refused file costs nothing
    stored = upload if isinstance(upload, StoredFile) else store_upload(upload, field="file")
    with _acting(job):
        transition, old = _claim(job, Action.REVISE_FILE, actor, expected_version)
        _check_job_room(job, stored.size)  # again with the job claimed: no race slips past
        if job_file_id is None:
            job_file = JobFile.objects.create(job=job, name=stored.original_name)
        elif (existing := JobFile.objects.filter(pk=job_file_id, job=job).first()) is not None:
            job_file = existing
        else:
            raise InvalidInput("That file is not part of this job.", field="file_id")
        version = _add_version(job_file, stored, actor)
        details: dict = {"file_id": job_file.pk, "file": job_file.name, "version": version.number}
        previous = live_quote(job)
        if previous is not None:
            Quote.objects.filter(pk=previous.pk).update(status=QuoteStatus.SUPERSEDED)
            details["superseded_quote_version"] = previous.version
        _record(job, old, transition, actor, details)
    return version


def start_production(*, job: Job, actor: Actor, expected_version: int | None = None) -> Job:
    return _simple(job, Action.START_PRODUCTION, actor, expected_version)


def add_run(
    *,
    job: Job,
    actor: Actor,
    quantity: int,
    printer_id: int | None = None,
    material_id: int | None = None,
    colour: str | None = None,
    notes: str = "",
    expected_version: int | None = None,
) -> PrintRun:
    """Plan a print run for part of the quantity. Runs may not plan more than is owed."""
    _quantity(quantity)
    with _acting(job):
        transition, old = _claim(job, Action.ADD_RUN, actor, expected_version)
        owed = job.quantity - planned_quantity(job)
        if quantity > owed:
            raise InvalidInput(
                f"Only {owed} more part(s) can be planned for {job.reference}.", field="quantity"
            )
        printer = None
        if printer_id is not None:
            printer = Printer.objects.filter(pk=printer_id, active=True).first()
            if printer is None:
                raise InvalidInput("Choose one of the bureau's printers.", field="printer")
        material = job.material
        if material_id is not None:
            material = _material(material_id, job.colour if colour is None else colour)
        run = PrintRun.objects.create(
            job=job,
            quantity=quantity,
            printer=printer,
            material=material,
            colour=job.colour if colour is None else colour,
            notes=notes,
        )
        _record(job, old, transition, actor, {"run_id": run.pk, "quantity": quantity})
    return run


def update_run(
    *,
    job: Job,
    actor: Actor,
    run_id: int,
    state: RunState,
    notes: str | None = None,
    expected_version: int | None = None,
) -> PrintRun:
    """Move a run on: queued -> printing -> done, or failed (whose parts are owed again)."""
    if state not in RunState.values:  # a wrong request, not a run in the wrong state
        raise InvalidInput("A run is queued, printing, done or failed.", field="state")
    with _acting(job):
        transition, old = _claim(job, Action.UPDATE_RUN, actor, expected_version)
        run = PrintRun.objects.filter(pk=run_id, job=job).first()
        if run is None:
            raise InvalidInput("That print run is not part of this job.", field="run_id")
        if state not in RUN_MOVES[run.state]:
            raise Conflict(f"A run that is {run.state} cannot become {state}.")
        before = run.state
        run.state = state
        if notes is not None:
            run.notes = notes
        run.save(update_fields=["state", "notes", "updated_at"])
        details = {"run_id": run.pk, "from": before, "to": state, "quantity": run.quantity}
        _record(job, old, transition, actor, details)
    return run


def mark_ready(*, job: Job, actor: Actor, expected_version: int | None = None) -> Job:
    """All parts are printed: only when done runs cover the quantity."""
    with _acting(job):
        transition, old = _claim(job, Action.MARK_READY, actor, expected_version)
        done = done_quantity(job)
        if done < job.quantity:
            raise Conflict(
                f"{job.reference} still owes {job.quantity - done} of {job.quantity} parts."
            )
        _record(job, old, transition, actor, {"done": done})
    return job


def dispatch(
    *,
    job: Job,
    actor: Actor,
    method: DispatchMethod,
    carrier: str = "",
    tracking_number: str = "",
    expected_version: int | None = None,
) -> Job:
    """Send the parts with a carrier (tracking number optional) or hand them over."""
    # The column does not enforce its choices, and a dispatched job can never be corrected.
    if method not in DispatchMethod.values:
        raise InvalidInput("Choose a carrier or a hand-over.", field="method")
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if method == DispatchMethod.CARRIER and not carrier:
        raise InvalidInput("Name the carrier.", field="carrier")
    if method == DispatchMethod.HAND_OVER:
        carrier = tracking_number = ""
    with _acting(job):
        transition, old = _claim(job, Action.DISPATCH, actor, expected_version)
        Dispatch.objects.create(
            job=job, method=method, carrier=carrier, tracking_number=tracking_number
        )
        details = {"method": method, "carrier": carrier, "tracking_number": tracking_number}
        _record(job, old, transition, actor, details)
    return job


def cancel(*, job: Job, actor: Actor, reason: str, expected_version: int | None = None) -> Job:
    """Cancel the job. Customers may until production starts; the bureau until dispatch."""
    return _simple(job, Action.CANCEL, actor, expected_version, {"reason": _reason(reason)})


def rotate_link(*, job: Job, actor: Actor, expected_version: int | None = None) -> Job:
    """Replace the customer's private link: the old one stops working at once, and the new one
    is emailed to the customer (and to nobody else: staff never see it). Only the new nonce
    and hash are stored; the email derives the link again (models.link_secret). The old hash
    goes to RevokedLink, so the old link answers 410 ("replaced"), not 404."""
    nonce = new_link_nonce()
    link_hash = hash_link_secret(derive_link_secret(nonce))
    with _acting(job):
        transition, old = _claim(job, Action.ROTATE_LINK, actor, expected_version)
        # Read under the claim's row lock: the hash being replaced, whatever `job` holds.
        old_hash = Job.objects.filter(pk=job.pk).values_list("link_hash", flat=True).get()
        RevokedLink.objects.create(link_hash=old_hash, job=job, reason=f"rotated by {actor.kind}")
        Job.objects.filter(pk=job.pk).update(link_hash=link_hash, link_nonce=nonce)
        _record(job, old, transition, actor, {})
    job.link_hash, job.link_nonce = link_hash, nonce
    return job


def send_link(*, job: Job, actor: Actor) -> Job:
    """Email the customer their current link again ("Lost your link?"); nothing else changes.

    Only for a link that can be derived again (models.link_secret): the worker puts it in the
    email; the database still holds only its hash. A link that cannot be derived is replaced
    with rotate_link instead (Conflict here).
    """
    if link_secret(job) is None:
        raise Conflict(f"The link of {job.reference} cannot be sent again: send a new one.")
    return _simple(job, Action.SEND_LINK, actor, None)


def add_note(*, job: Job, actor: Actor, body: str) -> Note:
    """An internal note; it never reaches the customer."""
    body = (body or "").strip()
    if not body:
        raise InvalidInput("The note is empty.", field="body")
    with _acting(job):
        transition, old = _claim(job, Action.ADD_NOTE, actor, None)
        assert actor.user is not None  # only staff may add notes, and staff carry their user
        note = Note.objects.create(job=job, author=actor.user, body=body)
        _record(job, old, transition, actor, {"note_id": note.pk})
    return note


def _scale(scale: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(scale).strip())
    except InvalidOperation:
        raise InvalidInput("The scale is a number, such as 25.4.", field="scale") from None
    if not value.is_finite() or not SCALE_STEP <= value < MAX_SCALE:
        raise InvalidInput(f"The scale is between {SCALE_STEP} and {MAX_SCALE:,}.", field="scale")
    return value.quantize(SCALE_STEP, ROUND_HALF_UP)


def set_scale(
    *,
    job: Job,
    actor: Actor,
    version_id: int,
    scale: Decimal | int | str,
    expected_version: int | None = None,
) -> Analysis:
    """The scale an operator chose for one file version (say x25.4 for a part drawn in inches):
    its sizes, fit and estimates are multiplied by it. Any factor from 0.0001 up to 100,000;
    the units advice (files/advice.py) suggests the likely ones. Recorded in the audit trail
    (from and to) without changing the job's state. Returns the version's analysis."""
    value = _scale(scale)
    with _acting(job):
        transition, old = _claim(job, Action.SET_SCALE, actor, expected_version)
        version = (
            FileVersion.objects.filter(pk=version_id, job_file__job=job)
            .select_related("job_file")
            .first()
        )
        if version is None:
            raise InvalidInput("That file is not part of this job.", field="version_id")
        analysis = Analysis.objects.filter(version=version).first() or queue_analysis(version)
        before = analysis.scale
        Analysis.objects.filter(pk=analysis.pk).update(scale=value)
        analysis.scale = value
        details = {
            "file_id": version.job_file_id,
            "file": version.job_file.name,
            "version": version.number,
            "from": str(before),
            "to": str(value),
        }
        _record(job, old, transition, actor, details)
    return analysis
