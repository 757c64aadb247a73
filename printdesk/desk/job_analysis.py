"""The job page's analysis panel: what the worker measured of each file version, at the scale
an operator chose, with the units check, the fit per printer and the scale buttons.

Everything is worked out here from rows the page has already loaded (the analyses in one
query, the active printers in one), so a job with many files costs no more queries.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from django import forms
from django.urls import reverse

from printdesk.catalogue.models import Material, Printer
from printdesk.files import advice
from printdesk.files.models import Analysis, AnalysisState, FileVersion, JobFile
from printdesk.files.previews import Figures, dimensions, number, report_figures
from printdesk.jobs.actions import MAX_QUANTITY
from printdesk.jobs.models import Job

if TYPE_CHECKING:  # numpy loads with the first report read (Analysis.report), not before
    from printdesk.files.mesh import Report

# The largest bodies the page lists, as many as the fit table checks; the staff API's figures
# have every one the report lists (mesh.MAX_BODIES_LISTED).
BODIES_SHOWN = advice.FIT_BODIES


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class BodyLine:
    number: int
    triangles: int
    volume: str  # cm³
    size_mm: str
    size_in: str


@dataclass(frozen=True)
class ScaleChoice:
    factor: Decimal
    label: str  # "inches", "metres", ...
    result: str  # the part's size at that scale
    current: bool

    @property
    def button(self) -> str:
        return f"Use {scale_text(self.factor)} ({self.label})"


@dataclass(frozen=True)
class FitLine:
    name: str
    size: str
    fits: list[bool]  # one per printer of Panel.printers, in that order


@dataclass
class Panel:
    """One version's analysis as the page shows it; `state` "" when it has no analysis row."""

    version: FileVersion
    state: str
    state_label: str
    reason: str = ""
    preview_url: str = ""
    preview_alt: str = ""
    mesh_url: str = ""  # the 3D view's mesh, loaded only when its button is pressed
    scale: Decimal = Decimal(1)
    facts: list[Fact] = field(default_factory=list)
    bodies: list[BodyLine] = field(default_factory=list)
    body_count: int | None = None  # all of them: `bodies` has the largest BODIES_SHOWN
    skipped: list[str] = field(default_factory=list)
    unit_note: str = ""
    units_message: str = ""
    scales: list[ScaleChoice] = field(default_factory=list)
    printers: list[str] = field(default_factory=list)
    fit: list[FitLine] = field(default_factory=list)

    @property
    def bodies_title(self) -> str:
        listed = len(self.bodies)
        if self.body_count is not None and listed < self.body_count:
            return f"The {listed} largest of the {self.body_count:,} bodies, by volume"
        return f"Each of the {listed} bodies"

    @property
    def scaled(self) -> bool:
        return self.scale != 1

    @property
    def scale_label(self) -> str:
        return scale_text(self.scale)

    @property
    def waiting(self) -> bool:
        return self.state in (AnalysisState.PENDING, AnalysisState.RUNNING)


def scale_text(scale: Decimal) -> str:
    """A scale as the units check writes it: x25.4, x1000, ÷1000."""
    if scale >= 1:
        return f"x{_plain(scale)}"
    return f"÷{_plain(Decimal(1) / scale, places=1)}"


def _plain(value: Decimal, places: int = 4) -> str:
    text = f"{value.quantize(Decimal(1).scaleb(-places)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _yes_no(value: bool | None, yes: str, no: str) -> str:
    if value is None:
        return "not checked"
    return yes if value else no


def _facts(report: "Report", figures: Figures) -> list[Fact]:
    facts = [
        Fact("Triangles", f"{report.triangles:,}"),
        Fact("Size", figures.size_mm),
        Fact("Size in inches", figures.size_in),
        Fact("Volume", f"{figures.volume} cm³"),
        Fact("Surface area", f"{figures.area} cm²"),
        Fact("Watertight", _yes_no(report.watertight, "yes", "no: the volume is unreliable")),
        Fact("Winding", _yes_no(report.winding_consistent, "consistent", "inconsistent")),
    ]
    if report.degenerate_faces is not None:
        facts.append(Fact("Degenerate faces", f"{report.degenerate_faces:,}"))
    bodies = "not counted" if report.body_count is None else f"{report.body_count:,}"
    facts.append(Fact("Bodies", bodies))
    return facts


def _bodies(report: "Report", scale: Decimal) -> list[BodyLine]:
    if not report.bodies or (report.body_count or 0) < 2:
        return []
    lines = []
    for n, body in enumerate(report.bodies, start=1):
        figures = report_figures(body, scale)
        lines.append(BodyLine(n, body.triangles, figures.volume, figures.size_mm, figures.size_in))
    return lines


def _scales(report: "Report", printers: list[Printer], current: Decimal) -> list[ScaleChoice]:
    """The units check's suggestions for the file as drawn, and "as drawn" once scaled."""
    as_drawn = advice.units_advice(report, printers)
    offered = [(s.factor, s.label) for s in as_drawn.scales] if as_drawn else []
    if current != 1:
        offered.append((Decimal(1), "as drawn"))
    return [
        ScaleChoice(
            factor,
            label,
            report_figures(report, factor).size_mm,
            current=factor == current,
        )
        for factor, label in offered
    ]


def _fit(report: "Report", printers: list[Printer], scale: Decimal) -> list[FitLine]:
    return [
        FitLine(row.name, dimensions(row.extents), [row.fits[p] for p in printers])
        for row in advice.fit_table(report, printers, scale=scale)
    ]


def panel(
    version: FileVersion,
    analysis: Analysis | None,
    printers: list[Printer],
    reference: str,
    name: str,
    material: Material,
) -> Panel:
    """The panel of one version: its state, and once analysed, everything measured.

    The fit table shows every active printer; the units check judges the part against those
    of the job's material's process (all of them when none is of that process).
    """
    if analysis is None:
        return Panel(version, "", "Not analysed yet")
    shown = Panel(
        version,
        analysis.state,
        AnalysisState(analysis.state).label,
        reason=analysis.reason,
        scale=analysis.scale,
    )
    if analysis.preview:
        shown.preview_url = reverse("desk:file_preview", args=[reference, version.pk])
        shown.preview_alt = f"Preview of {name}, version {version.number}"
    if analysis.viewer_mesh:
        shown.mesh_url = reverse("desk:file_mesh", args=[reference, version.pk])
    report = analysis.report
    if report is None:
        return shown
    shown.facts = _facts(report, report_figures(report, analysis.scale))
    shown.body_count = report.body_count
    report = replace(report, bodies=report.bodies and report.bodies[:BODIES_SHOWN])
    shown.bodies = _bodies(report, analysis.scale)
    shown.skipped = list(report.skipped)
    shown.unit_note = report.unit_note
    judged_by = advice.printers_for(material, printers) or printers
    units = advice.units_advice(report, judged_by, analysis.scale)
    shown.units_message = units.message if units else ""
    shown.scales = _scales(report, judged_by, analysis.scale)
    shown.printers = [p.name for p in printers]
    shown.fit = _fit(report, printers, analysis.scale) if printers else []
    return shown


@dataclass(frozen=True)
class FilePanels:
    file: JobFile
    latest: Panel
    older: list[Panel]  # newest first


def file_panels(
    job: Job, files: list[JobFile], analyses: dict[int, Analysis], printers: list[Printer]
) -> list[FilePanels]:
    """Each file with its newest version's panel, and the older ones' (shown folded)."""
    shown = []
    for f in files:
        panels = [
            panel(v, analyses.get(v.pk), printers, job.reference, f.name, job.material)
            for v in f.versions.all()
        ]
        panels.reverse()
        if panels:
            shown.append(FilePanels(f, panels[0], panels[1:]))
    return shown


# --- the quote composer's suggestions -----------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """What the analysis suggests for one quote line; `estimate` None when it cannot say."""

    estimate: advice.Estimate | None
    material: Material | None
    details: list[str] = field(default_factory=list)  # what the price is made of
    note: str = ""  # why there is no price, when there is none

    @property
    def unit_price(self) -> str:
        return f"{self.estimate.unit_price}" if self.estimate else ""


def _hours(hours: float) -> str:
    minutes = max(1, round(hours * 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _details(found: advice.Estimate, material: Material) -> list[str]:
    use = f"{number(float(found.volume_cm3))} cm³"
    if found.grams is not None:
        use += f", {number(float(found.grams))} g"
    details = [f"{use} of {material.name} per part"]
    if found.print_hours is not None and found.printer is not None:
        parts = "1 part" if found.quantity == 1 else f"{found.quantity} parts"
        details.append(f"about {_hours(found.print_hours)} for {parts} on {found.printer.name}")
    return details + found.notes


def suggestion(
    analysis: Analysis | None, material: Material | None, printers: list[Printer], quantity: int
) -> Suggestion:
    """The estimate for a line of `quantity` parts of the file in `material`, in words."""
    if analysis is None or analysis.state in (AnalysisState.PENDING, AnalysisState.RUNNING):
        return Suggestion(None, material, note="No suggestion yet: the file is being analysed.")
    report = analysis.report
    if report is None:
        return Suggestion(None, material, note="No suggestion: the file was not measured.")
    if material is None:
        return Suggestion(None, None, note="Choose a material for a suggested price.")
    able = advice.printers_for(material, printers)
    units = advice.units_advice(report, able or printers, analysis.scale)
    if units is not None and units.problem == "tiny":
        # A part drawn in inches would be priced at a few cents: no number until it is settled.
        note = "No suggestion until the part's size is settled: see the file's units check."
        return Suggestion(None, material, note=note)
    found = advice.estimate(report, material, able, quantity=quantity, scale=analysis.scale)
    if found is None:
        note = f"No suggestion: {material.name} has no price per cm³ or per gram."
        return Suggestion(None, material, note=note)
    details = _details(found, material)
    if units is not None:
        details.append("larger than every printer: see the file's units check")
    return Suggestion(found, material, details)


def _number_in(form: forms.Form, name: str) -> int | None:
    """A whole number the row holds: as typed once bound, else as prefilled."""
    try:
        return int(str(form[name].value()))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ComposerRow:
    form: forms.Form
    suggestion: Suggestion | None  # None for a line without a file


def composer_rows(
    lines: Iterable[forms.Form],
    files: list[JobFile],
    analyses: dict[int, Analysis],
    materials: list[Material],
    printers: list[Printer],
) -> list[ComposerRow]:
    """The composer's lines, each with a suggestion from its file's newest version."""
    newest = {f.pk: versions[-1] for f in files if (versions := list(f.versions.all()))}
    by_id = {m.pk: m for m in materials}
    rows = []
    for form in lines:
        file_id = _number_in(form, "file_id")
        version = newest.get(file_id) if file_id is not None else None
        if version is None:
            rows.append(ComposerRow(form, None))
            continue
        material = by_id.get(_number_in(form, "material") or 0)
        quantity = min(max(_number_in(form, "quantity") or 1, 1), MAX_QUANTITY)
        found = suggestion(analyses.get(version.pk), material, printers, quantity)
        rows.append(ComposerRow(form, found))
    return rows


@dataclass(frozen=True)
class SetupLine:
    """Per material of the suggested lines: the setup fee, once per job, and the total."""

    material: str
    setup_fee: Decimal
    total: Decimal
    minimum_applied: bool


def setup_lines(rows: list[ComposerRow]) -> list[SetupLine]:
    """The suggested lines hold no setup fee (it is once per job and material): these say it."""
    by_material: dict[int, tuple[Material, list[advice.Estimate]]] = {}
    for row in rows:
        found = row.suggestion
        if found is None or found.estimate is None or found.material is None:
            continue
        by_material.setdefault(found.material.pk, (found.material, []))[1].append(found.estimate)
    lines = []
    for material, estimates in by_material.values():
        total = advice.job_total(estimates, material)
        parts = sum((e.unit_price * e.quantity for e in estimates), Decimal(0))
        fee = Decimal(material.setup_fee)
        minimum = parts + fee < total
        if fee or minimum:
            lines.append(SetupLine(material.name, fee, total, minimum))
    return lines
