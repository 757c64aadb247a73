"""Content checks: every sample file, and files made broken on purpose, each with its message."""

import io
import random
import zipfile
from pathlib import Path

import pytest
from django.core.files import File

from printdesk.files import checks
from printdesk.files.checks import check_content
from printdesk.files.storage import extension
from printdesk.jobs.errors import InvalidInput
from tests.conftest import SAMPLES
from tests.files.makers import TRIANGLE, binary_stl, model, step, three_mf, upload

MUSTFAIL = "3mf/MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf"
# Every print file in the samples folder and what the checks say of it (README.md there says
# which are broken): None for a file that passes.
SAMPLE_VERDICTS: dict[str, str | None] = {
    "1002_tray_bottom.STL": None,  # ASCII
    "20mm-xyz-cube.stl": None,
    "7_8ths_cube.stl": None,
    "ADIS16480.STL": None,  # ASCII
    "busted.STL": None,
    "counter.unitsmm.STL": None,
    "counterX.3MF": None,
    "cube_and_sphere_same_name.3mf": None,
    "empty.stl": "empty.stl has no triangles: there is nothing to print.",
    "multibody.stl": None,  # ASCII, CRLF
    "pyramids.3mf": None,
    "rabbit.obj": None,
    "shared.STL": None,
    "soup.stl": None,
    "teapot.stl": None,
    "torus.STL": None,  # binary, though its header starts with "solid"
    "two_objects_mixed_case_names.stl": None,  # ASCII, two solids
    "unit_cube.STL": None,  # binary, though its header starts with "solid"
    "3mf/box.3mf": None,
    "3mf/box_prod.3mf": None,
    "3mf/cube_gears.3mf": None,
    "3mf/cylinder.3mf": None,
    "3mf/multiple_cylinders.3mf": None,
    "3mf/MUSTPASS_Chapter3.2b_UnitsMeasurementMM.3mf": None,
    "3mf/MUSTPASS_Chapter4.2_Components.3mf": None,
    MUSTFAIL: (
        "MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf is damaged: its part 3D/3dmodel.model is not "
        "valid XML (junk after document element, line 88). Please export it again."
    ),
}


def verdict(name: str, data: bytes) -> str | None:
    """What the checks say of a file: None when it passes, else the customer's message."""
    try:
        check_content(upload(name, data), extension(name), name=name, field="files")
    except InvalidInput as refusal:
        assert refusal.field == "files"
        return refusal.message
    return None


def test_every_print_file_in_the_samples_has_a_verdict():
    print_files = {
        path.relative_to(SAMPLES).as_posix()
        for path in SAMPLES.rglob("*")
        if path.is_file() and extension(path.name) in ("stl", "3mf", "obj", "step", "stp")
    }
    assert print_files == set(SAMPLE_VERDICTS)


@pytest.mark.parametrize("sample", SAMPLE_VERDICTS)
def test_each_sample_passes_or_is_refused_with_its_reason(sample):
    path = SAMPLES / sample
    assert verdict(path.name, path.read_bytes()) == SAMPLE_VERDICTS[sample]


def test_the_upload_is_back_at_its_start_after_the_check():
    file = upload("cube.stl", (SAMPLES / "20mm-xyz-cube.stl").read_bytes())
    check_content(file, "stl", name="cube.stl", field="files")
    assert file.tell() == 0


def test_a_zero_byte_file_is_refused_as_empty():
    assert verdict("nothing.3mf", b"") == "nothing.3mf is empty."


# --- STL ----------------------------------------------------------------------------------------


def test_a_binary_stl_whose_size_matches_its_count_passes():
    assert verdict("part.stl", binary_stl(3)) is None


def test_a_truncated_binary_stl_is_refused_with_the_numbers():
    data = (SAMPLES / "20mm-xyz-cube.stl").read_bytes()[:10_000]
    assert verdict("cube.stl", data) == (
        "cube.stl is cut short: its header promises 260 triangles (13,084 bytes) but the file "
        "has 10,000 bytes. Please upload it again."
    )


def test_a_binary_stl_with_bytes_after_its_last_triangle_is_refused():
    assert verdict("part.stl", binary_stl(2) + b"\x00" * 16) == (
        "part.stl is not a valid STL file: its header promises 2 triangles (184 bytes) but the "
        "file has 200 bytes, 16 more than that."
    )


def test_a_binary_stl_without_triangles_is_refused():
    assert verdict("part.stl", binary_stl(0)) == (
        "part.stl has no triangles: there is nothing to print."
    )


def test_a_binary_stl_whose_header_says_solid_is_read_as_binary():
    assert verdict("part.stl", binary_stl(5, header=b"solid part")) is None
    cut = binary_stl(5, header=b"solid part")[:200]
    assert verdict("part.stl", cut) == (
        "part.stl is cut short: its header promises 5 triangles (334 bytes) but the file has "
        "200 bytes. Please upload it again."
    )


def test_a_text_file_renamed_stl_is_refused():
    notes = (SAMPLES / "README.md").read_bytes()
    assert verdict("notes.stl", notes) == (
        "notes.stl is not an STL file: it is text, but an STL file in text form starts with "
        '"solid".'
    )


def test_a_binary_file_that_is_no_stl_at_all_is_refused():
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    assert verdict("photo.stl", picture) == (
        "photo.stl is not an STL file: it is neither an STL in text form nor in binary."
    )


def test_a_binary_file_too_short_for_an_stl_is_refused():
    assert verdict("tiny.stl", b"\x89PNG\r\n\x1a\n") == (
        "tiny.stl is not an STL file: it has 8 bytes, and even an empty binary STL has 84."
    )


def test_an_ascii_stl_cut_short_is_refused():
    data = (SAMPLES / "two_objects_mixed_case_names.stl").read_bytes()
    assert verdict("two.stl", data[: len(data) // 2]) == (
        'two.stl is cut short: an STL file in text form ends with "endsolid", and this one does '
        "not. Please upload it again."
    )


def test_an_ascii_stl_with_binary_inside_is_refused():
    data = b"solid x\n facet normal 0 0 1\n" + bytes(range(256)) * 10 + b"\nendsolid x\n"
    assert verdict("odd.stl", data) == (
        "odd.stl is not a valid STL file: it starts as text but holds binary data."
    )


def test_a_binary_stl_of_2_gib_is_checked_with_two_small_reads(tmp_path):
    """The size formula settles a binary STL: the cost does not grow with the file."""
    triangles = (2 * 1024**3 - 84) // 50
    path = tmp_path / "huge.stl"
    with path.open("wb") as sparse:
        sparse.write(binary_stl(0)[:80] + triangles.to_bytes(4, "little"))
        sparse.truncate(84 + 50 * triangles)  # a sparse file: no disk space used

    reads: list[int] = []

    class CountingFile(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            reads.append(len(data))
            return data

    with CountingFile(path, "rb") as raw:
        check_content(File(raw, name="huge.stl"), "stl", name="huge.stl", field="files")
    assert sum(reads) <= 1024
    assert len(reads) == 1


# --- 3MF ----------------------------------------------------------------------------------------


def test_a_small_3mf_with_a_mesh_passes():
    assert verdict("part.3mf", three_mf()) is None


def test_a_3mf_made_of_components_passes():
    components = (
        TRIANGLE + "<object id='2' type='model'><components><component objectid='1'/>"
        "</components></object>"
    )
    assert verdict("assembly.3mf", three_mf({"3D/3dmodel.model": model(components)})) is None


def test_a_3mf_that_is_not_a_zip_is_refused():
    assert verdict("part.3mf", model().encode()) == (
        "part.3mf is not a 3MF file: a 3MF file is a zip archive, and this is not."
    )


@pytest.fixture(scope="session")
def zip_bomb() -> bytes:
    """A 3MF whose model part unpacks from about 250 KB to 256 MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        with package.open("3D/3dmodel.model", "w") as part:
            zeros = bytes(1024**2)
            for _ in range(256):
                part.write(zeros)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_by_its_ratio_before_anything_is_unpacked(zip_bomb):
    message = verdict("bomb.3mf", zip_bomb)
    assert message is not None
    assert message.startswith("bomb.3mf is refused: it would unpack to 268,435,4")
    assert message.endswith("more than 200 times its packed size, which no print file needs.")


def test_a_3mf_too_large_once_unpacked_is_refused(settings):
    settings.MAX_3MF_UNCOMPRESSED_BYTES = 500
    data = three_mf()
    unpacked = sum(part.file_size for part in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert verdict("big.3mf", data) == (
        f"big.3mf is too large once unpacked: {unpacked:,} bytes, over the limit of 500."
    )


def test_the_zip_ratio_comes_from_the_settings(settings):
    settings.MAX_ZIP_RATIO = 10
    data = three_mf({"3D/3dmodel.model": model(TRIANGLE * 200)})
    assert "more than 10 times its packed size" in (verdict("part.3mf", data) or "")


def test_a_3mf_with_too_many_parts_is_refused_before_it_is_opened(monkeypatch):
    monkeypatch.setattr(checks, "MAX_3MF_PARTS", 5)
    data = three_mf({f"Metadata/{n}.txt": "x" for n in range(3)})
    assert verdict("many.3mf", data) == ("many.3mf is not a 3MF file: it holds more than 5 parts.")


@pytest.mark.parametrize(
    "parts",
    [
        {"_rels/.rels": None},
        {"3D/3dmodel.model": None},
        {"_rels/.rels": "<Relationships/>"},
    ],
    ids=["no relationships", "no model part", "no model relationship"],
)
def test_a_3mf_without_a_model_part_is_refused(parts):
    assert verdict("part.3mf", three_mf(parts)) == (
        "part.3mf is not a valid 3MF file: it holds no 3D model part."
    )


def test_a_3mf_whose_model_has_no_mesh_is_refused():
    empty = model("<object id='1' type='model'/>")
    assert verdict("part.3mf", three_mf({"3D/3dmodel.model": empty})) == (
        "part.3mf holds no mesh: its 3D model has no object to print."
    )


def test_a_3mf_whose_model_part_is_not_a_model_is_refused():
    assert verdict("part.3mf", three_mf({"3D/3dmodel.model": "<html><mesh/></html>"})) == (
        "part.3mf is not a valid 3MF file: its model part is not a 3D model."
    )


def test_a_3mf_whose_model_breaks_after_its_mesh_is_refused():
    broken = model()[: -len("</model>")]
    assert verdict("part.3mf", three_mf({"3D/3dmodel.model": broken})) == (
        "part.3mf is damaged: its part 3D/3dmodel.model is not valid XML (no element found, "
        "line 1). Please export it again."
    )


def test_a_3mf_declaring_entities_is_refused_without_expanding_them():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE model [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + model().split("?>", 1)[1]
    )
    assert verdict("part.3mf", three_mf({"3D/3dmodel.model": laughs})) == (
        "part.3mf is not a valid 3MF file: it declares a document type."
    )


def test_a_3mf_whose_model_part_is_corrupt_is_refused():
    data = bytearray(three_mf({"3D/3dmodel.model": model(TRIANGLE * 50)}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as package:
        part = package.getinfo("3D/3dmodel.model")
    start = part.header_offset + 30 + len(part.filename) + 20  # inside the packed data
    data[start : start + 40] = b"\xff" * 40
    message = verdict("part.3mf", bytes(data))
    assert message is not None
    assert message.startswith("part.3mf is damaged: ")


def test_part_names_are_matched_without_regard_to_case():
    data = three_mf({"3D/3dmodel.model": None, "3d/3DModel.model": model()})
    assert verdict("part.3mf", data) is None


# --- OBJ ----------------------------------------------------------------------------------------


def test_an_obj_with_vertices_and_faces_passes():
    assert verdict("tri.obj", b"# made by hand\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n") is None


def test_an_obj_in_latin_1_passes():
    data = "o pi\xe8ce\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3".encode("latin-1")
    assert verdict("tri.obj", data) is None


def test_an_obj_whose_face_comes_after_the_first_chunk_passes():
    vertices = b"v 0.000000 1.000000 2.000000\n" * (checks.CHUNK // 29 + 10)
    assert verdict("long.obj", vertices + b"f 1 2 3\n") is None


def test_an_obj_without_faces_is_refused():
    assert verdict("points.obj", b"v 0 0 0\nv 1 0 0\nl 1 2\n") == (
        'points.obj has no faces ("f" lines): points and lines alone cannot be printed.'
    )


def test_an_obj_without_vertices_is_refused():
    assert verdict("notes.obj", b"# nothing here\nfoo bar\n") == (
        'notes.obj is not an OBJ model: it has no vertices ("v" lines).'
    )


def test_a_binary_file_named_obj_is_refused():
    assert verdict("cube.obj", (SAMPLES / "20mm-xyz-cube.stl").read_bytes()) == (
        "cube.obj is not an OBJ file: OBJ files are text, and this one is not."
    )


# --- STEP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["part.step", "part.stp"])
def test_a_step_file_passes(name):
    assert verdict(name, step()) is None


def test_a_step_file_with_a_byte_order_mark_and_blank_lines_passes():
    assert verdict("part.step", b"\xef\xbb\xbf\r\n  " + step()) is None


def test_a_file_that_is_not_step_is_refused():
    assert verdict("part.step", b"solid x\nendsolid x\n") == (
        'part.step is not a STEP file: it does not start with "ISO-10303-21;".'
    )


def test_a_step_file_without_a_header_is_refused():
    data = step().replace(b"HEADER;", b"")
    assert verdict("part.step", data) == (
        "part.step is not a valid STEP file: it has no HEADER section."
    )


def test_a_step_file_cut_short_is_refused():
    assert verdict("part.step", step()[:-30]) == (
        'part.step is cut short: a STEP file ends with "END-ISO-10303-21;", and this one does '
        "not. Please upload it again."
    )


def test_a_file_with_an_unchecked_extension_is_left_alone():
    assert verdict("notes.md", b"# notes") is None


# --- never a crash ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample",
    ["3mf/box_prod.3mf", "3mf/MUSTPASS_Chapter4.2_Components.3mf", "rabbit.obj", "teapot.stl"],
)
def test_damaged_copies_of_a_sample_pass_or_are_refused_but_never_crash(sample):
    """Random bytes overwritten, some copies also cut short: the checks answer every one."""
    original = (SAMPLES / sample).read_bytes()
    name = Path(sample).name
    rng = random.Random(sample)  # the same copies on every run
    for _ in range(400):
        data = bytearray(original)
        for _ in range(rng.choice([1, 2, 5, 20])):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        message = verdict(name, bytes(data))
        assert message is None or message.startswith(name)
