"""Hostile and broken files: each refused with a specific reason, quickly, in bounded memory.

The heavy ones run `analyse` in a child process that reports its own peak memory and time,
so what is measured is the parser alone (the production child adds the hard limits).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from printdesk.files import mesh
from printdesk.files.mesh import MeshError, analyse
from tests.conftest import SAMPLES
from tests.files.makers import CORE, RELS, three_mf
from tests.files.mesh_files import (
    ascii_stl,
    binary_stl,
    cube,
    mesh_object,
    model_3mf,
    obj_with_missing_vertices,
    zip_bomb_3mf,
)

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys, time
from printdesk.files.mesh import MeshError, analyse
start = time.perf_counter()
try:
    analyse(sys.argv[1], sys.argv[2], **json.loads(sys.argv[3]))
    reason = None
except MeshError as error:
    reason = str(error)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (pytest, which
# may have grown large) across exec; VmHWM belongs to this program's own memory.
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({"reason": reason, "seconds": time.perf_counter() - start, "peak_mb": peak}))
"""


def refusal_in_child(path: Path, ext: str, **options) -> dict:
    """Analyse in a fresh process: its reason, seconds and peak memory (MB)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), ext, json.dumps(options)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return json.loads(out.stdout)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- STL -----------------------------------------------------------------------------------------


def test_truncated_binary_stl_is_refused(tmp_path):
    data = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()
    path = write(tmp_path, "cut.stl", data[:-30])
    with pytest.raises(MeshError) as refused:
        analyse(path, "stl")
    assert str(refused.value) == (
        "The STL header says 260 triangles but the file holds room for 259: it is cut short "
        "or damaged. Please upload it again."
    )


def test_header_claiming_a_billion_triangles_is_refused_before_reading(tmp_path):
    data = binary_stl(cube())
    path = write(
        tmp_path, "liar.stl", data[:80] + (1_000_000_000).to_bytes(4, "little") + data[84:]
    )
    started = time.perf_counter()
    with pytest.raises(
        MeshError, match="says 1,000,000,000 triangles but the file holds room for 12"
    ):
        analyse(path, "stl")
    assert time.perf_counter() - started < 1


def test_binary_stl_with_bytes_beyond_its_triangles_is_refused(tmp_path):
    path = write(tmp_path, "long.stl", binary_stl(cube()) + b"\0" * 7)
    with pytest.raises(MeshError, match="7 bytes more than those need"):
        analyse(path, "stl")


def test_file_too_short_for_any_stl_is_refused(tmp_path):
    path = write(tmp_path, "short.stl", b"\x00\x01" * 20)
    with pytest.raises(MeshError, match="has 40 bytes, and even an empty binary STL has 84"):
        analyse(path, "stl")


def test_text_that_is_not_an_stl_is_refused(tmp_path):
    path = write(tmp_path, "notes.stl", b"These are my notes, not a model.\n" * 10)
    with pytest.raises(MeshError, match='starts with "solid"'):
        analyse(path, "stl")


def test_ascii_stl_with_a_facet_of_two_vertices_is_refused(tmp_path):
    text = ascii_stl(cube()).replace(b"  vertex 0.0 0.0 0.0\n", b"", 1)
    path = write(tmp_path, "broken.stl", text)
    with pytest.raises(MeshError, match="a facet does not have exactly three vertices"):
        analyse(path, "stl")


def test_ascii_stl_with_a_word_for_a_number_is_refused(tmp_path):
    text = ascii_stl(cube()).replace(b"vertex 1.0 0.0 0.0", b"vertex 1.0 zero 0.0", 1)
    path = write(tmp_path, "broken.stl", text)
    with pytest.raises(MeshError, match="a coordinate is not a number"):
        analyse(path, "stl")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_binary_stl_with_nan_or_infinite_coordinates_is_refused_with_a_count(tmp_path, bad):
    tri = cube()
    tri[2, 0, 1] = tri[5, 2, 2] = tri[5, 1, 0] = bad
    path = write(tmp_path, "nan.stl", binary_stl(tri))
    with pytest.raises(MeshError) as refused:
        analyse(path, "stl")
    assert str(refused.value) == (
        "2 of the 12 triangles have coordinates that are not numbers (NaN) or are infinite. "
        "Please export the model again."
    )


def test_nan_is_refused_in_large_file_mode_too(tmp_path):
    tri = np.concatenate([cube()] * 100)
    tri[700, 1, 1] = np.nan
    path = write(tmp_path, "nan.stl", binary_stl(tri))
    with pytest.raises(MeshError, match="1 of the 1,200 triangles have coordinates that are not"):
        analyse(path, "stl", stream_over_bytes=100)


def test_ascii_stl_and_obj_with_nan_text_are_refused(tmp_path):
    stl = ascii_stl(cube()).replace(b"vertex 1.0 0.0 0.0", b"vertex 1.0 nan 0.0", 1)
    with pytest.raises(MeshError, match="1 of the 12 triangles"):
        analyse(write(tmp_path, "nan.stl", stl), "stl")
    obj = b"v 0 0 0\nv 1 0 0\nv 0 inf 0\nf 1 2 3\n"
    with pytest.raises(MeshError, match="1 of the 1 triangles"):
        analyse(write(tmp_path, "nan.obj", obj), "obj")


def colliding_corner(corner: tuple[float, float, float]) -> np.ndarray:
    """Another corner with the same weld key (the key mixes x and y reversibly, then folds
    in z: pick another z and solve for x and y)."""
    k1, k2, mask = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 2**64 - 1
    x, y, z = np.array(corner, np.float32).view(np.uint32).tolist()
    for other_z in range(2, 1000):
        z2 = np.array(other_z, np.float32).view(np.uint32).item()
        mixed = int(mesh._corner_key(np.array([[x, y, z]], np.uint32))[0]) ^ (z2 * k2 & mask)
        mixed ^= (mixed >> 29) ^ (mixed >> 58)  # undo key ^= key >> 29
        xy = mixed * pow(k1, -1, 2**64) & mask
        found = np.array([xy >> 32, xy & 0xFFFFFFFF, z2], np.uint32).view(np.float32)
        if np.all(np.isfinite(found)):
            return found
    raise AssertionError("no finite colliding corner")


def test_corners_sharing_a_weld_key_are_still_told_apart(tmp_path):
    tri = cube(1)
    twin = colliding_corner((1.0, 1.0, 1.0))
    keys = mesh._corner_key(np.array([[1.0, 1.0, 1.0], twin], np.float32).view(np.uint32))
    assert keys[0] == keys[1]
    # Loose triangles from the twin to a cube edge, between the cube's faces so the twins
    # sort among the cube's corners: merged with (1, 1, 1), they would put more faces on the
    # cube's edge from (1, 1, 1) to (1, 1, 0).
    parts = []
    for i, face in enumerate(tri):
        parts += [face[None], np.array([[twin, (1, 1, 0), (5, 5, 5 + i)]], np.float32)]
    path = write(tmp_path, "twins.stl", binary_stl(np.concatenate(parts)))
    report = analyse(path, "stl").report
    assert report.body_count == 13
    assert report.bodies is not None
    assert sorted(b.triangles for b in report.bodies) == [1] * 12 + [12]


# --- 3MF -----------------------------------------------------------------------------------------

GiB = 1024**3


def test_3mf_whose_model_unzips_to_gigabytes_stops_at_the_limit(tmp_path):
    path = tmp_path / "bomb.3mf"
    zip_bomb_3mf(path, inflated=3 * GiB)
    assert path.stat().st_size < 8 * 1024**2
    result = refusal_in_child(path, "3mf", max_3mf_unpacked_bytes=16 * 1024**2)
    assert result["reason"] == (
        "This 3MF file unpacks to more than 16,777,216 bytes, over our limit: no print file "
        "needs that much."
    )
    assert result["seconds"] < 5
    assert result["peak_mb"] < 300


def test_3mf_bomb_that_declares_a_small_size_is_refused(tmp_path):
    path = tmp_path / "bomb.3mf"
    zip_bomb_3mf(path, inflated=3 * GiB, declared=2000)
    result = refusal_in_child(path, "3mf", max_3mf_unpacked_bytes=16 * 1024**2)
    assert result["reason"] == "This 3MF file is damaged: it could not be unpacked."
    assert result["seconds"] < 5


def test_3mf_that_is_not_a_zip_is_refused(tmp_path):
    path = write(tmp_path, "fake.3mf", b"<model/>")
    with pytest.raises(MeshError, match="a 3MF file is a zip archive, and this is not"):
        analyse(path, "3mf")


def test_3mf_with_more_parts_than_any_print_file_is_refused_before_opening(tmp_path, monkeypatch):
    monkeypatch.setattr(mesh, "MAX_3MF_PARTS", 5)
    extra: dict[str, str | bytes | None] = {f"Metadata/note{i}.txt": "x" for i in range(3)}
    path = write(tmp_path, "parts.3mf", three_mf(extra))  # 3 parts of its own, and 3 more
    with pytest.raises(MeshError, match="it holds more than 5 parts"):
        analyse(path, "3mf")


def test_3mf_with_two_root_models_is_refused(tmp_path):
    rels = RELS.replace("</Relationships>", "") + (
        '<Relationship Target="/3D/other.model" Id="rel1" '
        'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
    )
    path = write(tmp_path, "two.3mf", three_mf({"_rels/.rels": rels}))
    with pytest.raises(MeshError, match="holds more than one 3D model"):
        analyse(path, "3mf")


def test_3mf_with_a_document_type_is_refused(tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE model [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<model xmlns="{CORE}"><metadata name="x">&b;</metadata></model>'
    )
    path = write(tmp_path, "laughs.3mf", three_mf({"3D/3dmodel.model": laughs}))
    with pytest.raises(MeshError, match="declares a document type"):
        analyse(path, "3mf")


def test_3mf_components_in_a_loop_are_refused(tmp_path):
    loop = (
        "<object id='1' type='model'><components><component objectid='2'/></components></object>"
        "<object id='2' type='model'><components><component objectid='1'/></components></object>"
    )
    path = write(tmp_path, "loop.3mf", model_3mf(loop))
    with pytest.raises(MeshError, match="refer to each other in a loop"):
        analyse(path, "3mf")


def test_3mf_components_multiplying_beyond_the_cap_are_refused_before_building(tmp_path):
    thousand = "".join("<component objectid='{}'/>" for _ in range(1000))
    objects = mesh_object("1") + "".join(
        f"<object id='{i}' type='model'><components>{thousand.format(*[i - 1] * 1000)}"
        "</components></object>"
        for i in (2, 3, 4)
    )
    path = write(tmp_path, "many.3mf", model_3mf(objects, items="<item objectid='4'/>"))
    started = time.perf_counter()
    with pytest.raises(MeshError, match="builds 12,000,000,000 triangles"):
        analyse(path, "3mf")
    assert time.perf_counter() - started < 2


def test_3mf_placing_an_object_millions_of_times_is_refused_before_building(tmp_path):
    empty = "<object id='1' type='model'><mesh><vertices/><triangles/></mesh></object>"
    thousand = "".join("<component objectid='{}'/>" for _ in range(1000))
    objects = empty + "".join(
        f"<object id='{i}' type='model'><components>{thousand.format(*[i - 1] * 1000)}"
        "</components></object>"
        for i in (2, 3)
    )
    items = "<item objectid='3'/>" * 2
    path = write(tmp_path, "many.3mf", model_3mf(objects, items=items))
    with pytest.raises(MeshError, match="places its objects 2,000,000 times"):
        analyse(path, "3mf")


def test_3mf_triangle_with_a_missing_vertex_is_refused(tmp_path):
    objects = mesh_object().replace("v3='5'", "v3='50'", 1)
    path = write(tmp_path, "broken.3mf", model_3mf(objects))
    with pytest.raises(MeshError, match="a triangle with a vertex it does not define"):
        analyse(path, "3mf")


def test_3mf_item_naming_a_missing_object_is_refused(tmp_path):
    path = write(tmp_path, "broken.3mf", model_3mf(mesh_object(), items="<item objectid='9'/>"))
    with pytest.raises(MeshError, match="refers to object 9, which it does not define"):
        analyse(path, "3mf")


def test_3mf_with_broken_xml_is_refused(tmp_path):
    path = write(tmp_path, "broken.3mf", three_mf({"3D/3dmodel.model": "<model><resources>"}))
    with pytest.raises(MeshError, match="is not valid XML"):
        analyse(path, "3mf")


# --- OBJ -----------------------------------------------------------------------------------------


def test_obj_of_ten_million_vertices_with_a_missing_one_is_refused_quickly(tmp_path):
    path = tmp_path / "huge.obj"
    obj_with_missing_vertices(path, vertices=10_000_000)
    result = refusal_in_child(path, "obj")
    assert result["reason"] == (
        "This OBJ file is damaged: a face refers to vertex 10,000,001, but the file defines "
        "10,000,000 vertices before it (numbered from 1)."
    )
    assert result["seconds"] < 20
    assert result["peak_mb"] < 600


def test_obj_face_referring_to_vertex_zero_is_refused(tmp_path):
    path = write(tmp_path, "zero.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n")
    with pytest.raises(MeshError, match="refers to vertex 0"):
        analyse(path, "obj")


def test_obj_negative_index_before_the_first_vertex_is_refused(tmp_path):
    path = write(tmp_path, "back.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n")
    with pytest.raises(MeshError, match="refers to vertex"):
        analyse(path, "obj")


def test_obj_over_the_vertex_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(mesh, "MAX_OBJ_VERTICES", 100)
    path = write(tmp_path, "many.obj", b"v 0 0 0\n" * 101 + b"f 1 2 3\n")
    with pytest.raises(MeshError, match="more than 100 vertices, more than we analyse"):
        analyse(path, "obj")


def test_obj_that_is_binary_is_refused(tmp_path):
    path = write(tmp_path, "blob.obj", bytes(range(256)) * 4)
    with pytest.raises(MeshError, match="OBJ files are text, and this one is not"):
        analyse(path, "obj")


def test_obj_without_faces_is_refused(tmp_path):
    path = write(tmp_path, "points.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(MeshError, match="holds no triangles"):
        analyse(path, "obj")


def test_obj_vertex_with_two_numbers_is_refused(tmp_path):
    path = write(tmp_path, "flat.obj", b"v 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(MeshError, match="a vertex has fewer than three numbers"):
        analyse(path, "obj")


def test_unknown_extension_is_refused(tmp_path):
    path = write(tmp_path, "part.step", b"ISO-10303-21;")
    with pytest.raises(MeshError, match="not analysed"):
        analyse(path, "step")
