"""A picture of a part: a shaded, orthographic PNG from one fixed three-quarter view.

We draw it ourselves, in numpy, because the libraries that render meshes need a graphics stack
a worker on a server does not have: trimesh's `scene.save_image` needs pyglet and an OpenGL
context (a display, or EGL/OSMesa), and pyrender and VTK need the same. What a preview needs,
flat shading and a depth buffer, is a small software rasteriser:

1. Every triangle is turned to the view (orthographic, from the front right and above, Z up,
   the way slicers show a part) and the part is fitted to the frame with a margin.
2. Each triangle gets one shade from its normal, turned towards the viewer (files do not agree
   on which way their triangles wind), lit by a key light and a light from the viewer. When
   the caller knows the part is one closed, consistently wound surface, the faces turned away
   are skipped: something nearer always hides them.
3. The pixel centres inside each triangle's bounding box are tested against its edges.
   Triangles are grouped by the size of that box, so a group is a few array operations. Most
   triangles of a large mesh cover a pixel or two: a sphere of 1.3 million triangles needs
   under 3 million tests, about 0.15 s.
4. Each covered pixel becomes a fragment keyed by depth and shade, and the nearest fragment of
   each pixel wins: `np.maximum.at` is defined for repeated indices (fancy assignment is not).
5. The frame is drawn at twice the size and halved, which smooths the edges.

This module must not import Django: the analysis child process imports it and starts fast.
"""

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

SUPERSAMPLE = 2
MARGIN = 0.06  # of the frame, on each side
BACKGROUND = np.array([245, 245, 243], dtype=np.float32)
PART_COLOUR = np.array([118, 168, 222], dtype=np.float32)
AMBIENT, KEY, FILL = 0.32, 0.55, 0.20
CHUNK_TRIANGLES = 1 << 18  # bounds the working memory, whatever the size of the mesh
MAX_TESTS = 1 << 22  # pixel tests per array operation
MAX_TOTAL_TESTS = 32_000_000  # about a second; 1.3 million triangles of a sphere need 3 million
EDGE_TOLERANCE = 1e-5  # pixel centres on a shared edge belong to both triangles: no cracks
DEPTH_STEPS = (1 << 24) - 1  # depth takes the upper 24 bits of a fragment, shade the lower 8


def _view() -> np.ndarray:
    """Rows: the screen's right, the screen's up, and the direction towards the viewer."""
    azimuth, elevation = math.radians(45), math.radians(30)
    towards = np.array(
        [
            math.cos(elevation) * math.sin(azimuth),
            -math.cos(elevation) * math.cos(azimuth),
            math.sin(elevation),
        ]
    )
    right = np.cross([0.0, 0.0, 1.0], towards)
    right /= np.linalg.norm(right)
    return np.array([right, np.cross(towards, right), towards], dtype=np.float32)


VIEW = _view()
# In view coordinates: from the upper left, in front; so the three faces of a cube facing the
# viewer get three clearly different shades.
KEY_LIGHT = np.array([-0.2, 0.6, 0.8], dtype=np.float32) / np.float32(
    np.linalg.norm([-0.2, 0.6, 0.8])
)
SIZE_CLASSES = np.array(
    sorted({round(1.5**k) for k in range(40)} | {2**k for k in range(20)}), dtype=np.int64
)


def render_png(triangles: np.ndarray, *, size: int = 480, closed: bool = False) -> bytes:
    """The part as a size x size PNG: shaded, orthographic, the same view for every file.

    `triangles` is (n, 3, 3) in any float type; triangles with a non-finite coordinate are
    left out, and a part with nothing to draw gives the empty background. `closed` says they
    are one closed surface wound consistently (a single watertight body): its faces turned
    away from the viewer are then always behind others, and are skipped, half the work.
    """
    canvas = size * SUPERSAMPLE
    triangles = np.asarray(triangles).reshape(-1, 3, 3)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and overflow are left out
        depth_buffer = _draw(triangles, canvas, closed)
    image = Image.fromarray(_colour(depth_buffer, canvas)).reduce(SUPERSAMPLE)
    return _png(image)


def thumbnail_png(png: bytes, *, size: int = 96) -> bytes:
    """A preview scaled down to size x size."""
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return _png(small)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- drawing --------------------------------------------------------------------------------


def _draw(triangles: np.ndarray, canvas: int, closed: bool) -> np.ndarray:
    """The depth buffer: per pixel, 0 for background or the nearest fragment's key."""
    buffer = np.zeros(canvas * canvas, dtype=np.uint32)
    chunks = range(0, len(triangles), CHUNK_TRIANGLES)
    parts = [_project(triangles[i : i + CHUNK_TRIANGLES]) for i in chunks]
    parts = [part for part in parts if len(part[0])]
    if not parts:
        return buffer
    low = np.array([min(float(part[axis].min()) for part in parts) for axis in range(3)])
    high = np.array([max(float(part[axis].max()) for part in parts) for axis in range(3)])
    if closed:
        parts = _facing_the_viewer(parts, (low + high) / 2)
    shades = [_shade(*part) for part in parts]
    for part in parts:
        _to_screen(*part, low, high, canvas)
    # A real part's triangles cover the frame a few times over; a soup of huge overlapping
    # triangles could cover it millions of times. Draw an even share of those, in bounded time.
    tests = sum(_box_pixels(x, y) for x, y, _ in parts)
    step = max(1, math.ceil(tests / MAX_TOTAL_TESTS))
    for (x, y, z), shade in zip(parts, shades, strict=True):
        _rasterise(buffer, x[::step], y[::step], z[::step], shade[::step], canvas)
    return buffer


def _facing_the_viewer(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], middle: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The faces of a closed surface that turn towards the viewer. Whether its triangles wind
    anticlockwise seen from outside or from inside, the sign of its volume tells (measured
    from the part's middle: float32 products far from it would drown the volume)."""
    facing = [_winding_towards_viewer(x, y) for x, y, _ in parts]
    cx, cy, cz = middle.astype(np.float32)
    volume = sum(
        float(_volume_terms(x - cx, y - cy, z - cz).sum(dtype=np.float64)) for x, y, z in parts
    )
    outwards = 1 if volume >= 0 else -1
    return [
        (x[keep], y[keep], z[keep])
        for (x, y, z), keep in zip(parts, [f * outwards > 0 for f in facing], strict=True)
    ]


def _winding_towards_viewer(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Twice each triangle's signed area seen from the viewer: positive when anticlockwise."""
    return (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])


def _volume_terms(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Six times the signed volume of the tetrahedron from the origin to each triangle."""
    cross_x = y[:, 1] * z[:, 2] - z[:, 1] * y[:, 2]
    cross_y = z[:, 1] * x[:, 2] - x[:, 1] * z[:, 2]
    cross_z = x[:, 1] * y[:, 2] - y[:, 1] * x[:, 2]
    return x[:, 0] * cross_x + y[:, 0] * cross_y + z[:, 0] * cross_z


def _to_screen(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, low: np.ndarray, high: np.ndarray, canvas: int
) -> None:
    """View coordinates to the frame's, in place: the part centred with a margin, pixels right
    and down, depth from 0 (farthest) to 1 (nearest)."""
    span = max(high[0] - low[0], high[1] - low[1])
    scale = canvas * (1 - 2 * MARGIN) / span if span > 0 else 1.0
    middle = (low + high) / 2
    x -= middle[0]
    x *= scale
    x += canvas / 2
    y -= middle[1]
    y *= -scale
    y += canvas / 2
    z -= low[2]
    z /= high[2] - low[2] or 1.0


def _project(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The corners in view coordinates, one (n, 3) float32 array per axis (right, up, towards
    the viewer); triangles with a coordinate that is not a finite number are left out."""
    # One (3, 3) x (3, 3n) product: a row per axis, each contiguous.
    x, y, z = (VIEW @ chunk.astype(np.float32, copy=False).reshape(-1, 3).T).reshape(3, -1, 3)
    # NaN and infinity survive the projection; summing the corners finds them in one pass.
    total = x + y + z
    finite = np.isfinite(total[:, 0] + total[:, 1] + total[:, 2])
    if not finite.all():
        x, y, z = x[finite], y[finite], z[finite]
    return x, y, z


def _shade(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """One brightness per triangle, 1-255, from its normal turned towards the viewer."""
    edges = [(axis[:, 1] - axis[:, 0], axis[:, 2] - axis[:, 0]) for axis in (x, y, z)]
    (x1, x2), (y1, y2), (z1, z2) = edges
    normal = [y1 * z2 - z1 * y2, z1 * x2 - x1 * z2, x1 * y2 - y1 * x2]
    length = np.sqrt(normal[0] ** 2 + normal[1] ** 2 + normal[2] ** 2)
    # Facing the viewer whichever way the triangle winds; edge-on triangles are never drawn.
    towards = np.abs(normal[2]) / np.where(length > 0, length, 1)
    key = (normal[0] * KEY_LIGHT[0] + normal[1] * KEY_LIGHT[1]) * np.sign(normal[2])
    key = key / np.where(length > 0, length, 1) + KEY_LIGHT[2] * towards
    light = AMBIENT + KEY * np.maximum(key, 0) + FILL * towards
    return np.clip(np.rint(light * 255), 1, 255).astype(np.uint32)


def _rasterise(
    buffer: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, shade: np.ndarray, canvas: int
) -> None:
    """Every pixel centre inside a triangle becomes a fragment; the nearest one per pixel wins."""
    first_x = np.ceil(_smallest(x) - 0.5)  # float32 throughout: whole numbers of pixels
    first_y = np.ceil(_smallest(y) - 0.5)
    width = np.floor(_largest(x) - 0.5) - first_x + 1
    height = np.floor(_largest(y) - 0.5) - first_y + 1
    triangles = _Triangles(
        first_pixel=(first_y * canvas + first_x).astype(np.int32),
        offset_x=first_x + 0.5 - x[:, 0],
        offset_y=first_y + 0.5 - y[:, 0],
        ab_x=x[:, 1] - x[:, 0],
        ab_y=y[:, 1] - y[:, 0],
        ab_depth=z[:, 1] - z[:, 0],
        ac_x=x[:, 2] - x[:, 0],
        ac_y=y[:, 2] - y[:, 0],
        ac_depth=z[:, 2] - z[:, 0],
        inverse=np.zeros(len(x), dtype=np.float32),
        depth=z[:, 0],
        shade=shade,
    )
    area = triangles.ab_x * triangles.ac_y - triangles.ac_x * triangles.ab_y
    np.divide(1, area, out=triangles.inverse, where=area != 0)
    # A triangle between pixel centres covers none of them (its neighbours do), and one seen
    # edge-on covers nothing.
    drawn = np.flatnonzero((width > 0) & (height > 0) & (area != 0))
    classes = len(SIZE_CLASSES)
    group = np.searchsorted(SIZE_CLASSES, width[drawn]) * classes + np.searchsorted(
        SIZE_CLASSES, height[drawn]
    )
    for key in np.flatnonzero(np.bincount(group)):  # a handful of sizes
        box = (int(SIZE_CLASSES[key // classes]), int(SIZE_CLASSES[key % classes]))
        members = drawn[group == key]
        batch = max(1, MAX_TESTS // (box[0] * box[1]))
        for i in range(0, len(members), batch):
            _fill(buffer, triangles, members[i : i + batch], box, canvas)


def _box_pixels(x: np.ndarray, y: np.ndarray) -> float:
    """About how many pixel centres the triangles' boxes hold, in all."""
    width = _largest(x) - _smallest(x) + 1
    height = _largest(y) - _smallest(y) + 1
    return float(np.dot(width, height))


def _smallest(corners: np.ndarray) -> np.ndarray:
    return np.minimum(np.minimum(corners[:, 0], corners[:, 1]), corners[:, 2])


def _largest(corners: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(corners[:, 0], corners[:, 1]), corners[:, 2])


@dataclass(frozen=True)
class _Triangles:
    """What the pixel tests need of each triangle, in the frame's coordinates."""

    first_pixel: np.ndarray  # the index of the first pixel of its box
    offset_x: np.ndarray  # that pixel's centre, from the first corner
    offset_y: np.ndarray
    ab_x: np.ndarray  # its edges from the first corner
    ab_y: np.ndarray
    ab_depth: np.ndarray
    ac_x: np.ndarray
    ac_y: np.ndarray
    ac_depth: np.ndarray
    inverse: np.ndarray  # 1 / twice its signed area
    depth: np.ndarray  # of the first corner
    shade: np.ndarray


def _fill(
    buffer: np.ndarray, t: _Triangles, which: np.ndarray, box: tuple[int, int], canvas: int
) -> None:
    """Test a box of pixel centres against each of `which` (barycentric coordinates)."""
    width, height = box
    column = np.tile(np.arange(width, dtype=np.float32), height)
    row = np.repeat(np.arange(height, dtype=np.float32), width)
    dx = t.offset_x[which, None] + column
    dy = t.offset_y[which, None] + row
    inverse = t.inverse[which, None]
    u = (dx * t.ac_y[which, None] - t.ac_x[which, None] * dy) * inverse
    v = (t.ab_x[which, None] * dy - dx * t.ab_y[which, None]) * inverse
    inside = (u >= -EDGE_TOLERANCE) & (v >= -EDGE_TOLERANCE) & (u + v <= 1 + EDGE_TOLERANCE)
    hits = np.flatnonzero(inside).astype(np.int32)
    triangle, test = np.divmod(hits, np.int32(width * height))
    hit = which[triangle]
    depth = t.depth[hit] + u.ravel()[hits] * t.ab_depth[hit] + v.ravel()[hits] * t.ac_depth[hit]
    key = (np.rint(np.clip(depth, 0, 1) * DEPTH_STEPS).astype(np.uint32) << 8) | t.shade[hit]
    # The pixel: the box's first, plus the test's row and column within the box.
    within = (row.astype(np.int32) * canvas + column.astype(np.int32))[test]
    np.maximum.at(buffer, np.clip(t.first_pixel[hit] + within, 0, canvas * canvas - 1), key)


def _colour(buffer: np.ndarray, canvas: int) -> np.ndarray:
    shade = (buffer & 0xFF).astype(np.float32) / 255
    rgb = shade[:, None] * PART_COLOUR
    rgb[buffer == 0] = BACKGROUND
    return np.rint(rgb).astype(np.uint8).reshape(canvas, canvas, 3)
