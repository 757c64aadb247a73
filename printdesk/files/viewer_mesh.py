"""The compact mesh the pages' 3D view loads (static/printdesk/viewer.js).

The analysis child writes it beside the preview: at most MAX_TRIANGLES triangles (the
preview's, which are all of the file's or an even subsample, simplified by vertex clustering
when there are more), each corner's position quantised to three uint16 within the part's
bounding box. A 150,000-triangle part is 2.7 MB, half its float32 corners, and WebGL reads it
as it comes (normalised UNSIGNED_SHORT attributes): no parsing in the browser.

Format, little-endian:

    offset  size  what
    0       4     magic b"PDVM"
    4       2     format version (1)
    6       2     reserved, 0
    8       4     triangle count n (uint32)
    12      12    bounding box min x, y, z (float32, mm)
    24      12    bounding box max x, y, z (float32, mm)
    36      18 n  corners: n x 3 corners x (x, y, z) uint16; 0 is the box's min, 65535 its max

The box is the one of the triangles written (they may be a subsample), so the quantisation uses
its whole range. A side of zero length (a flat part) quantises to 0.

This module must not import Django: the analysis child process imports it and starts fast.
"""

import math
import struct

import numpy as np
from numpy.typing import NDArray

MAGIC = b"PDVM"
VERSION = 1
# A WebGL 1 view of this many flat-shaded triangles stays smooth on a phone; more would only
# make the download larger (each is 18 bytes).
MAX_TRIANGLES = 150_000
HEADER = struct.Struct("<4sHHI3f3f")
STEPS = 65535  # uint16's largest value: the box's max


class ViewerMeshError(ValueError):
    """Bytes that are not a viewer mesh of a version we read."""


def subsample(triangles: NDArray[np.floating], most: int = MAX_TRIANGLES) -> NDArray[np.float32]:
    """The finite triangles; when there are more than `most`, a simplified surface of at most
    `most` (`simplify`)."""
    tri = np.asarray(triangles, dtype=np.float32).reshape(-1, 3, 3)
    finite = np.isfinite(tri).all(axis=(1, 2))
    if not finite.all():
        tri = tri[finite]
    if len(tri) > most:
        tri = _even_stride(simplify(tri, most), most)  # the stride only guarantees the cap
    return tri


def _even_stride(tri: NDArray[np.float32], most: int) -> NDArray[np.float32]:
    if len(tri) <= most:
        return tri
    return tri[:: math.ceil(len(tri) / max(1, most))]


def simplify(tri: NDArray[np.float32], most: int) -> NDArray[np.float32]:
    """About `most` triangles of the same surface, by vertex clustering: corners are snapped to
    a grid, each cell's corners become their mean, and triangles that collapse (two corners in
    one cell) or repeat are dropped.

    Why not an even stride, as the preview's subsample: the preview draws up to 2 million
    triangles into 480 px, where every pixel is covered; a viewer that lets you zoom would show
    a stride of one triangle in nine as a see-through dust. A clustered surface stays closed.
    The grid is sized from a coarse pass: on a surface, cells grow as 1/size² and triangles are
    about twice the cells; one correction follows if the first guess made too many."""
    corners = tri.reshape(-1, 3)
    low = corners.min(axis=0).astype(np.float64)
    largest = float((corners.max(axis=0) - low).max()) or 1.0
    finest = largest / (1 << 20)  # each cell index takes 21 bits of one int64 key
    size = largest / 256
    occupied = len(np.unique(_cell_keys(corners, low, size)))
    size = max(finest, size * math.sqrt(occupied / (most / 2)))
    simplified = _cluster(corners, low, size)
    if len(simplified) > most:
        size *= 1.05 * math.sqrt(len(simplified) / most)
        simplified = _cluster(corners, low, size)
    return simplified


def _cell_keys(
    corners: NDArray[np.float32], low: NDArray[np.float64], size: float
) -> NDArray[np.int64]:
    """One int64 per corner naming its grid cell (21 bits per axis)."""
    cell = np.floor((corners - low) / size).astype(np.int64)
    np.clip(cell, 0, (1 << 21) - 1, out=cell)
    return (cell[:, 0] << 42) | (cell[:, 1] << 21) | cell[:, 2]


def _cluster(
    corners: NDArray[np.float32], low: NDArray[np.float64], size: float
) -> NDArray[np.float32]:
    keys, at = np.unique(_cell_keys(corners, low, size), return_inverse=True)
    cells = len(keys)
    weight = np.bincount(at, minlength=cells)
    sums = np.stack([np.bincount(at, corners[:, a], cells) for a in range(3)], axis=1)
    mean = sums / weight[:, None]
    faces = at.reshape(-1, 3)
    a, b, c = faces.T
    faces = faces[(a != b) & (b != c) & (a != c)]
    ordered = np.sort(faces, axis=1)  # one key per set of cells, whichever way it winds
    if cells < 1 << 21:
        _, first = np.unique(
            (ordered[:, 0] << 42) | (ordered[:, 1] << 21) | ordered[:, 2], return_index=True
        )
    else:
        _, first = np.unique(ordered, axis=0, return_index=True)
    return mean[faces[np.sort(first)]].astype(np.float32)


def encode(triangles: NDArray[np.floating], most: int = MAX_TRIANGLES) -> bytes:
    """The viewer mesh of these (n, 3, 3) triangles, in mm."""
    tri = subsample(triangles, most)
    if len(tri):
        low = tri.min(axis=(0, 1)).astype(np.float64)
        high = tri.max(axis=(0, 1)).astype(np.float64)
    else:
        low = high = np.zeros(3)
    span = high - low
    scale = np.divide(STEPS, span, out=np.zeros(3), where=span > 0)
    quantised = np.rint((tri.reshape(-1, 3) - low) * scale)
    corners = np.clip(quantised, 0, STEPS).astype("<u2")
    header = HEADER.pack(MAGIC, VERSION, 0, len(tri), *low.tolist(), *high.tolist())
    return header + corners.tobytes()


def decode(data: bytes) -> tuple[NDArray[np.float32], tuple[float, ...], tuple[float, ...]]:
    """The triangles (n, 3, 3) in mm, as quantised, with the box; ViewerMeshError if `data`
    is not a viewer mesh (the views serve the bytes as they are; this is for checks and tests)."""
    if len(data) < HEADER.size:
        raise ViewerMeshError("too short for a viewer mesh header")
    magic, version, _, count, *box = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ViewerMeshError("not a viewer mesh")
    if version != VERSION:
        raise ViewerMeshError(f"viewer mesh version {version}, not {VERSION}")
    if len(data) != HEADER.size + count * 18:
        raise ViewerMeshError(f"{len(data)} bytes do not hold {count} triangles")
    low, high = np.array(box[:3]), np.array(box[3:])
    corners = np.frombuffer(data, dtype="<u2", offset=HEADER.size).reshape(-1, 3)
    positions = low + corners * ((high - low) / STEPS)
    return positions.astype(np.float32).reshape(-1, 3, 3), tuple(box[:3]), tuple(box[3:])
