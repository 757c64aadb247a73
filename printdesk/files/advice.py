"""What the measurements mean for quoting: the units check, fit per printer and estimates.

Pure functions over a mesh.Report (sizes in the file's own numbers, taken as mm) and the
catalogue's Material and Printer rows; nothing here reads the database. Pass the printers that
could print the part: active, of the material's process (`printers_for`).

- Units: STL has no units. A part under TINY_MM across was probably drawn in inches,
  centimetres or metres; a part larger than every printer in every orientation may be a
  millimetre file read as inches, or one in micrometres. Each suggested scale is one that
  makes the part plausible (see `plausible`) for these printers, best first.
- Fit: a box fits a build volume in some orientation exactly when its sorted extents are each
  within the build volume's sorted extents (turning the part by 90° about any axis permutes its
  extents). Tilted placements that might squeeze more in are not considered.
- Estimates: per part, volume x price_per_cm3 plus weight (volume x density) x price_per_gram;
  the setup fee once per job and material; never less than the minimum charge. Print time is
  the volume of all parts over the throughput of the fastest printer the part fits. Money is
  Decimal, rounded to cents.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from printdesk.catalogue.models import Material, Printer
from printdesk.files.mesh import Body, Report

Extents = tuple[float, float, float]

# Under this across its largest side, a part is implausibly small (as if drawn in metres or
# inches); after a suggested scale it must be at least this large again.
TINY_MM = 5.0
# Nor may a suggested scale leave the part thinner than a printable wall.
THINNEST_MM = 0.5
# The size of a typical bureau part, in mm: of two plausible scales, the one bringing the part
# nearer this (on a log scale) is suggested first.
TYPICAL_MM = 50.0
CENT = Decimal("0.01")
SCALE_STEP = Decimal("0.0001")  # Analysis.scale's precision


# A whole part or one of its bodies.
Measured = Report | Body


@dataclass(frozen=True)
class Scale:
    factor: Decimal
    label: str  # the unit the file was probably drawn in, e.g. "inches"

    @property
    def text(self) -> str:
        """For people: "x25.4 (inches)", "÷1000 (micrometres)"."""
        if self.factor >= 1:
            return f"x{_plain(self.factor)} ({self.label})"
        return f"÷{_plain(Decimal(1) / self.factor, places=1)} ({self.label})"


# Candidates: the factor that turns the file's numbers into mm, if they were in this unit.
TINY_SCALES = (
    Scale(Decimal("25.4"), "inches"),
    Scale(Decimal("10"), "centimetres"),
    Scale(Decimal("1000"), "metres"),
)
HUGE_SCALES = (
    Scale((Decimal(1) / Decimal("25.4")).quantize(SCALE_STEP), "millimetres read as inches"),
    Scale(Decimal("0.001"), "micrometres"),
)


@dataclass(frozen=True)
class UnitsAdvice:
    problem: str  # "tiny" | "huge"
    message: str  # plain words, for operators and customers alike
    scales: list[Scale]  # each making the part plausible, best first; may be empty


@dataclass(frozen=True)
class FitRow:
    name: str  # "Whole part", "Body 1"...
    extents: Extents  # mm, scaled
    fits: dict[Printer, bool]


@dataclass(frozen=True)
class Estimate:
    quantity: int
    volume_cm3: Decimal  # one part, scaled, to 0.01 cm³
    grams: Decimal | None  # one part, to 0.1 g; None when the density is not known
    unit_price: Decimal  # one part, without the setup fee
    setup_fee: Decimal
    total: Decimal  # unit price x quantity + setup fee, at least the minimum charge
    minimum_applied: bool
    print_hours: float | None  # all parts on `printer`; None when no fitting printer's
    printer: Printer | None  # throughput is known
    notes: list[str] = field(default_factory=list)  # why the figures may be off


# --- sizes and fit ----------------------------------------------------------------------------


def extents(part: Measured, scale: Decimal | float = 1) -> Extents:
    s = float(scale)
    x, y, z = ((high - low) * s for low, high in zip(part.bbox_min, part.bbox_max, strict=True))
    return (x, y, z)


def _build(printer: Printer) -> list[float]:
    return sorted(float(v) for v in (printer.build_x_mm, printer.build_y_mm, printer.build_z_mm))


def fits(extents: Extents, printer: Printer) -> bool:
    """Whether a box of these extents fits the printer's build volume in some orientation."""
    # A micron of slack: a 250 mm part measured as 250.0000001 still fits a 250 mm bed.
    return all(
        side <= room + 1e-3 for side, room in zip(sorted(extents), _build(printer), strict=True)
    )


def printers_for(material: Material, printers: Iterable[Printer]) -> list[Printer]:
    """The active printers of the material's process."""
    return [p for p in printers if p.active and p.process == material.process]


# The largest bodies the fit table checks one by one (the report lists them largest first). A
# plate of parts is covered; a lattice of a thousand bodies would make thousands of rows on the
# job page and in every staff API answer about the job, with nothing more to tell.
FIT_BODIES = 25


def fit_table(
    report: Report, printers: Sequence[Printer], scale: Decimal | int = 1
) -> list[FitRow]:
    """The whole part, then each of the FIT_BODIES largest bodies when there are several,
    against each printer."""
    parts: list[tuple[str, Measured]] = [("Whole part", report)]
    if (report.body_count or 0) > 1:
        largest = (report.bodies or [])[:FIT_BODIES]
        parts += [(f"Body {i}", body) for i, body in enumerate(largest, start=1)]
    rows = []
    for name, part in parts:
        size = extents(part, scale)
        rows.append(FitRow(name, size, {printer: fits(size, printer) for printer in printers}))
    return rows


# --- units ------------------------------------------------------------------------------------


def plausible(size: Extents, printers: Sequence[Printer]) -> bool:
    """A believable print: not tiny, no thinner than a wall, and within some printer (if the
    bureau has any for the process)."""
    if max(size) < TINY_MM or min(size) < THINNEST_MM:
        return False
    return not printers or any(fits(size, printer) for printer in printers)


def _ranked(size: Extents, candidates: Sequence[Scale], printers: Sequence[Printer]) -> list[Scale]:
    useful = [c for c in candidates if plausible(_scaled(size, c.factor), printers)]
    return sorted(useful, key=lambda c: abs(math.log(max(size) * float(c.factor) / TYPICAL_MM)))


def _scaled(size: Extents, factor: Decimal) -> Extents:
    x, y, z = (side * float(factor) for side in size)
    return (x, y, z)


def units_advice(
    report: Measured, printers: Sequence[Printer], scale: Decimal | int = 1
) -> UnitsAdvice | None:
    """Whether the part's size is implausible, and the scales that would make sense.

    `scale` is the one an operator chose already: once it makes the part plausible there is
    nothing to say.
    """
    size = extents(report, scale)
    shown = _size_text(size)
    if max(size) < TINY_MM:
        scales = _ranked(size, TINY_SCALES, printers)
        message = (
            f"This part measures only {shown}. STL files carry no units: it may have been "
            "drawn in inches, centimetres or metres."
        )
        if scales:
            message += " " + _if_drawn_in(scales, size)
        return UnitsAdvice("tiny", message, scales)
    if printers and not any(fits(size, printer) for printer in printers):
        scales = _ranked(size, HUGE_SCALES, printers)
        message = (
            f"At {shown} this part is larger than every printer, however it is turned: "
            "it would have to be split into pieces that fit, or made elsewhere."
        )
        if scales:
            message += " If the sizes are wrong: " + _if_drawn_in(scales, size)
        return UnitsAdvice("huge", message, scales)
    return None


def _if_drawn_in(scales: Sequence[Scale], size: Extents) -> str:
    options = [f"in {s.label} it would be {_size_text(_scaled(size, s.factor))}" for s in scales]
    text = "; ".join(options)
    return text[0].upper() + text[1:] + "."


def _size_text(size: Extents) -> str:
    return " x ".join(_number(side) for side in size) + " mm"


def _number(value: float) -> str:
    if value >= 10:
        return f"{value:,.0f}"
    if value >= 0.1:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2g}"


def _plain(value: Decimal, places: int = 4) -> str:
    text = f"{value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- estimates --------------------------------------------------------------------------------


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def estimate(
    report: Report,
    material: Material,
    printers: Sequence[Printer],
    *,
    quantity: int,
    scale: Decimal | int = 1,
) -> Estimate | None:
    """A suggested price and print time for `quantity` parts; None when the material has no
    prices to estimate with or the part has no volume. `notes` say when the volume (and so the
    estimate) cannot be trusted."""
    per_cm3, per_gram = Decimal(material.price_per_cm3), Decimal(material.price_per_gram)
    density = Decimal(material.density_g_cm3)
    if (per_cm3 <= 0 and (per_gram <= 0 or density <= 0)) or report.volume_mm3 <= 0:
        return None
    exact_cm3 = Decimal(repr(report.volume_mm3)) * Decimal(scale) ** 3 / 1000
    grams = exact_cm3 * density if density > 0 else None
    unit_price = _cents(exact_cm3 * per_cm3 + (grams or 0) * per_gram)
    setup_fee = Decimal(material.setup_fee)
    charged = unit_price * quantity + setup_fee
    total = _cents(max(charged, Decimal(material.minimum_charge)))
    printer, hours = _print_time(report, printers, exact_cm3 * quantity, scale)
    return Estimate(
        quantity=quantity,
        volume_cm3=exact_cm3.quantize(CENT, ROUND_HALF_UP),
        grams=grams.quantize(Decimal("0.1"), ROUND_HALF_UP) if grams is not None else None,
        unit_price=unit_price,
        setup_fee=setup_fee,
        total=total,
        minimum_applied=charged < total,
        print_hours=hours,
        printer=printer,
        notes=_caveats(report),
    )


def _print_time(
    report: Report, printers: Sequence[Printer], volume_cm3: Decimal, scale: Decimal | int
) -> tuple[Printer | None, float | None]:
    size = extents(report, scale)
    known = [p for p in printers if p.throughput_cm3_h > 0 and fits(size, p)]
    if not known:
        return None, None
    fastest = max(known, key=lambda p: p.throughput_cm3_h)
    return fastest, round(float(volume_cm3 / Decimal(fastest.throughput_cm3_h)), 2)


def _caveats(report: Report) -> list[str]:
    if report.watertight is False:
        return ["The mesh is not closed, so its volume, and the price from it, may be wrong."]
    if report.watertight is None:
        return ["Whether the mesh is closed was not checked (a large file)."]
    return []


def job_total(estimates: Sequence[Estimate], material: Material) -> Decimal:
    """Several files of one job in one material: their parts, one setup fee, the minimum."""
    parts = sum((e.unit_price * e.quantity for e in estimates), Decimal(0))
    charged = parts + Decimal(material.setup_fee)
    return _cents(max(charged, Decimal(material.minimum_charge)))


def customer_range(
    estimate: Estimate | Decimal, percent: int | None = None
) -> tuple[Decimal, Decimal]:
    """The indicative range shown to a customer: the total (or a job total) less and more
    PRINTDESK_ESTIMATE_RANGE_PERCENT (or `percent`), in cents."""
    if percent is None:
        percent = settings.PRINTDESK_ESTIMATE_RANGE_PERCENT
    total = estimate.total if isinstance(estimate, Estimate) else estimate
    spread = Decimal(percent) / 100
    return _cents(max(total * (1 - spread), Decimal(0))), _cents(total * (1 + spread))
