"""Helpers that take jobs through the real lifecycle: shared by `load_demo` and the tests.

Nothing here writes a state directly; every step is an action from `printdesk.jobs.actions`,
so the audit trail and the outbox rows are the real ones.
"""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor, QuoteLineInput
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import DispatchMethod, Job, RunState

# The twelve triangles of an axis-aligned box, as (normal, three corners); corners are
# (x, y, z) multipliers of the box's size, wound counter-clockwise seen from outside.
_BOX_FACETS = (
    ((0, 0, -1), ((0, 0, 0), (0, 1, 0), (1, 1, 0))),
    ((0, 0, -1), ((0, 0, 0), (1, 1, 0), (1, 0, 0))),
    ((0, 0, 1), ((0, 0, 1), (1, 0, 1), (1, 1, 1))),
    ((0, 0, 1), ((0, 0, 1), (1, 1, 1), (0, 1, 1))),
    ((0, -1, 0), ((0, 0, 0), (1, 0, 0), (1, 0, 1))),
    ((0, -1, 0), ((0, 0, 0), (1, 0, 1), (0, 0, 1))),
    ((0, 1, 0), ((0, 1, 0), (0, 1, 1), (1, 1, 1))),
    ((0, 1, 0), ((0, 1, 0), (1, 1, 1), (1, 1, 0))),
    ((-1, 0, 0), ((0, 0, 0), (0, 0, 1), (0, 1, 1))),
    ((-1, 0, 0), ((0, 0, 0), (0, 1, 1), (0, 1, 0))),
    ((1, 0, 0), ((1, 0, 0), (1, 1, 0), (1, 1, 1))),
    ((1, 0, 0), ((1, 0, 0), (1, 1, 1), (1, 0, 1))),
)


def box_stl(name: str, size_mm: tuple[float, float, float] = (20, 20, 20)) -> bytes:
    """A closed, watertight ASCII STL of a box: a small but honest print file."""
    solid = name.rsplit(".", 1)[0].replace(" ", "_") or "part"
    lines = [f"solid {solid}"]
    for normal, corners in _BOX_FACETS:
        lines.append("facet normal {} {} {}".format(*normal))
        lines.append(" outer loop")
        for corner in corners:
            x, y, z = (c * s for c, s in zip(corner, size_mm, strict=True))
            lines.append(f"  vertex {x:g} {y:g} {z:g}")
        lines.append(" endloop")
        lines.append("endfacet")
    lines.append(f"endsolid {solid}")
    return ("\n".join(lines) + "\n").encode("ascii")


def stl_upload(
    name: str = "part.stl", size_mm: tuple[float, float, float] = (20, 20, 20)
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, box_stl(name, size_mm), content_type="model/stl")


def quote_lines(
    job: Job, unit_price: str = "12.50", description: str = "Part"
) -> list[QuoteLineInput]:
    """One line for the job's first file at its material, colour and quantity."""
    first_file = job.files.first()
    return [
        QuoteLineInput(
            description=description,
            material_id=job.material_id,
            colour=job.colour,
            quantity=job.quantity,
            unit_price=Decimal(unit_price),
            job_file_id=first_file.pk if first_file else None,
        )
    ]


def send_quote(
    job: Job, staff: Actor, unit_price: str = "12.50", message: str = "", description: str = "Part"
) -> Job:
    """Send a quote (a new version if one exists) valid for two weeks; returns the fresh job."""
    actions.send_quote(
        job=job,
        actor=staff,
        lines=quote_lines(job, unit_price, description),
        currency="EUR",
        lead_time_days=5,
        valid_until=timezone.localdate() + timedelta(days=14),
        message=message,
    )
    return Job.objects.get(pk=job.pk)


def accept(job: Job, actor: Actor | None = None) -> Job:
    """Accept the live quote, by default as the customer."""
    quote = actions.live_quote(job)
    if quote is None:
        raise ValueError(f"{job.reference} has no live quote to accept.")
    return actions.accept_quote(
        job=job, actor=actor or Actor.customer(), quote_version=quote.version
    )


def print_all(job: Job, staff: Actor, printer_id: int | None = None) -> Job:
    """One run for everything still owed, printed successfully, then mark the job ready."""
    owed = job.quantity - actions.done_quantity(job)
    if owed > 0:
        run = actions.add_run(job=job, actor=staff, quantity=owed, printer_id=printer_id)
        actions.update_run(job=job, actor=staff, run_id=run.pk, state=RunState.DONE)
    return actions.mark_ready(job=job, actor=staff)


def drive_to(job: Job, state: JobState, staff: Actor) -> Job:
    """Take a freshly submitted job to `state` through the real actions; returns it fresh."""
    customer = Actor.customer()

    def produce(j: Job) -> Job:
        return actions.start_production(job=accept(send_quote(j, staff)), actor=staff)

    def ready(j: Job) -> Job:
        return print_all(produce(j), staff)

    steps: dict[JobState, Callable[[Job], Job]] = {
        JobState.SUBMITTED: lambda j: j,
        JobState.QUOTED: lambda j: send_quote(j, staff),
        JobState.ACCEPTED: lambda j: accept(send_quote(j, staff)),
        JobState.QUOTE_DECLINED: lambda j: actions.decline_quote(
            job=send_quote(j, staff), actor=customer, quote_version=1, reason="Too dear"
        ),
        JobState.DECLINED: lambda j: actions.decline_request(job=j, actor=staff, reason="No"),
        JobState.IN_PRODUCTION: produce,
        JobState.READY: ready,
        JobState.DISPATCHED: lambda j: actions.dispatch(
            job=ready(j),
            actor=staff,
            method=DispatchMethod.CARRIER,
            carrier="DHL",
            tracking_number="JD0001",
        ),
        JobState.CANCELLED: lambda j: actions.cancel(job=j, actor=customer, reason="Changed mind"),
    }
    result = steps[state](job)
    return Job.objects.get(pk=result.pk)
