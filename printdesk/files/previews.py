"""What the pages show of a file version's analysis: its preview images and the 3D view's
mesh, served from storage, and its figures at the scale an operator chose, written the way
people read them.

The desk's and the portal's views (desk/job.py, portal/status.py) find the analysis the caller
may see; `png_response` and `mesh_response` only serve it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

from printdesk.files.models import Analysis

MM_PER_INCH = 25.4


def png_response(image: FieldFile, *, cache_control: str) -> FileResponse:
    """The PNG in storage, streamed; 404 when the analysis made none or storage lost it.

    A preview is a few hundred kilobytes at most, so S3's habit of spooling an object on open
    (see downloads.py) costs nothing worth streaming around here.
    """
    return stored_response(image, content_type="image/png", cache_control=cache_control)


def mesh_response(mesh: FieldFile, *, cache_control: str) -> FileResponse:
    """The 3D view's mesh (viewer_mesh.py, 2.7 MB at most) as the preview is served."""
    return stored_response(
        mesh, content_type="application/octet-stream", cache_control=cache_control
    )


def stored_response(made: FieldFile, *, content_type: str, cache_control: str) -> FileResponse:
    """A file the analysis made, from storage; 404 when it made none or storage lost it."""
    if not made:
        raise Http404("This file version has no preview.")
    try:
        handle = made.storage.open(made.name or "", "rb")
    except FileNotFoundError as error:
        raise Http404("This preview is missing from storage.") from error
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = cache_control
    return response


def analyses_by_version(version_ids: Iterable[int], *, bodies: bool = True) -> dict[int, Analysis]:
    """The analyses of these versions, in one query, by version id (a version may have none).
    `bodies=False` leaves out their lists of bodies, for Analysis.summary."""
    ids = list(version_ids)
    if not ids:
        return {}
    rows = Analysis.objects.filter(version__in=ids)
    return {a.version_id: a for a in (rows if bodies else rows.defer("bodies"))}


# --- figures ------------------------------------------------------------------------------------


def number(value: float) -> str:
    """A measurement as people write it: 20, 12.7, 1,234.5, 0.044."""
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 1:
        return f"{value:,.1f}".removesuffix(".0")
    if size >= 0.001:
        return f"{value:.3g}"
    return "less than 0.001" if value > 0 else f"{value:.1e}"


def dimensions(extents: tuple[float, float, float], unit: str = "mm") -> str:
    """Extents as "20 x 20 x 20 mm" (or inches: "0.79 x 0.79 x 0.79 in")."""
    if unit == "in":
        return " x ".join(_inches(v / MM_PER_INCH) for v in extents) + " in"
    return " x ".join(number(v) for v in extents) + " mm"


def _inches(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value >= 0.01 else number(value)


@dataclass(frozen=True)
class Figures:
    """A part's measurements at a scale: sizes in mm, volume in cm³, area in cm²."""

    extents: tuple[float, float, float]
    volume_cm3: float
    area_cm2: float

    @property
    def size_mm(self) -> str:
        return dimensions(self.extents)

    @property
    def size_in(self) -> str:
        return dimensions(self.extents, "in")

    @property
    def volume(self) -> str:
        return number(self.volume_cm3)

    @property
    def area(self) -> str:
        return number(self.area_cm2)


def extents_of(bbox_min: Iterable[float], bbox_max: Iterable[float]) -> tuple[float, float, float]:
    x, y, z = (high - low for low, high in zip(bbox_min, bbox_max, strict=True))
    return (x, y, z)


def figures(
    bbox_min: Iterable[float],
    bbox_max: Iterable[float],
    volume_mm3: float,
    area_mm2: float,
    scale: Decimal | float = 1,
) -> Figures:
    """Measurements scaled as the part will be printed: lengths by s, areas s², volumes s³."""
    s = float(scale)
    x, y, z = extents_of(bbox_min, bbox_max)
    return Figures(
        extents=(x * s, y * s, z * s),
        volume_cm3=volume_mm3 * s**3 / 1000,
        area_cm2=area_mm2 * s**2 / 100,
    )


class Measured(Protocol):
    """A whole part (mesh.Report) or one of its bodies (mesh.Body, frozen: read only)."""

    @property
    def bbox_min(self) -> tuple[float, float, float]: ...
    @property
    def bbox_max(self) -> tuple[float, float, float]: ...
    @property
    def volume_mm3(self) -> float: ...
    @property
    def area_mm2(self) -> float: ...


def report_figures(part: Measured, scale: Decimal | float = 1) -> Figures:
    return figures(part.bbox_min, part.bbox_max, part.volume_mm3, part.area_mm2, scale)
