"""Mesh files made in the tests for the analysis: small good ones, and hostile ones made
cheaply (a 3 GiB zip bomb of a few megabytes, an OBJ of ten million vertices)."""

import struct
import zlib
from pathlib import Path

import numpy as np

from tests.files.makers import CONTENT_TYPES, CORE, RELS, three_mf

# The unit cube's corners, and its twelve triangles wound outwards (counter-clockwise seen
# from outside), two per side.
CUBE_CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
    np.float32,
)
CUBE_FACES = [
    (0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4),
    (2, 3, 7), (2, 7, 6), (0, 4, 7), (0, 7, 3), (1, 2, 6), (1, 6, 5),
]  # fmt: skip
# The same sides as quads (1-based, as OBJ counts), each fanning into the two triangles above.
CUBE_QUADS = [(1, 4, 3, 2), (5, 6, 7, 8), (1, 2, 6, 5), (3, 4, 8, 7), (1, 5, 8, 4), (2, 3, 7, 6)]


def cube(size: float = 1.0, at: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:
    """A closed box as (12, 3, 3) float32 triangles."""
    corners = CUBE_CORNERS * np.float32(size) + np.array(at, np.float32)
    return corners[np.array(CUBE_FACES)]


def binary_stl(triangles: np.ndarray, header: bytes = b"made by the mesh tests") -> bytes:
    records = np.zeros(len(triangles), [("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    return header.ljust(80, b" ")[:80] + struct.pack("<I", len(triangles)) + records.tobytes()


def ascii_stl(triangles: np.ndarray, name: str = "part", words: str = "lower") -> bytes:
    """An STL in text form; `words="upper"` writes the keywords in capitals, as some CAD do."""
    lines = [f"solid {name}"]
    for a, b, c in triangles.tolist():
        lines += ["facet normal 0 0 0", " outer loop"]
        lines += [f"  vertex {x!r} {y!r} {z!r}" for x, y, z in (a, b, c)]
        lines += [" endloop", "endfacet"]
    lines.append(f"endsolid {name}\n")
    text = "\n".join(lines)
    return (text.upper() if words == "upper" else text).encode()


def model_3mf(
    objects: str,
    items: str = "<item objectid='1'/>",
    unit: str = "millimeter",
) -> bytes:
    model = (
        f'<?xml version="1.0" encoding="UTF-8"?><model unit="{unit}" xmlns="{CORE}">'
        f"<resources>{objects}</resources><build>{items}</build></model>"
    )
    return three_mf({"3D/3dmodel.model": model})


def mesh_object(object_id: str = "1", size: float = 1.0) -> str:
    """A 3MF object holding a cube mesh of the given size."""
    vertices = "".join(
        f"<vertex x='{x * size}' y='{y * size}' z='{z * size}'/>" for x, y, z in CUBE_CORNERS
    )
    triangles = "".join(f"<triangle v1='{a}' v2='{b}' v3='{c}'/>" for a, b, c in CUBE_FACES)
    return (
        f"<object id='{object_id}' type='model'><mesh><vertices>{vertices}</vertices>"
        f"<triangles>{triangles}</triangles></mesh></object>"
    )


def zip_bomb_3mf(path: Path, *, inflated: int, declared: int | None = None) -> None:
    """A 3MF whose model part inflates to `inflated` bytes of vertex XML, written in a few
    megabytes: one compressed megabyte of XML, flushed so it stands alone, repeated.

    `declared` is the unpacked size the zip claims (the truth unless given): a bomb may lie.
    zipfile cannot write precompressed data, so the zip records are written here.
    """
    block = b"<vertex x='0' y='0' z='0'/>" * (1024 * 1024 // 27)
    repeats = inflated // len(block)
    head = f'<?xml version="1.0"?><model xmlns="{CORE}"><resources><object id="1"><mesh>'
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head.encode() + b"<vertices>") + compressor.flush(zlib.Z_FULL_FLUSH)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the closing empty block
    crc = zlib.crc32(head.encode() + b"<vertices>")
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    size = len(head) + len(b"<vertices>") + repeats * len(block)
    with open(path, "wb") as f:
        entries = [
            _stored(f, "[Content_Types].xml", CONTENT_TYPES.encode()),
            _stored(f, "_rels/.rels", RELS.encode()),
        ]
        offset = f.tell()
        packed = len(start) + repeats * len(middle) + len(end)
        name = b"3D/3dmodel.model"
        shown = size if declared is None else declared
        f.write(_local_header(name, crc, packed, shown, method=8))
        f.write(start)
        for _ in range(repeats):
            f.write(middle)
        f.write(end)
        entries.append((name, crc, packed, shown, 8, offset))
        _central_directory(f, entries)


def _stored(f, name: str, data: bytes) -> tuple[bytes, int, int, int, int, int]:
    offset, crc = f.tell(), zlib.crc32(data)
    f.write(_local_header(name.encode(), crc, len(data), len(data), method=0))
    f.write(data)
    return (name.encode(), crc, len(data), len(data), 0, offset)


def _local_header(name: bytes, crc: int, packed: int, size: int, method: int) -> bytes:
    return (
        struct.pack(
            "<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, packed, size, len(name), 0
        )
        + name
    )


def _central_directory(f, entries) -> None:
    start = f.tell()
    for name, crc, packed, size, method, offset in entries:
        f.write(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                packed,
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    length = f.tell() - start
    f.write(
        struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries), length, start, 0)
    )


def obj_with_missing_vertices(path: Path, vertices: int = 10_000_000) -> None:
    """An OBJ of `vertices` vertices, then faces whose last one refers past the end."""
    line = b"v 0 0 0\n"
    with open(path, "wb") as f:
        for done in range(0, vertices, 1_000_000):
            f.write(line * min(1_000_000, vertices - done))
        f.write(b"f 1 2 3\n" * 1000)
        f.write(f"f 1 2 {vertices + 1}\n".encode())
