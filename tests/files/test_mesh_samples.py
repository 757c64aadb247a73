"""Mesh analysis of real files: every sample against its row in the samples README, then the
formats' features (3MF units, components and transforms, OBJ face forms, ASCII STL variants),
large-file mode, and the report's JSON."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from printdesk.files.mesh import MeshError, Report, analyse
from tests.conftest import SAMPLES
from tests.files.mesh_files import (
    CUBE_CORNERS,
    CUBE_QUADS,
    ascii_stl,
    binary_stl,
    cube,
    mesh_object,
    model_3mf,
)


def readme_rows() -> dict[str, dict[str, str]]:
    """The samples README's table: file name -> column -> text."""
    text = (SAMPLES / "README.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


ROWS = readme_rows()
MEASURED = sorted(name for name, row in ROWS.items() if row["faces"] not in ("-", "0"))
# The README measured these with trimesh, which keeps vertices apart where their OBJ normals
# differ; welded by position (as slicers do, and as this analysis does) the rabbit's seams
# close: it is watertight, in 9 bodies (trimesh agrees once its vertices are merged by position).
WELDED_BY_POSITION = {"rabbit.obj": {"watertight": "yes", "bodies": "9"}}


def tolerance(text: str) -> float:
    """Half a unit in the last digit the README printed: what its rounding can hide."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (-decimals + int(exponent or 0))


def close_to(value: float, text: str, relative: float) -> bool:
    return abs(value - float(text)) <= max(relative * abs(float(text)), tolerance(text))


def run(relative: str, **options):
    return analyse(SAMPLES / relative, relative.rsplit(".", 1)[1].lower(), **options)


def test_every_sample_file_has_a_readme_row():
    files = {
        str(path.relative_to(SAMPLES))
        for path in SAMPLES.rglob("*")
        if path.suffix.lower() in (".stl", ".3mf", ".obj")
    }
    assert files == set(ROWS)


@pytest.mark.parametrize("name", MEASURED)
def test_sample_matches_its_readme_row(name):
    row = {**ROWS[name], **WELDED_BY_POSITION.get(name, {})}
    report = run(name).report

    assert (SAMPLES / name).stat().st_size == int(row["bytes"])
    assert report.triangles == int(row["faces"])
    assert report.watertight is (row["watertight"] == "yes")
    assert report.body_count == int(row["bodies"])
    assert report.bodies is not None and len(report.bodies) == int(row["bodies"])
    extents = row["extents"].split(" x ")
    assert all(close_to(a, b, 1e-3) for a, b in zip(report.extents, extents, strict=True)), (
        report.extents
    )
    # Within 0.1 %, or within the README's rounding for the tiny and the open ones.
    assert close_to(report.volume_mm3, row["volume"], 1e-3), report.volume_mm3


def test_exact_volume_of_the_seven_eighths_cube():
    report = run("7_8ths_cube.stl").report
    assert report.volume_mm3 == pytest.approx(56000, rel=1e-6)
    assert report.area_mm2 == pytest.approx(9600, rel=1e-6)
    assert report.bbox_min == pytest.approx((-20, -20, -20), abs=1e-4)


def test_bodies_of_a_multi_body_part_add_up_to_the_whole():
    report = run("counter.unitsmm.STL").report
    bodies = report.bodies
    assert bodies is not None and len(bodies) == 6
    assert sum(b.triangles for b in bodies) == report.triangles
    assert sum(b.volume_mm3 for b in bodies) == pytest.approx(report.volume_mm3, rel=1e-9)
    assert sum(b.area_mm2 for b in bodies) == pytest.approx(report.area_mm2, rel=1e-9)
    for body in bodies:
        assert all(lo >= whole for lo, whole in zip(body.bbox_min, report.bbox_min, strict=True))
        assert all(hi <= whole for hi, whole in zip(body.bbox_max, report.bbox_max, strict=True))
    volumes = [b.volume_mm3 for b in bodies]
    assert volumes == sorted(volumes, reverse=True)


def test_two_objects_in_a_3mf_are_two_bodies_with_their_own_boxes():
    bodies = run("cube_and_sphere_same_name.3mf").report.bodies
    assert bodies is not None
    extents = sorted(tuple(round(e, 1) for e in body.extents) for body in bodies)
    assert extents == [(40.0, 40.0, 40.0), (40.0, 40.0, 40.0)]
    assert (
        bodies[0].bbox_max[0] < bodies[1].bbox_min[0]
        or bodies[1].bbox_max[0] < bodies[0].bbox_min[0]
    )


def test_sample_winding_and_degenerate_faces():
    assert run("multibody.stl").report.winding_consistent is False
    assert run("20mm-xyz-cube.stl").report.winding_consistent is True
    gears = run("3mf/cube_gears.3mf").report
    # Zero-length edges of degenerate faces have no direction, so they do not count against
    # the winding (trimesh agrees: 92 degenerate faces, winding consistent).
    assert gears.degenerate_faces == 92
    assert gears.winding_consistent is True
    assert run("busted.STL").report.degenerate_faces == 0


def test_shared_edge_splits_bodies_and_breaks_watertightness():
    report = run("shared.STL").report
    assert report.watertight is False
    assert report.body_count == 2


def test_loose_triangles_are_a_body_each():
    report = run("soup.stl").report
    assert report.body_count == 100
    assert report.bodies is not None and all(b.triangles == 1 for b in report.bodies)


def test_formats_are_told_apart_by_content():
    assert run("unit_cube.STL").report.format == "stl-binary"  # header starts with "solid"
    assert run("ADIS16480.STL").report.format == "stl-ascii"
    assert run("rabbit.obj").report.format == "obj"
    assert run("3mf/box.3mf").report.format == "3mf"


def test_preview_holds_every_triangle_of_a_small_file():
    analysed = run("20mm-xyz-cube.stl")
    assert analysed.preview.shape == (260, 3, 3)
    assert analysed.preview.dtype == np.float32


def test_preview_of_a_small_file_is_thinned_to_its_limit():
    preview = run("counter.unitsmm.STL", preview_max_triangles=1000).preview
    everything = run("counter.unitsmm.STL").preview
    assert np.array_equal(preview, everything[:: -(-len(everything) // 1000)])
    assert len(preview) <= 1000


def test_empty_stl_is_refused():
    with pytest.raises(MeshError, match="holds no triangles"):
        run("empty.stl")


def test_3mf_with_two_models_in_its_model_part_is_refused():
    with pytest.raises(MeshError, match="holds more than one 3D model"):
        run("3mf/MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf")


# --- 3MF units, components and transforms ------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "mm"),
    [
        ("micron", 0.001),
        ("millimeter", 1),
        ("centimeter", 10),
        ("inch", 25.4),
        ("foot", 304.8),
        ("meter", 1000),
    ],
)
def test_3mf_unit_is_converted_to_mm(tmp_path, unit, mm):
    path = tmp_path / "part.3mf"
    path.write_bytes(model_3mf(mesh_object(size=2), unit=unit))
    report = analyse(path, "3mf").report
    assert report.extents == pytest.approx((2 * mm, 2 * mm, 2 * mm), rel=1e-6)
    assert report.volume_mm3 == pytest.approx(8 * mm**3, rel=1e-5)
    if unit == "millimeter":
        assert report.unit_note == ""
    else:
        assert report.unit_note == (
            f"The 3MF says its unit is {unit}; sizes here are converted to mm."
        )


def test_3mf_build_items_and_components_are_placed_by_their_transforms(tmp_path):
    components = (
        "<object id='2' type='model'><components>"
        "<component objectid='1'/>"
        "<component objectid='1' transform='1 0 0 0 1 0 0 0 1 10 0 0'/>"
        "</components></object>"
    )
    items = "<item objectid='2' transform='2 0 0 0 2 0 0 0 2 0 0 5'/>"
    path = tmp_path / "part.3mf"
    path.write_bytes(model_3mf(mesh_object() + components, items=items))
    report = analyse(path, "3mf").report
    assert report.triangles == 24
    assert report.body_count == 2
    assert report.bbox_min == pytest.approx((0, 0, 5))
    assert report.bbox_max == pytest.approx((22, 2, 7))
    assert report.volume_mm3 == pytest.approx(16)


def test_3mf_mirrored_item_keeps_its_faces_outward(tmp_path):
    path = tmp_path / "part.3mf"
    items = "<item objectid='1' transform='-1 0 0 0 1 0 0 0 1 0 0 0'/>"
    path.write_bytes(model_3mf(mesh_object(), items=items))
    analysed = analyse(path, "3mf")
    assert analysed.report.winding_consistent is True
    assert analysed.report.bbox_min == pytest.approx((-1, 0, 0))
    tri = analysed.preview.astype(np.float64)
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert signed == pytest.approx(1.0)  # outward faces give a positive signed volume


def test_3mf_objects_in_other_parts_are_found_by_their_path(tmp_path):
    from tests.files.makers import CORE, three_mf

    part = (
        f'<?xml version="1.0"?><model unit="millimeter" xmlns="{CORE}"><resources>'
        f"{mesh_object('7', size=3)}</resources><build/></model>"
    )
    production = "http://schemas.microsoft.com/3dmanufacturing/production/2015/06"
    root = (
        f'<?xml version="1.0"?><model unit="millimeter" xmlns="{CORE}" xmlns:p="{production}">'
        "<resources><object id='1' type='model'><components>"
        "<component p:path='/3D/Objects/cube.model' objectid='7'/>"
        "</components></object></resources><build><item objectid='1'/></build></model>"
    )
    path = tmp_path / "part.3mf"
    path.write_bytes(three_mf({"3D/3dmodel.model": root, "3D/Objects/cube.model": part}))
    report = analyse(path, "3mf").report
    assert report.volume_mm3 == pytest.approx(27)


# --- OBJ and ASCII STL variants ------------------------------------------------------------------


def cube_obj(face: str) -> bytes:
    """A unit cube as OBJ quads, each corner written by `face` from its 1-based index."""
    lines = ["# a cube", "o cube", "g sides"]
    lines += [f"v {x} {y} {z}" for x, y, z in CUBE_CORNERS.tolist()]
    lines += ["vt 0 0", "vn 0 0 1"]
    lines += ["f " + " ".join(face.format(i=i) for i in quad) for quad in CUBE_QUADS]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("face", ["{i}", "{i}/1", "{i}//1", "{i}/1/1"])
def test_obj_face_forms_give_the_same_closed_cube(tmp_path, face):
    path = tmp_path / "cube.obj"
    path.write_bytes(cube_obj(face))
    report = analyse(path, "obj").report
    assert report.triangles == 12
    assert report.watertight is True
    assert report.winding_consistent is True
    assert report.volume_mm3 == pytest.approx(1)


def test_obj_negative_indices_count_back_from_the_last_vertex(tmp_path):
    lines = []
    for quad in CUBE_QUADS:  # each side repeats its corners, then refers back to them
        lines += [f"v {x} {y} {z}" for x, y, z in CUBE_CORNERS[np.array(quad) - 1].tolist()]
        lines.append("f -4 -3 -2 -1")
    path = tmp_path / "cube.obj"
    path.write_text("\n".join(lines) + "\n")
    report = analyse(path, "obj").report
    assert report.triangles == 12
    assert report.watertight is True  # the repeated corners weld
    assert report.volume_mm3 == pytest.approx(1)


def test_obj_indented_lines_and_crlf_are_read(tmp_path):
    path = tmp_path / "cube.obj"
    path.write_bytes(cube_obj("{i}").replace(b"\n", b"\r\n").replace(b"\r\nf", b"\r\n  f"))
    assert analyse(path, "obj").report.volume_mm3 == pytest.approx(1)


def test_obj_vertex_with_a_colour_keeps_its_position(tmp_path):
    path = tmp_path / "cube.obj"
    path.write_bytes(cube_obj("{i}").replace(b"v 1.0 1.0 1.0", b"v 1.0 1.0 1.0 0.5 0.5 0.5"))
    assert analyse(path, "obj").report.volume_mm3 == pytest.approx(1)


def test_ascii_stl_in_capitals_is_read(tmp_path):
    path = tmp_path / "cube.stl"
    path.write_bytes(ascii_stl(cube(2), words="upper"))
    report = analyse(path, "stl").report
    assert report.format == "stl-ascii"
    assert report.volume_mm3 == pytest.approx(8)


def test_negative_zero_welds_with_zero(tmp_path):
    tri = cube(1, at=(-0.5, -0.5, -0.5)) + np.float32(0.5)  # corners of exactly 0.0 and 1.0
    tri[:6][tri[:6] == 0] = np.float32(-0.0)  # half the faces write -0.0
    path = tmp_path / "cube.stl"
    path.write_bytes(binary_stl(tri))
    report = analyse(path, "stl").report
    assert report.watertight is True
    assert report.body_count == 1


# --- large-file mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["counter.unitsmm.STL", "ADIS16480.STL", "rabbit.obj", "pyramids.3mf"]
)
def test_large_file_mode_streams_the_same_volume_area_and_box(name):
    whole = run(name).report
    streamed = run(name, stream_over_bytes=1000, preview_max_triangles=100)
    report = streamed.report
    assert report.triangles == whole.triangles
    assert report.volume_mm3 == pytest.approx(whole.volume_mm3, rel=1e-9)
    assert report.area_mm2 == pytest.approx(whole.area_mm2, rel=1e-9)
    assert report.bbox_min == whole.bbox_min
    assert report.bbox_max == whole.bbox_max
    assert report.watertight is None
    assert report.winding_consistent is None
    assert report.degenerate_faces is None
    assert report.bodies is None
    assert "bodies, watertightness, winding and degenerate faces" in report.skipped[0]
    assert 50 <= len(streamed.preview) <= 100


def test_large_file_preview_is_an_even_subsample():
    analysed = run("counter.unitsmm.STL", stream_over_bytes=1000, preview_max_triangles=1000)
    everything = run("counter.unitsmm.STL").preview
    step = -(-len(everything) // 1000)
    assert np.array_equal(analysed.preview, everything[::step])


# --- the report ----------------------------------------------------------------------------------


def test_report_survives_json():
    report = run("pyramids.3mf").report
    data = json.loads(json.dumps(report.to_json()))
    assert Report.from_json(data) == report


def test_streamed_report_survives_json():
    report = run("torus.STL", stream_over_bytes=1000).report
    assert Report.from_json(json.loads(json.dumps(report.to_json()))) == report


def test_mesh_module_does_not_import_django():
    code = (
        "import sys, printdesk.files.mesh; print(any(m.startswith('django') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False"


def test_readme_tolerance_reads_the_printed_precision():
    assert tolerance("7938.7") == pytest.approx(0.05)
    assert tolerance("2.8e-05") == pytest.approx(5e-7)
    assert tolerance("56000.0") == pytest.approx(0.05)
