"""The API's request and response shapes (they are also its OpenAPI description)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field, field_validator

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import DispatchMethod, RunState

# --- errors ---------------------------------------------------------------------------------


class ErrorOut(Schema):
    message: str
    code: str
    field: str | None = None
    errors: list[dict] | None = None


# --- catalogue ------------------------------------------------------------------------------


class MaterialOut(Schema):
    id: int
    name: str
    process: str
    description: str
    colours: list[str]


class PrinterOut(Schema):
    id: int
    name: str
    process: str
    build_x_mm: int
    build_y_mm: int
    build_z_mm: int


class CatalogueOut(Schema):
    materials: list[MaterialOut]
    printers: list[PrinterOut]


# --- jobs -----------------------------------------------------------------------------------


class JobSummaryOut(Schema):
    reference: str
    state: JobState
    state_label: str
    version: int
    customer_name: str
    customer_email: str
    customer_company: str
    material: str
    colour: str
    quantity: int
    desired_date: date | None
    created_at: datetime
    updated_at: datetime
    state_changed_at: datetime


class JobPageOut(Schema):
    items: list[JobSummaryOut]
    count: int
    page: int
    page_size: int


class ScaleOut(Schema):
    factor: Decimal = Field(description="Multiply the file's numbers by this to get mm.")
    label: str = Field(description='The unit the file was probably drawn in, e.g. "inches".')
    text: str


class UnitsAdviceOut(Schema):
    problem: Literal["tiny", "huge"]
    message: str
    scales: list[ScaleOut] = Field(description="Scales that make the part plausible, best first.")


class BodyOut(Schema):
    triangles: int
    volume_mm3: float
    area_mm2: float
    extents_mm: list[float]


class MetricsOut(Schema):
    """As measured, in the file's own numbers taken as mm (3MF units converted); `scale` is
    not applied."""

    format: str
    triangles: int
    bbox_min: list[float]
    bbox_max: list[float]
    extents_mm: list[float]
    extents_in: list[float]
    volume_mm3: float = Field(description="Meaningless when the mesh is not watertight.")
    area_mm2: float
    watertight: bool | None = Field(description="None: not checked (a large file).")
    winding_consistent: bool | None
    degenerate_faces: int | None
    body_count: int | None = Field(description="None: not counted (a large file).")
    bodies: list[BodyOut] | None = Field(
        description="The largest bodies, by volume: the 25 that the fit table checks in a job's"
        " detail, up to 1,000 from the version's own analysis endpoint. `body_count` counts all."
    )
    skipped: list[str] = Field(description="What a large file was not checked for, and why.")
    unit_note: str


class FitPrinterOut(Schema):
    id: int
    name: str
    fits: bool


class FitOut(Schema):
    name: str = Field(description='"Whole part", or "Body n" when there are several.')
    extents_mm: list[float]
    printers: list[FitPrinterOut]


class EstimateOut(Schema):
    material: str
    currency: str
    quantity: int
    volume_cm3: Decimal = Field(description="One part, at the scale.")
    grams: Decimal | None = Field(description="One part; None when the density is not known.")
    unit_price: Decimal = Field(description="One part, without the setup fee.")
    setup_fee: Decimal
    total: Decimal = Field(description="quantity x unit price + setup fee, at least the minimum.")
    minimum_applied: bool
    print_hours: float | None = Field(description="All parts, on `printer`.")
    printer: str | None = Field(description="The fastest printer the part fits.")
    notes: list[str] = Field(description="Why the figures may be off.")


class AnalysisOut(Schema):
    state: str
    state_label: str
    reason: str = Field(description="Why it failed, in plain words.")
    scale: Decimal = Field(description="The operator's scale, applied to fit and estimate.")
    metrics: MetricsOut | None
    units: UnitsAdviceOut | None = Field(description="Sizes that look wrong, at the scale.")
    fit: list[FitOut] = Field(description="Each active printer of the job's material's process.")
    estimate: EstimateOut | None = Field(description="A suggestion for the job's material.")
    preview_url: str | None
    thumbnail_url: str | None
    finished_at: datetime | None


class FileVersionOut(Schema):
    id: int
    number: int
    original_name: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime
    analysis: AnalysisOut | None = Field(description="None: not queued for analysis yet.")


class FileOut(Schema):
    id: int
    name: str
    versions: list[FileVersionOut]


class QuoteLineOut(Schema):
    description: str
    file_id: int | None
    material: str
    colour: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class QuoteOut(Schema):
    version: int
    status: str
    currency: str
    total: Decimal
    lead_time_days: int
    valid_until: date
    message: str
    created_at: datetime
    decided_at: datetime | None
    lines: list[QuoteLineOut]


class RunOut(Schema):
    id: int
    quantity: int
    printer: str | None
    material: str
    colour: str
    state: RunState
    notes: str
    created_at: datetime
    updated_at: datetime


class DispatchOut(Schema):
    method: DispatchMethod
    carrier: str
    tracking_number: str
    created_at: datetime


class AuditOut(Schema):
    event: str
    actor_kind: str
    actor: str
    from_state: str
    to_state: str
    details: dict
    created_at: datetime


class NotificationOut(Schema):
    id: int
    resend_of: int | None = Field(description="The email this one is a copy of, if a resend.")
    event: str
    audience: str
    recipient: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    provider_message_id: str
    created_at: datetime
    sent_at: datetime | None


class NoteOut(Schema):
    author: str
    body: str
    created_at: datetime


class ProductionOut(Schema):
    quantity: int
    done: int
    planned: int
    owed: int = Field(description="Parts not yet printed successfully.")


class JobDetailOut(JobSummaryOut):
    customer_phone: str
    notes: str
    files: list[FileOut]
    quotes: list[QuoteOut]
    runs: list[RunOut]
    production: ProductionOut
    dispatch: DispatchOut | None
    internal_notes: list[NoteOut]
    audit: list[AuditOut]
    notifications: list[NotificationOut]
    actions: list[str] = Field(description="Actions the caller may take now.")


class EstimateRangeOut(Schema):
    low: Decimal
    high: Decimal
    currency: str


class CustomerAnalysisOut(Schema):
    """What the bureau's software found in the latest version of a file."""

    version: int
    state: str
    state_label: str
    reason: str = Field(description="Why it could not be analysed, in plain words.")
    size_mm: list[float] | None = Field(description="As it will be printed.")
    volume_cm3: float | None
    bodies: int | None
    watertight: bool | None
    warning: str = Field(description="Sizes that look wrong (units), in plain words.")
    estimate_range: EstimateRangeOut | None = Field(
        description="An indicative range, never a price; only if the bureau shows one."
    )
    preview_url: str | None
    thumbnail_url: str | None


class CustomerFileOut(Schema):
    id: int
    name: str
    versions: int
    analysis: CustomerAnalysisOut | None


class CustomerEventOut(Schema):
    event: str
    label: str
    to_state: str
    created_at: datetime


class CustomerJobOut(Schema):
    reference: str
    state: JobState
    state_label: str
    version: int
    material: str
    colour: str
    quantity: int
    desired_date: date | None
    created_at: datetime
    files: list[CustomerFileOut]
    quote: QuoteOut | None = Field(description="The quote to act on, or the one accepted.")
    dispatch: DispatchOut | None
    history: list[CustomerEventOut]
    actions: list[str]


# --- input ----------------------------------------------------------------------------------


class In(Schema):
    """Base of every input: text the database can store.

    PostgreSQL refuses NUL in text (and \\u0000 in JSON) with an error, a 500; refusing it
    here makes it a 422 on every database, as Django's form fields do.
    """

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


class Versioned(In):
    expected_version: int | None = Field(
        None, description="The job version you saw; refused with 409 if the job changed since."
    )


class ResendIn(In):
    # Required here: sending an email twice by accident is what the version prevents.
    expected_version: int = Field(
        description="The job version you saw; refused with 409 if the job changed since."
    )


class ReasonIn(Versioned):
    reason: str


class AcceptIn(Versioned):
    quote_version: int


class DeclineQuoteIn(Versioned):
    quote_version: int
    reason: str


class QuoteLineIn(In):
    description: str = Field(max_length=200)
    material_id: int
    colour: str = Field("", max_length=50)
    quantity: int
    unit_price: Decimal = Field(decimal_places=2)
    file_id: int | None = None


class QuoteIn(Versioned):
    lines: list[QuoteLineIn]
    currency: str = "EUR"
    lead_time_days: int
    valid_until: date
    message: str = Field("", max_length=5000)


class RunIn(Versioned):
    quantity: int
    printer_id: int | None = None
    material_id: int | None = None
    colour: str | None = Field(None, max_length=50)
    notes: str = Field("", max_length=5000)


class RunUpdateIn(Versioned):
    state: RunState
    notes: str | None = Field(None, max_length=5000)


class DispatchIn(Versioned):
    method: DispatchMethod
    carrier: str = Field("", max_length=100)
    tracking_number: str = Field("", max_length=100)


class ScaleIn(Versioned):
    scale: Decimal = Field(
        description="1, a scale the units advice suggests, or any factor from 0.0001 to 100,000."
    )


class NoteIn(In):
    body: str = Field(max_length=10000)


class TokenIn(In):
    username: str
    password: str
    name: str = Field("API token", max_length=100)


class TokenOut(Schema):
    token: str
    name: str


class RequestIn(In):
    customer_name: str = Field(max_length=200)
    customer_email: str = Field(max_length=254)
    customer_phone: str = Field("", max_length=50)
    customer_company: str = Field("", max_length=200)
    material_id: int
    colour: str = Field("", max_length=50)
    quantity: int
    desired_date: date | None = None
    notes: str = Field("", max_length=10000)


class RequestOut(Schema):
    reference: str
    link: str = Field(description="The customer's private link. Shown once: keep it.")
    secret: str = Field(description="The link's secret, for the X-Job-Link header.")


SortKey = Literal["created", "-created", "updated", "-updated", "state_changed", "-state_changed"]
