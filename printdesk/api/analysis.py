"""File analyses as the API shows them: all of it to staff, plain words and sizes to customers.

Each takes the rows the job's view has already loaded (a version with its analysis, the
printers, the bureau's currency), so a job with many files costs no more queries.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.urls import reverse

from printdesk.catalogue.models import Bureau, Printer
from printdesk.files import advice
from printdesk.files.models import Analysis, AnalysisState, FileVersion
from printdesk.jobs.models import Job

MM_PER_INCH = 25.4


@dataclass
class Context:
    """What every file of one job is judged against."""

    job: Job
    printers: list[Printer]  # active, of the job material's process

    @classmethod
    def load(cls, job: Job) -> "Context":
        printers = advice.printers_for(job.material, Printer.objects.filter(active=True))
        return cls(job=job, printers=printers)

    @cached_property
    def currency(self) -> str:
        # Read only when an estimate is shown: the bureau's row is created on first use.
        return Bureau.current().currency


def analysis_of(version: FileVersion) -> Analysis | None:
    try:
        return version.analysis
    except Analysis.DoesNotExist:  # a version stored before analysis existed, not yet queued
        return None


def _box(part: advice.Measured, scale: Decimal | int = 1) -> list[float]:
    return list(advice.extents(part, scale))


def _metrics(analysis: Analysis, bodies: int | None) -> dict | None:
    report = analysis.report
    if report is None:
        return None
    listed = report.bodies if report.bodies is None else report.bodies[:bodies]
    return {
        "format": report.format,
        "triangles": report.triangles,
        "bbox_min": list(report.bbox_min),
        "bbox_max": list(report.bbox_max),
        "extents_mm": _box(report),
        "extents_in": [side / MM_PER_INCH for side in advice.extents(report)],
        "volume_mm3": report.volume_mm3,
        "area_mm2": report.area_mm2,
        "watertight": report.watertight,
        "winding_consistent": report.winding_consistent,
        "degenerate_faces": report.degenerate_faces,
        "body_count": report.body_count,
        "bodies": None
        if listed is None
        else [
            {
                "triangles": body.triangles,
                "volume_mm3": body.volume_mm3,
                "area_mm2": body.area_mm2,
                "extents_mm": _box(body),
            }
            for body in listed
        ],
        "skipped": list(report.skipped),
        "unit_note": report.unit_note,
    }


def _units(units: advice.UnitsAdvice | None) -> dict | None:
    if units is None:
        return None
    return {
        "problem": units.problem,
        "message": units.message,
        "scales": [{"factor": s.factor, "label": s.label, "text": s.text} for s in units.scales],
    }


def _estimate(found: advice.Estimate | None, context: Context) -> dict | None:
    if found is None:
        return None
    return {
        "material": context.job.material.name,
        "currency": context.currency,
        "quantity": found.quantity,
        "volume_cm3": found.volume_cm3,
        "grams": found.grams,
        "unit_price": found.unit_price,
        "setup_fee": found.setup_fee,
        "total": found.total,
        "minimum_applied": found.minimum_applied,
        "print_hours": found.print_hours,
        "printer": found.printer.name if found.printer else None,
        "notes": found.notes,
    }


def _state(analysis: Analysis | None) -> dict:
    if analysis is None:
        return {"state": AnalysisState.PENDING, "state_label": AnalysisState.PENDING.label}
    return {"state": analysis.state, "state_label": AnalysisState(analysis.state).label}


def staff_view(version: FileVersion, context: Context, *, every_body: bool = False) -> dict | None:
    """Everything measured and advised for one version, for staff. The bodies listed are the
    largest FIT_BODIES, those the fit table checks, or with `every_body` all the report holds."""
    analysis = analysis_of(version)
    if analysis is None:
        return None
    report, scale = analysis.report, analysis.scale
    args = [context.job.reference, version.pk]
    view = {
        **_state(analysis),
        "reason": analysis.reason,
        "scale": scale,
        "metrics": _metrics(analysis, None if every_body else advice.FIT_BODIES),
        "units": None,
        "fit": [],
        "estimate": None,
        "preview_url": reverse("desk:file_preview", args=args) if analysis.preview else None,
        "thumbnail_url": reverse("desk:file_thumbnail", args=args) if analysis.thumbnail else None,
        "finished_at": analysis.finished_at,
    }
    if report is not None:
        found = advice.estimate(
            report,
            context.job.material,
            context.printers,
            quantity=context.job.quantity,
            scale=scale,
        )
        view.update(
            units=_units(advice.units_advice(report, context.printers, scale)),
            fit=[
                {
                    "name": row.name,
                    "extents_mm": list(row.extents),
                    "printers": [
                        {"id": printer.pk, "name": printer.name, "fits": fits}
                        for printer, fits in row.fits.items()
                    ],
                }
                for row in advice.fit_table(report, context.printers, scale)
            ],
            estimate=_estimate(found, context),
        )
    return view


def customer_view(versions: Sequence[FileVersion], context: Context, secret: str) -> dict | None:
    """The latest version's analysis in plain terms, for the customer: its state, sizes as it
    will be printed, the units warning, and (PRINTDESK_SHOW_ESTIMATE) an indicative range.
    No fit per printer, prices per unit or other bureau figures."""
    if not versions:
        return None
    version = versions[-1]
    analysis = analysis_of(version)
    view: dict = {
        "version": version.number,
        **_state(analysis),
        "reason": "",
        "size_mm": None,
        "volume_cm3": None,
        "bodies": None,
        "watertight": None,
        "warning": "",
        "estimate_range": None,
        "preview_url": None,
        "thumbnail_url": None,
    }
    if analysis is None:
        return view
    args = [secret, version.pk]
    view.update(
        reason=analysis.reason,
        preview_url=reverse("portal:file_preview", args=args) if analysis.preview else None,
        thumbnail_url=reverse("portal:file_thumbnail", args=args) if analysis.thumbnail else None,
    )
    report, scale = analysis.summary, analysis.scale  # the customer gets the count of bodies
    if report is None:
        return view
    units = advice.units_advice(report, context.printers, scale)
    view.update(
        size_mm=_box(report, scale),
        volume_cm3=report.volume_mm3 * float(scale) ** 3 / 1000,
        bodies=report.body_count,
        watertight=report.watertight,
        warning=units.message if units else "",
    )
    # A range from sizes that look wrong, or from the volume of an open mesh, would mislead.
    if settings.PRINTDESK_SHOW_ESTIMATE and units is None and report.watertight is not False:
        found = advice.estimate(
            report,
            context.job.material,
            context.printers,
            quantity=context.job.quantity,
            scale=scale,
        )
        if found is not None:
            low, high = advice.customer_range(found)
            view["estimate_range"] = {"low": low, "high": high, "currency": context.currency}
    return view
