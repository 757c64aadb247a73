"""What the customer reads about each of their files: the analysis in plain words.

Only what helps them act: the size and volume, whether it looks ready to print, a units
problem or gaps in the surface, and (when the bureau turns it on, before any quote) an
indicative price range. Never the operator's working figures: triangles, winding, fit tables.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from printdesk.catalogue.models import Material, Printer
from printdesk.files import advice
from printdesk.files.models import Analysis, AnalysisState, FileVersion
from printdesk.files.previews import report_figures

if TYPE_CHECKING:  # numpy loads with the first report read (Analysis.report), not before
    from printdesk.files.mesh import Report

CHECKING = "We're checking your file."
STEP = "STEP files are checked by our team."
NOT_WATERTIGHT = (
    "Its surface has gaps, so its volume is approximate. We'll look at it before quoting; "
    "if you can, export it again as a closed (watertight) solid."
)


@dataclass
class FileCheck:
    """The words and picture for one file's newest version."""

    summary: str
    notes: list[str] = field(default_factory=list)
    ready: bool = False
    preview_url: str = ""
    preview_alt: str = ""
    mesh_url: str = ""  # the 3D view's mesh, loaded only when its button is pressed
    estimate: advice.Estimate | None = None  # for the job's indication, never shown alone


@dataclass(frozen=True)
class Context:
    """What every file's check reads from the job."""

    secret: str
    printers: list[Printer]  # active, of the material's process (all active when none is)
    material: Material
    quantity: int
    currency: str
    can_revise: bool
    show_estimate: bool  # the setting is on and the job has no quote yet


def file_check(
    version: FileVersion, name: str, analysis: Analysis | None, job: Context
) -> FileCheck:
    if analysis is None or analysis.state in (AnalysisState.PENDING, AnalysisState.RUNNING):
        return FileCheck(CHECKING)
    if analysis.state == AnalysisState.UNSUPPORTED:
        return FileCheck(STEP)
    report = analysis.summary  # the count of bodies is enough here
    if report is None:
        revise = " You can upload a revised file." if job.can_revise else ""
        reason = analysis.reason.rstrip(".") or "it is not a mesh we can read"
        return FileCheck(f"We couldn't read this file: {reason}.{revise}")
    check = _measured(report, analysis.scale, job)
    if analysis.preview:
        check.preview_url = reverse("portal:file_preview", args=[job.secret, version.pk])
        check.preview_alt = f"Preview of {name}"
    if analysis.viewer_mesh:
        check.mesh_url = reverse("portal:file_mesh", args=[job.secret, version.pk])
    return check


def _measured(report: "Report", scale: Decimal, job: Context) -> FileCheck:
    figures = report_figures(report, scale)
    size = f"{figures.size_mm}, {figures.volume} cm³"
    if scale != 1:
        times = f"{scale.normalize():f}"
        summary = f"We checked your file: {size}, at {times} times the size in the file."
    else:
        summary = f"We checked your file: {size}."
    check = FileCheck(summary)
    # Once an operator's scale makes the part plausible, the units check has nothing to say.
    units = advice.units_advice(report, job.printers, scale)
    if units is not None:
        check.notes.append(_units_words(report, units, scale))
    if report.watertight is False:
        check.notes.append(NOT_WATERTIGHT)
    check.ready = units is None and report.watertight is not False
    if check.ready:
        check.summary += " It looks ready to print."
    if job.show_estimate and units is None:
        # An absurd size makes an absurd price: no indication until the units are settled.
        check.estimate = advice.estimate(
            report, job.material, job.printers, quantity=job.quantity, scale=scale
        )
    return check


def _units_words(report: "Report", units: advice.UnitsAdvice, scale: Decimal) -> str:
    size = report_figures(report, scale).size_mm
    if units.problem == "tiny":
        said = f"Your part is only {size}."
    else:
        said = f"Your part is {size}, larger than our printers can make in one piece."
    if not units.scales:
        return f"{said} We'll confirm the size with you before quoting."
    best = units.scales[0]
    would = report_figures(report, scale * best.factor).size_mm
    return (
        f"{said} If it was drawn in {best.label} it would be {would}; "
        "we'll confirm the size with you before quoting."
    )


def indication(checks: list[FileCheck], job: Context) -> str:
    """The indicative range for the whole job, when every file has an estimate; else ""."""
    estimates = [check.estimate for check in checks]
    if not job.show_estimate or not estimates or None in estimates:
        return ""
    total = advice.job_total([e for e in estimates if e is not None], job.material)
    low, high = advice.customer_range(total)
    parts = f"{job.quantity} part{'s' if job.quantity != 1 else ''}"
    per_file = " of each file" if len(estimates) > 1 else ""
    return (
        f"About {low} to {high} {job.currency} for {parts}{per_file} in {job.material.name}. "
        "This is an indication, not a quote: the bureau's quote is the price."
    )


def show_estimate(has_quote: bool) -> bool:
    return bool(settings.PRINTDESK_SHOW_ESTIMATE) and not has_quote
