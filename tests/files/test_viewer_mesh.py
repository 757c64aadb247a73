"""The 3D view's mesh (files/viewer_mesh.py): what it holds, its cap, and that the worker makes,
stores, replaces and deletes it with the preview."""

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from printdesk.files import analysis, mesh
from printdesk.files.analysis_child import run_analysis, run_viewer_mesh
from printdesk.files.models import Analysis, AnalysisState
from printdesk.files.preview import render_png
from printdesk.files.viewer_mesh import HEADER, MAX_TRIANGLES, ViewerMeshError, decode, encode
from printdesk.ops.stored import referenced_files
from tests.conftest import SAMPLES, sample_upload
from tests.files.makers import icosphere, upload
from tests.files.test_analysis_child import LIMITS
from tests.files.test_analysis_worker import analysis_of, nan_stl, work

CUBE = "20mm-xyz-cube.stl"
VIEWER_LIMITS = {k: v for k, v in LIMITS.items() if k != "stream_over_bytes"}


def triangles(count: int, seed: int = 1) -> np.ndarray:
    """`count` random triangles in a box from (-10, 5, 0) to (90, 55, 20) mm."""
    rng = np.random.default_rng(seed)
    tri = rng.random((count, 3, 3), np.float32) * np.float32([100, 50, 20])
    return tri + np.float32([-10, 5, 0])


# --- the format ---------------------------------------------------------------------------------


def test_it_round_trips_within_the_quantisation_step():
    tri = triangles(1000)

    back, low, high = decode(encode(tri))

    assert back.shape == (1000, 3, 3)
    assert low == pytest.approx(tri.min(axis=(0, 1)))
    assert high == pytest.approx(tri.max(axis=(0, 1)))
    step = (np.array(high) - np.array(low)) / 65535
    assert np.abs(back - tri).max(axis=(0, 1)) == pytest.approx(step / 2, rel=0.02)


def test_its_header_is_little_endian_with_magic_version_count_and_box():
    data = encode(np.array([[[0, 0, 0], [20, 0, 0], [0, 10, 5]]], np.float32))

    assert data[:4] == b"PDVM"
    assert struct.unpack_from("<HHI", data, 4) == (1, 0, 1)
    assert struct.unpack_from("<6f", data, 12) == (0, 0, 0, 20, 10, 5)
    assert len(data) == 36 + 18
    # The box's corners quantise to 0 and 65535: (20, 0, 0) is x at its max, y and z at 0.
    assert struct.unpack_from("<9H", data, 36) == (0, 0, 0, 65535, 0, 0, 0, 65535, 65535)


def test_a_large_mesh_is_capped():
    tri = triangles(MAX_TRIANGLES * 2 + 1)  # a soup: clustering alone may keep too many

    data = encode(tri)

    back, low, high = decode(data)
    assert MAX_TRIANGLES / 4 < len(back) <= MAX_TRIANGLES
    assert len(data) == HEADER.size + 18 * len(back)
    assert np.all(np.array(low) >= tri.min(axis=(0, 1)) - 0.01)
    assert np.all(np.array(high) <= tri.max(axis=(0, 1)) + 0.01)


def test_a_large_surface_is_simplified_not_thinned_out():
    """A sphere of 327,680 triangles: simplified, it still looks whole; an even stride (one
    triangle in three) would leave it full of holes."""
    sphere = icosphere(7, radius=50.0)

    back, _, _ = decode(encode(sphere))

    assert MAX_TRIANGLES / 2 < len(back) <= MAX_TRIANGLES
    radii = np.linalg.norm(back.reshape(-1, 3), axis=1)
    assert radii.min() > 49.9 and radii.max() < 50.01  # corners stay on the surface
    whole, simplified = looks(sphere), looks(back)
    assert np.abs(whole - simplified).mean() < 1.0  # grey levels of 255
    assert np.abs(whole - looks(sphere[::3])).mean() > 10  # what a stride would show


def looks(tri: np.ndarray) -> np.ndarray:
    """The preview's picture of the triangles, in grey levels."""
    with Image.open(io.BytesIO(render_png(tri, size=160))) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def test_a_mesh_under_the_cap_keeps_every_triangle():
    assert len(decode(encode(triangles(MAX_TRIANGLES)))[0]) == MAX_TRIANGLES


def test_a_flat_part_and_no_triangles_encode():
    flat = triangles(10)
    flat[:, :, 2] = 3.0

    back, low, high = decode(encode(flat))
    assert np.all(back[:, :, 2] == 3.0) and low[2] == high[2] == 3.0

    empty, _, _ = decode(encode(np.empty((0, 3, 3), np.float32)))
    assert len(empty) == 0


def test_triangles_with_a_non_finite_corner_are_left_out():
    tri = triangles(4)
    tri[1, 2, 0] = np.nan
    tri[3, 0, 1] = np.inf

    back, _, high = decode(encode(tri))

    assert len(back) == 2 and np.isfinite(high).all()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PDVM", "too short"),
        (b"GLTF" + bytes(32), "not a viewer mesh"),
        (struct.pack("<4sHHI6f", b"PDVM", 2, 0, 0, *[0.0] * 6), "version 2"),
        (struct.pack("<4sHHI6f", b"PDVM", 1, 0, 5, *[0.0] * 6) + bytes(18), "5 triangles"),
    ],
)
def test_decode_refuses_what_is_not_a_viewer_mesh(data, says):
    with pytest.raises(ViewerMeshError, match=says):
        decode(data)


# --- made by the analysis -----------------------------------------------------------------------


def test_the_child_writes_it_from_the_analysed_triangles():
    outcome = run_analysis(str(SAMPLES / CUBE), "stl", **LIMITS)

    assert outcome is not None and outcome.viewer_mesh is not None
    back, low, high = decode(outcome.viewer_mesh)
    measured = mesh.analyse(SAMPLES / CUBE, "stl")
    assert len(back) == measured.report.triangles == 260
    assert low == pytest.approx(measured.report.bbox_min)
    assert high == pytest.approx(measured.report.bbox_max)


def test_the_child_writes_none_for_a_file_it_refuses(tmp_path):
    broken = tmp_path / "nan.stl"
    broken.write_bytes(nan_stl())

    outcome = run_analysis(str(broken), "stl", **LIMITS)

    assert outcome is not None and outcome.report is None and outcome.viewer_mesh is None


@pytest.mark.django_db
def test_the_worker_stores_it_beside_the_preview(make_job):
    job, _ = make_job(files=[sample_upload(CUBE)])

    work()

    row = analysis_of(job)
    assert row.state == AnalysisState.DONE
    assert (row.viewer_mesh.name or "").startswith("viewer-meshes/")
    assert (row.viewer_mesh.name or "").endswith(".bin")
    with default_storage.open(row.viewer_mesh.name or "", "rb") as stored:
        assert len(decode(stored.read())[0]) == 260
    # A backup takes it with the row's images.
    keys = {entry.key for entry in referenced_files()}
    assert {row.preview.name, row.thumbnail.name, row.viewer_mesh.name} <= keys


@pytest.mark.django_db
def test_analysing_again_replaces_it_and_deletes_the_old_one(make_job):
    job, _ = make_job(files=[sample_upload(CUBE)])
    work()
    old = analysis_of(job).viewer_mesh.name or ""

    call_command("analyse", "--all")
    work()

    new = analysis_of(job).viewer_mesh.name or ""
    assert new and new != old
    assert default_storage.exists(new) and not default_storage.exists(old)


@pytest.mark.django_db
def test_a_failed_analysis_has_none_and_deletes_the_one_it_replaces(make_job):
    job, _ = make_job(files=[sample_upload(CUBE)])
    work()
    row = analysis_of(job)
    old = row.viewer_mesh.name or ""
    # The stored file is gone, so the analysis again fails.
    default_storage.delete(row.version.blob.name or "")
    call_command("analyse", "--all")

    work()

    row = analysis_of(job)
    assert row.state == AnalysisState.FAILED and not row.viewer_mesh
    assert old and not default_storage.exists(old)


@pytest.mark.django_db
def test_a_worker_whose_lease_was_taken_deletes_the_mesh_it_made(make_job, settings):
    make_job(files=[sample_upload(CUBE)])
    mine = analysis.claim()
    assert mine is not None
    Analysis.objects.filter(pk=mine.pk).update(next_attempt_at=mine.created_at)
    assert analysis.claim() is not None  # another worker took the row over

    assert analysis.analyse_row(mine) is None

    assert not list(Path(settings.MEDIA_ROOT).rglob("*.bin"))


# --- a file over the cap: its mesh comes after the analysis --------------------------------------


def sphere_stl(path: Path, subdivisions: int = 7) -> Path:
    """A binary STL of an icosphere: 327,680 triangles at 7, over the viewer's cap."""
    tri = icosphere(subdivisions, radius=50.0)
    records = np.zeros(len(tri), dtype=[("normal", "<f4", 3), ("v", "<f4", 9), ("attr", "<u2")])
    records["v"] = tri.reshape(len(tri), 9)
    path.write_bytes(b"sphere".ljust(80) + struct.pack("<I", len(tri)) + records.tobytes())
    return path


def test_the_analysis_leaves_a_large_files_mesh_to_its_own_child(tmp_path):
    """Simplifying takes as long as the analysis: run_analysis (bench/analysis.py's figure)
    does not, and run_viewer_mesh does it under the same limits."""
    path = sphere_stl(tmp_path / "sphere.stl")

    outcome = run_analysis(str(path), "stl", **LIMITS)
    made = run_viewer_mesh(str(path), "stl", **VIEWER_LIMITS)

    assert outcome is not None and outcome.done and outcome.viewer_mesh is None
    assert made is not None
    back, _, _ = decode(made)
    assert MAX_TRIANGLES / 2 < len(back) <= MAX_TRIANGLES
    radii = np.linalg.norm(back.reshape(-1, 3), axis=1)
    assert radii.min() > 49.9 and radii.max() < 50.01  # simplified, still the sphere


def test_the_viewers_child_says_nothing_for_a_file_it_cannot_read(tmp_path, caplog):
    broken = tmp_path / "nan.stl"
    broken.write_bytes(nan_stl())

    assert run_viewer_mesh(str(broken), "stl", **VIEWER_LIMITS) is None
    assert "3D view of" in caplog.text


@pytest.mark.django_db
def test_the_worker_adds_a_large_files_mesh_once_the_analysis_is_recorded(make_job, tmp_path):
    path = sphere_stl(tmp_path / "sphere.stl")
    job, _ = make_job(files=[upload("sphere.stl", path.read_bytes())])

    work()

    row = analysis_of(job)
    assert row.state == AnalysisState.DONE and row.report.triangles == 327_680
    with default_storage.open(row.viewer_mesh.name or "", "rb") as stored:
        assert MAX_TRIANGLES / 2 < len(decode(stored.read())[0]) <= MAX_TRIANGLES
