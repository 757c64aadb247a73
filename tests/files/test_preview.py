"""The preview renderer: real triangles in, PNG out, checked pixel by pixel."""

import io
import math
import time

import numpy as np
import pytest
from PIL import Image

from printdesk.files import preview
from printdesk.files.preview import render_png, thumbnail_png
from tests.files.makers import icosphere

# The view the previews promise: from the front right (azimuth 45°) and above (elevation 30°).
TOWARDS_VIEWER = np.array(
    [
        math.cos(math.radians(30)) * math.sin(math.radians(45)),
        -math.cos(math.radians(30)) * math.cos(math.radians(45)),
        math.sin(math.radians(30)),
    ]
)
CUBE_FACES = [
    [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
    [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
]  # fmt: skip


def cube(corner=(0.0, 0.0, 0.0), side: float = 1.0) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    return (corners * side + corner)[np.array(CUBE_FACES)].astype(np.float32)


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB")).astype(int)


def part_mask(image: np.ndarray) -> np.ndarray:
    """Pixels that are not the background (edges blend into it, so a small tolerance)."""
    return np.abs(image - preview.BACKGROUND.astype(int)).sum(axis=2) > 6


def test_it_renders_a_png_of_the_asked_size():
    assert pixels(render_png(cube())).shape == (480, 480, 3)
    assert pixels(render_png(cube(), size=200)).shape == (200, 200, 3)


def test_a_cube_is_a_hexagon_centred_in_the_frame_with_a_margin():
    mask = part_mask(pixels(render_png(cube())))
    # An orthographic view of a unit cube covers |dx| + |dy| + |dz| square units (half the
    # sum over its faces of |normal . view|), and its taller side fills 88% of the frame.
    rows, columns = np.nonzero(mask)
    height = rows.max() - rows.min() + 1
    assert abs(height - 0.88 * 480) <= 3
    # Its height foreshortened, plus its diagonal (√2) seen from 30° above.
    projected_height = math.cos(math.radians(30)) + math.sin(math.radians(30)) * math.sqrt(2)
    pixels_per_unit = height / projected_height
    expected = np.abs(TOWARDS_VIEWER).sum() * pixels_per_unit**2
    assert abs(mask.sum() - expected) / expected < 0.02
    assert abs((rows.min() + rows.max()) / 2 - 239.5) <= 2
    assert abs((columns.min() + columns.max()) / 2 - 239.5) <= 2


def test_the_three_faces_of_a_cube_get_three_shades_the_top_brightest():
    image = pixels(render_png(cube()))
    colours, counts = np.unique(image[part_mask(image)], axis=0, return_counts=True)
    faces = colours[np.argsort(counts)[-3:]]
    assert counts.max() > 0.15 * part_mask(image).sum()
    brightness = sorted(faces.sum(axis=1))
    assert brightness[1] - brightness[0] >= 40
    assert brightness[2] - brightness[1] >= 40
    top = image[120, 240]  # the middle of the top face, in a hexagon 422 pixels high
    assert top.sum() == brightness[2]


def test_a_near_triangle_hides_the_part_and_a_far_one_is_hidden_by_it():
    middle = np.array([0.5, 0.5, 0.5])
    across = np.cross(TOWARDS_VIEWER, [0, 0, 1])
    across /= np.linalg.norm(across)
    up = np.cross(across, TOWARDS_VIEWER)

    def facing_the_viewer(distance: float, size: float) -> np.ndarray:
        centre = middle + distance * TOWARDS_VIEWER
        corners = [
            centre - size * across - size * up,
            centre + size * across - size * up,
            centre + size * up,
        ]
        return np.array([corners], dtype=np.float32)

    alone = pixels(render_png(np.concatenate([cube(), facing_the_viewer(-5, 0.2)])))
    near = pixels(render_png(np.concatenate([cube(), facing_the_viewer(5, 0.2)])))
    # Facing the viewer, the triangle's shade is none of the cube's.
    shade = near[240, 240]
    assert not (alone == shade).all(axis=2).any()
    assert (near == shade).all(axis=2).sum() > 1000


def test_the_order_of_the_triangles_does_not_matter():
    scene = np.concatenate(
        [cube(), cube(corner=(0.3, -0.3, 0.3), side=0.5), icosphere(2, 0.6) + 0.5]
    )
    assert render_png(scene) == render_png(scene[::-1])


def test_it_is_the_same_whichever_way_the_triangles_wind():
    flipped = cube()
    flipped[::2] = flipped[::2, ::-1]
    assert render_png(flipped) == render_png(cube())


@pytest.mark.parametrize(
    "body", [cube(), icosphere(5), cube()[:, ::-1], icosphere(4, radius=1) + np.float32(3e4)]
)
def test_a_closed_body_looks_the_same_without_the_faces_turned_away(body):
    """Told the part is one closed surface, the renderer skips the faces turned away from the
    viewer, whichever way the triangles wind: the picture must not change."""
    assert render_png(body, closed=True) == render_png(body)


def test_the_same_triangles_give_the_same_bytes():
    sphere = icosphere(4)
    assert render_png(sphere) == render_png(sphere.copy())


def test_a_fine_mesh_has_no_cracks():
    """327,680 triangles, most covering one or two pixel centres of the doubled frame."""
    image = pixels(render_png(icosphere(7)))
    rows, columns = np.nonzero(part_mask(image))
    centre = ((rows.min() + rows.max()) / 2, (columns.min() + columns.max()) / 2)
    radius = (rows.max() - rows.min() + 1) / 2
    y, x = np.indices(image.shape[:2])
    inside = (y - centre[0]) ** 2 + (x - centre[1]) ** 2 < (0.97 * radius) ** 2
    # No shade is brighter than the part's own colour: a brighter pixel has background in it.
    assert (image[inside] <= preview.PART_COLOUR.astype(int) + 1).all()


def test_triangles_with_nan_or_infinite_corners_are_left_out():
    broken = np.array(
        [[[np.nan, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 0], [np.inf, 0, 0], [0, 1, 0]]]
    )
    assert render_png(np.concatenate([cube(), broken.astype(np.float32)])) == render_png(cube())


def test_degenerate_parts_render_without_failing():
    background = pixels(render_png(np.zeros((0, 3, 3), dtype=np.float32)))
    assert not part_mask(background).any()
    one_point = np.ones((5, 3, 3), dtype=np.float32)
    assert not part_mask(pixels(render_png(one_point))).any()
    one_triangle = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]], dtype=np.float64)
    assert part_mask(pixels(render_png(one_triangle))).sum() > 10_000
    flat_square = cube()[[8, 9]]  # the bottom face alone: a sheet with no thickness
    assert part_mask(pixels(render_png(flat_square))).sum() > 10_000
    far_away = cube() + np.float32(1e5)
    assert part_mask(pixels(render_png(far_away))).sum() > 50_000


def test_the_thumbnail_is_the_preview_scaled_down():
    png = render_png(cube())
    small = pixels(thumbnail_png(png))
    assert small.shape == (96, 96, 3)
    assert pixels(thumbnail_png(png, size=48)).shape == (48, 48, 3)
    # The same picture: each thumbnail pixel is close to the average of its 5 x 5 block.
    blocks = pixels(png).reshape(96, 5, 96, 5, 3).mean(axis=(1, 3))
    assert np.abs(small - blocks).mean() < 3


def test_a_soup_of_huge_overlapping_triangles_renders_in_bounded_time():
    """20,000 triangles across the whole part would be 2 billion pixel tests, about a minute."""
    soup = np.random.default_rng(3).random((20_000, 3, 3), dtype=np.float32) * 100
    started = time.monotonic()
    image = pixels(render_png(soup))
    assert time.monotonic() - started < 10
    assert part_mask(image).mean() > 0.3
