"""The 3D view in a real browser (WebGL in headless Chromium, under the real CSP): the button
appears beside the picture, the mesh loads only when it is pressed, the canvas shows the part,
dragging and the arrow keys turn it, Reset brings the first view back, and a mesh that cannot be
loaded says so while the picture stays."""

import io
import time
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from printdesk.files.models import Analysis
from tests.browser.conftest import log_in, serious_violations
from tests.conftest import sample_upload
from tests.files.analysed import analysed, newest_version

pytestmark = pytest.mark.django_db(transaction=True)

BACKGROUND = np.array([245, 245, 243])
ROTATE = "Rotate in 3D"


@pytest.fixture
def watched(watched):
    """The browser conftest's page, which records CSP complaints, also recording the meshes it
    fetched (`meshes`)."""
    watched.meshes = []
    watched.on("request", lambda r: "mesh.bin" in r.url and watched.meshes.append(r.url))
    return watched


@pytest.fixture
def teapot(make_job):
    """A job whose one file, the teapot, is analysed: picture, thumbnail and viewer mesh."""
    job, secret = make_job(files=[sample_upload("teapot.stl")])
    analysed(newest_version(job))
    return job, secret


def picture(canvas) -> np.ndarray:
    """The canvas as the screen shows it: (height, width, 3) RGB."""
    with Image.open(io.BytesIO(canvas.screenshot())) as shot:
        return np.asarray(shot.convert("RGB"), dtype=np.int16)


def part_share(pixels: np.ndarray) -> float:
    """The share of the canvas that is not background."""
    away = np.abs(pixels - BACKGROUND).max(axis=2) > 12
    return float(away.mean())


def changed_share(before: np.ndarray, after: np.ndarray) -> float:
    return float((np.abs(before - after).max(axis=2) > 12).mean())


def drawn(canvas, shows: Callable[[np.ndarray], bool], seconds: float = 10) -> np.ndarray:
    """The canvas's picture once it `shows` what a change should have drawn; fails after
    `seconds`. A frame is drawn on the next animation frame: on a busy machine, with WebGL in
    software, that can be a while."""
    deadline = time.monotonic() + seconds
    while not shows(shot := picture(canvas)):
        assert time.monotonic() < deadline, f"the canvas did not show it within {seconds} s"
        time.sleep(0.1)
    return shot


def open_viewer(page: Page):
    """Press the button; the canvas once it is drawn."""
    page.get_by_role("button", name=ROTATE).click()
    canvas = page.locator("canvas.viewer-canvas")
    expect(canvas).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Drag to rotate")).to_be_visible()
    drawn(canvas, lambda shot: part_share(shot) > 0.08)  # the part, not a blank canvas
    return canvas


def test_the_operator_turns_the_part_in_3d(watched: Page, teapot, operator):
    job, _ = teapot
    log_in(watched, "olga", "pw-olga")
    watched.goto(f"/desk/jobs/{job.reference}/")
    preview = watched.get_by_role("img", name="Preview of teapot.stl, version 1")
    expect(preview).to_be_visible()
    assert watched.meshes == []  # type: ignore[attr-defined]  # the page stays light

    canvas = open_viewer(watched)

    assert len(watched.meshes) == 1  # type: ignore[attr-defined]
    expect(preview).to_be_hidden()
    expect(canvas).to_be_focused()
    first = picture(canvas)
    assert 0.08 < part_share(first) < 0.9  # the part, fitted to the frame

    box = canvas.bounding_box()
    assert box is not None
    middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    watched.mouse.move(*middle)
    watched.mouse.down()
    watched.mouse.move(middle[0] + 120, middle[1] + 40, steps=8)
    watched.mouse.up()
    dragged = drawn(canvas, lambda shot: changed_share(first, shot) > 0.03)  # turned
    assert part_share(dragged) > 0.05

    watched.get_by_role("button", name="Reset the 3D view of teapot.stl, version 1").click()
    drawn(canvas, lambda shot: changed_share(first, shot) < 0.01)  # the first view again

    canvas.focus()
    watched.keyboard.press("ArrowLeft")
    drawn(canvas, lambda shot: changed_share(first, shot) > 0.03)  # turned by the key

    watched.get_by_role("button", name="Show the picture of teapot.stl, version 1").click()
    expect(preview).to_be_visible()
    expect(canvas).to_be_hidden()
    assert watched.violations == []  # type: ignore[attr-defined]


def test_the_customer_turns_the_part_in_3d(watched: Page, teapot):
    _, secret = teapot
    watched.goto(f"/j/{secret}/")

    canvas = open_viewer(watched)

    whole = part_share(picture(canvas))
    watched.keyboard.press("+")  # the canvas has the focus: zoom in
    drawn(canvas, lambda shot: part_share(shot) > whole * 1.2)  # larger
    assert watched.violations == []  # type: ignore[attr-defined]
    assert serious_violations(watched) == []  # the open view: canvas, buttons and status


def test_a_mesh_that_cannot_be_loaded_says_so_and_the_picture_stays(watched: Page, teapot):
    job, secret = teapot
    made = Analysis.objects.get(version=newest_version(job)).viewer_mesh
    made.storage.delete(made.name or "")
    watched.goto(f"/j/{secret}/")

    watched.get_by_role("button", name=ROTATE).click()

    expect(watched.get_by_role("status")).to_contain_text("could not be loaded")
    expect(watched.get_by_role("img", name="Preview of teapot.stl")).to_be_visible()
    expect(watched.get_by_role("button", name=ROTATE)).to_be_enabled()  # try again later


def test_a_version_without_a_mesh_has_no_button(watched: Page, teapot):
    job, secret = teapot
    Analysis.objects.filter(version=newest_version(job)).update(viewer_mesh="")
    watched.goto(f"/j/{secret}/")

    expect(watched.get_by_role("img", name="Preview of teapot.stl")).to_be_visible()
    expect(watched.get_by_role("button", name=ROTATE)).to_have_count(0)
