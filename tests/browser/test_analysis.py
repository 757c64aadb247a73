"""In a real browser, under the real Content-Security-Policy: the preview images load on the
queue, the job page and the status page; the "Use suggested price" button fills the price; the
pages with their analysis panels have no serious accessibility findings."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, serious_violations
from tests.conftest import sample_upload
from tests.files.analysed import analysed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def analysed_job(make_job, catalogue):
    """A job of three files, all measured: a good cube, a part drawn in inches, two bodies;
    with prices to suggest from."""
    pla, mk4 = catalogue["pla"], catalogue["mk4"]
    pla.price_per_cm3, pla.density_g_cm3, pla.setup_fee = Decimal("0.80"), Decimal("1.24"), 5
    pla.save()
    mk4.throughput_cm3_h = Decimal("12")
    mk4.save()
    job, secret = make_job(
        files=[
            sample_upload("20mm-xyz-cube.stl"),
            sample_upload("unit_cube.STL"),
            sample_upload("cube_and_sphere_same_name.3mf"),
        ]
    )
    for job_file in job.files.all():
        analysed(job_file.versions.get())
    return job, secret


WIDTH_WHEN_LOADED = """img => img.complete ? img.naturalWidth : new Promise(done => {
  img.addEventListener("load", () => done(img.naturalWidth));
  img.addEventListener("error", () => done(0));
})"""


def loaded(image) -> int:
    """The image's width once it arrived (lazy images load near the viewport): 0 when it was
    blocked or broken."""
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    return image.evaluate(WIDTH_WHEN_LOADED)


def test_the_operator_sees_the_previews_under_the_policy(watched: Page, analysed_job, operator):
    job, _ = analysed_job
    log_in(watched, "olga", "pw-olga")

    thumbnail = watched.get_by_role("img", name="Preview of 20mm-xyz-cube.stl")
    assert loaded(thumbnail)

    watched.goto(f"/desk/jobs/{job.reference}/")
    preview = watched.get_by_role("img", name="Preview of 20mm-xyz-cube.stl, version 1")
    assert loaded(preview) == 480
    expect(
        watched.get_by_text("Units check: This part measures only 1 x 1 x 1 mm.")
    ).to_be_visible()
    expect(watched.get_by_role("button", name="Use x25.4 (inches)")).to_be_visible()
    assert watched.violations == []  # type: ignore[attr-defined]


def test_use_suggested_price_fills_the_line(watched: Page, analysed_job, operator):
    job, _ = analysed_job
    log_in(watched, "olga", "pw-olga")
    watched.goto(f"/desk/jobs/{job.reference}/")
    price = watched.locator("#id_lines-0-unit_price")
    expect(price).to_have_value("")

    watched.locator("#quote-lines fieldset").first.get_by_role(
        "button", name="Use suggested price"
    ).click()

    expect(price).to_have_value("6.35")
    expect(price).to_be_focused()
    assert watched.violations == []  # type: ignore[attr-defined]


def test_the_scale_buttons_rescale_the_part(watched: Page, analysed_job, operator):
    job, _ = analysed_job
    log_in(watched, "olga", "pw-olga")
    watched.goto(f"/desk/jobs/{job.reference}/")

    watched.get_by_role("button", name="Use x25.4 (inches)").click()

    expect(watched.get_by_text("unit_cube.STL v1 is now scaled x25.4")).to_be_visible()
    expect(watched.get_by_text("Scaled x25.4:", exact=True)).to_be_visible()


def test_the_job_page_with_analyses_has_no_serious_findings(page: Page, analysed_job, operator):
    job, _ = analysed_job
    log_in(page, "olga", "pw-olga")
    page.goto(f"/desk/jobs/{job.reference}/")
    page.get_by_text("Each of the 2 bodies").click()  # the folded body list, open

    assert serious_violations(page) == []


def test_the_customer_sees_the_preview_under_the_policy(watched: Page, analysed_job):
    _, secret = analysed_job

    watched.goto(f"/j/{secret}/")

    preview = watched.get_by_role("img", name="Preview of 20mm-xyz-cube.stl")
    assert loaded(preview)
    ready = "We checked your file: 20 x 20 x 20 mm, 7.9 cm³. It looks ready to print."
    expect(watched.get_by_text(ready)).to_be_visible()
    expect(watched.get_by_text("If it was drawn in inches")).to_be_visible()
    assert watched.violations == []  # type: ignore[attr-defined]
    assert serious_violations(watched) == []
