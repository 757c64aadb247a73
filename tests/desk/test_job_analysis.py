"""The analysis on the operator's job page: each file version's panel in every state, the units
check and its scale buttons (and the view behind them), the fit per printer, and the quote
composer's suggested prices. Files are the shared samples, measured by the real analysis."""

import html as html_lib
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from printdesk.desk import job_analysis
from printdesk.files import advice, analysis, mesh
from printdesk.files.models import Analysis, AnalysisState
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job
from tests.conftest import SAMPLES, sample_upload, stl_upload
from tests.desk.test_job_actions import post, quote_data
from tests.files import makers
from tests.files.analysed import analysed, failed, newest_version, running

pytestmark = pytest.mark.django_db

INCH_BOX = (
    "<object id='1' type='model'><mesh><vertices>"
    + "".join(f"<vertex x='{x}' y='{y}' z='{z}'/>" for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + "</vertices><triangles>"
    + "".join(
        f"<triangle v1='{a}' v2='{b}' v3='{c}'/>"
        for a, b, c in [
            (0, 2, 3),
            (0, 3, 1),
            (4, 5, 7),
            (4, 7, 6),
            (0, 1, 5),
            (0, 5, 4),
            (2, 6, 7),
            (2, 7, 3),
            (0, 4, 6),
            (0, 6, 2),
            (1, 3, 7),
            (1, 7, 5),
        ]
    )
    + "</triangles></mesh></object>"
)


@pytest.fixture
def staff(operator) -> Actor:
    return Actor.staff(operator)


def page(client, job) -> str:
    response = client.get(reverse("desk:job", args=[job.reference]))
    assert response.status_code == 200
    return response.content.decode()


def panel_of(html: str, version) -> str:
    """The analysis panel of one version, as HTML."""
    start = html.index(f'id="analysis-{version.pk}"')
    ends = [html.find(marker, start) for marker in ("</article>", '<details class="older')]
    return html[start : min(end for end in ends if end != -1)]


def text(html: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def job_with(make_job, sample: str, state: JobState = JobState.SUBMITTED, **fields):
    job, _ = make_job(state, files=[sample_upload(sample)], **fields)
    version = newest_version(job)
    return job, version


def scale_url(job, version) -> str:
    return reverse("desk:file_scale", args=[job.reference, version.pk])


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- the panel, state by state --------------------------------------------------------------------


def test_a_done_analysis_shows_the_preview_and_the_measurements(desk, make_job):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)

    panel = panel_of(page(desk, job), version)
    shown = text(panel)

    preview = reverse("desk:file_preview", args=[job.reference, version.pk])
    assert f'src="{preview}"' in panel
    assert 'alt="Preview of 20mm-xyz-cube.stl, version 1"' in panel
    assert "Triangles 260" in shown
    assert "Size 20 x 20 x 20 mm" in shown
    assert "Size in inches 0.79 x 0.79 x 0.79 in" in shown
    assert "Volume 7.9 cm³" in shown
    assert "Surface area 25 cm²" in shown  # 2,400 mm² of faces, and the engraved letters' walls
    assert "Watertight yes" in shown
    assert "Winding consistent" in shown
    assert "Degenerate faces 0" in shown
    assert "Bodies 1" in shown
    assert '<th scope="row">Triangles</th>' in panel  # a table with row headers
    assert "Units check" not in shown  # a plausible part: nothing to warn about


def test_the_workers_outcome_is_what_the_page_shows(desk, make_job):
    job, version = job_with(make_job, "7_8ths_cube.stl")

    analysis.drain()  # the real worker: a child process measures and draws it

    panel = panel_of(page(desk, job), version)
    assert "Size 40 x 40 x 40 mm" in text(panel)
    assert "Volume 56 cm³" in text(panel)
    image = desk.get(reverse("desk:file_preview", args=[job.reference, version.pk]))
    assert image.status_code == 200
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize("state", [AnalysisState.PENDING, AnalysisState.RUNNING])
def test_a_waiting_analysis_says_it_is_being_analysed(desk, make_job, state):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    if state == AnalysisState.RUNNING:
        running(version)

    panel = panel_of(page(desk, job), version)

    assert "Being analysed…" in text(panel)
    assert "<img" not in panel


def test_a_failed_analysis_gives_its_reason(desk, make_job):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    # The upload checks refuse this sample at the door; its reason is the analysis's own.
    with pytest.raises(mesh.MeshError) as refused:
        mesh.analyse(SAMPLES / "3mf/MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf", "3mf")
    failed(version, str(refused.value))

    shown = text(panel_of(page(desk, job), version))

    assert f"Could not be analysed: {refused.value}" in shown
    assert "<img" not in panel_of(page(desk, job), version)


def test_a_step_file_is_said_to_be_accepted_but_not_analysed(desk, make_job):
    job, _ = make_job(files=[makers.upload("bracket.step", makers.step())])
    version = newest_version(job)

    shown = text(panel_of(page(desk, job), version))

    assert "STEP files are accepted but not analysed." in shown


def test_a_large_file_says_what_was_skipped(desk, make_job):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version, stream_over_bytes=0)  # every file counts as large

    shown = text(panel_of(page(desk, job), version))

    assert "Watertight not checked" in shown
    assert "Bodies not counted" in shown
    assert "Not measured: bodies, watertightness, winding and degenerate faces" in shown


def test_a_3mf_in_inches_says_its_sizes_were_converted(desk, make_job):
    inch_model = makers.model(INCH_BOX).replace('unit="millimeter"', 'unit="inch"')
    package = makers.three_mf({"3D/3dmodel.model": inch_model})
    job, _ = make_job(files=[makers.upload("inch.3mf", package)])
    version = newest_version(job)
    analysed(version)

    shown = text(panel_of(page(desk, job), version))

    assert "Size 25.4 x 25.4 x 25.4 mm" in shown
    assert "Size in inches 1 x 1 x 1 in" in shown
    report = Analysis.objects.get(version=version).report
    assert report is not None and "inch" in report.unit_note
    assert report.unit_note in shown


def test_each_body_is_listed_when_there_are_several(desk, make_job):
    job, version = job_with(make_job, "cube_and_sphere_same_name.3mf")
    analysed(version)

    panel = panel_of(page(desk, job), version)

    assert "Bodies 2" in text(panel)
    bodies = panel[panel.index('<details class="bodies">') : panel.index("</details>")]
    assert "Each of the 2 bodies" in text(bodies)
    assert len(re.findall(r"<tr><th scope=\"row\">\d</th>", bodies)) == 2


def test_bodies_are_counted_beyond_those_listed(desk, make_job, monkeypatch):
    monkeypatch.setattr(mesh, "MAX_BODIES_LISTED", 1)  # 1 instead of 1,000: the count goes on
    job, version = job_with(make_job, "cube_and_sphere_same_name.3mf")
    analysed(version)

    panel = panel_of(page(desk, job), version)

    assert "Bodies 2" in text(panel)
    assert "only the 1 largest of 2 are listed" in text(panel)


def test_the_page_shows_the_largest_bodies_of_many(desk, make_job, monkeypatch):
    """A lattice of a thousand bodies: the page lists and checks the largest few, by volume."""
    monkeypatch.setattr(job_analysis, "BODIES_SHOWN", 1)
    job, version = job_with(make_job, "cube_and_sphere_same_name.3mf")
    analysed(version)

    panel = panel_of(page(desk, job), version)

    assert "Bodies 2" in text(panel)
    bodies = panel[panel.index('<details class="bodies">') : panel.index("</details>")]
    assert "The 1 largest of the 2 bodies, by volume" in text(bodies)
    assert len(re.findall(r"<tr><th scope=\"row\">\d</th>", bodies)) == 1
    fit = panel[panel.index("</details>") :]
    assert "Body 1" in fit and "Body 2" not in fit


def test_one_body_gets_no_body_list(desk, make_job):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)

    assert '<details class="bodies">' not in panel_of(page(desk, job), version)


def test_older_versions_keep_their_own_panel_folded(desk, make_job, staff):
    job, first = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(first)
    actions.revise_file(
        job=job,
        actor=staff,
        upload=sample_upload("7_8ths_cube.stl"),
        job_file_id=first.job_file_id,
    )
    second = newest_version(job)
    analysed(second)

    html = page(desk, job)

    assert "Size 40 x 40 x 40 mm" in text(panel_of(html, second))
    assert "Size 20 x 20 x 20 mm" in text(panel_of(html, first))
    assert html.index(f'id="analysis-{second.pk}"') < html.index("Analysis of v1</summary>")
    assert html.index("Analysis of v1</summary>") < html.index(f'id="analysis-{first.pk}"')


# --- the fit per printer --------------------------------------------------------------------------


def test_the_fit_table_marks_each_printer_with_words(desk, make_job):
    job, version = job_with(make_job, "1002_tray_bottom.STL")
    analysed(version)

    panel = panel_of(page(desk, job), version)
    fit = panel[panel.index('<table class="fit">') :]

    assert '<th scope="col">Prusa MK4</th>' in fit
    assert '<th scope="col">Form 3</th>' in fit
    row = text(fit[fit.index("Whole part") : fit.index("</tr>", fit.index("Whole part"))])
    assert row == "Whole part 355.6 x 3.2 x 355.6 mm ✗ too big ✗ too big"


def test_the_fit_table_has_a_row_per_body(desk, make_job):
    job, version = job_with(make_job, "cube_and_sphere_same_name.3mf")
    analysed(version)

    fit = text(panel_of(page(desk, job), version).split('<table class="fit">')[1])

    assert "Whole part 92.8 x 40 x 40 mm ✓ fits ✓ fits" in fit
    assert "Body 1" in fit and "Body 2" in fit


def test_without_active_printers_it_says_so(desk, make_job, catalogue):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)
    type(catalogue["mk4"]).objects.update(active=False)

    shown = text(panel_of(page(desk, job), version))

    assert "No active printers: add one to see what fits." in shown


# --- the units check and the scale ----------------------------------------------------------------


def test_a_tiny_part_gets_the_units_warning_and_scale_buttons(desk, make_job):
    job, version = job_with(make_job, "unit_cube.STL")
    analysed(version)

    panel = panel_of(page(desk, job), version)
    shown = text(panel)

    assert "Units check: This part measures only 1 x 1 x 1 mm." in shown
    assert "Current scale: x1 (as drawn)" in shown
    assert f'action="{scale_url(job, version)}#analysis-{version.pk}"' in panel
    assert '<input type="hidden" name="scale" value="25.4">' in panel
    assert "Use x25.4 (inches) → 25.4 x 25.4 x 25.4 mm" in shown
    assert "Use x10 (centimetres) → 10 x 10 x 10 mm" in shown


def test_a_part_in_metres_is_offered_x1000(desk, make_job):
    job, version = job_with(make_job, "ADIS16480.STL")
    analysed(version)

    shown = text(panel_of(page(desk, job), version))

    assert "Use x1000 (metres) → 44 x 14 x 47 mm" in shown


def test_a_part_larger_than_every_printer_is_flagged(desk, make_job):
    job, version = job_with(make_job, "1002_tray_bottom.STL")
    analysed(version)

    shown = text(panel_of(page(desk, job), version))

    assert "this part is larger than every printer" in shown


def test_choosing_a_scale_rescales_the_figures_and_the_fit(desk, make_job):
    job, version = job_with(make_job, "unit_cube.STL")
    analysed(version)

    response = desk.post(scale_url(job, version), {"expected_version": 1, "scale": "25.4"})

    assert response.status_code == 302
    assert response["Location"] == reverse("desk:job", args=[job.reference])
    assert said(response) == [
        "unit_cube.STL v1 is now scaled x25.4: its sizes, fit and estimates use it."
    ]
    assert Analysis.objects.get(version=version).scale == Decimal("25.4")
    panel = panel_of(page(desk, job), version)
    shown = text(panel)
    assert "Scaled x25.4: the figures below, the fit and the estimates are at this scale." in shown
    assert "Size 25.4 x 25.4 x 25.4 mm" in shown
    assert "Volume 16.4 cm³" in shown
    assert "Units check" not in shown  # the scale settled it
    assert "Current scale: x25.4 Use" in shown
    assert "Use x1 (as drawn) → 1 x 1 x 1 mm" in shown
    assert re.search(r"disabled aria-disabled=\"true\">Use x25.4", panel)
    assert "Whole part 25.4 x 25.4 x 25.4 mm ✓ fits ✓ fits" in shown
    event = AuditEvent.objects.filter(job=job).latest("id")
    assert event.event == "scale_set"


def test_a_scale_can_be_undone(desk, make_job, staff):
    job, version = job_with(make_job, "unit_cube.STL")
    analysed(version, scale="25.4")

    response = desk.post(scale_url(job, version), {"expected_version": 1, "scale": "1"})

    assert response.status_code == 302
    assert Analysis.objects.get(version=version).scale == 1
    assert "Units check: This part measures only 1 x 1 x 1 mm." in text(page(desk, job))


@pytest.mark.parametrize("scale", ["0", "-2", "abc", "", "1000000"])
def test_a_scale_that_makes_no_sense_is_refused(desk, make_job, scale):
    job, version = job_with(make_job, "unit_cube.STL")
    analysed(version)

    response = desk.post(scale_url(job, version), {"expected_version": 1, "scale": scale})

    assert response.status_code == 302
    assert said(response) == ["Give a scale above 0, such as 25.4 for a part drawn in inches."]
    assert Analysis.objects.get(version=version).scale == 1
    assert Job.objects.get(pk=job.pk).version == job.version


def test_a_scale_from_a_stale_page_changes_nothing(desk, make_job, staff):
    job, version = job_with(make_job, "unit_cube.STL")
    analysed(version)
    actions.add_note(job=job, actor=staff, body="Moves the version on.")

    response = desk.post(scale_url(job, version), {"expected_version": 1, "scale": "25.4"})

    assert response.status_code == 302
    assert "changed since you loaded it" in said(response)[0]
    assert Analysis.objects.get(version=version).scale == 1


def test_a_finished_job_takes_no_scale_and_offers_none(desk, make_job):
    job, version = job_with(make_job, "unit_cube.STL", JobState.CANCELLED)
    analysed(version)

    html = page(desk, job)
    response = desk.post(scale_url(job, version), {"expected_version": job.version, "scale": "2"})

    assert 'name="scale"' not in html
    assert "Units check" in text(html)  # the warning still informs
    assert response.status_code == 302
    assert Analysis.objects.get(version=version).scale == 1


def test_the_scale_of_another_jobs_version_is_not_found(desk, make_job):
    _, version = job_with(make_job, "unit_cube.STL")
    other, _ = make_job()

    response = desk.post(scale_url(other, version), {"expected_version": 1, "scale": "25.4"})

    assert response.status_code == 404
    assert Analysis.objects.get(version=version).scale == 1


def test_a_bad_version_id_is_not_found(desk, make_job):
    job, _ = make_job()
    url = reverse("desk:file_scale", args=[job.reference, 987_654])

    assert desk.post(url, {"expected_version": 1, "scale": "2"}).status_code == 404


def test_setting_a_scale_only_answers_post(desk, make_job):
    job, version = job_with(make_job, "unit_cube.STL")

    assert desk.get(scale_url(job, version)).status_code == 405


def test_setting_a_scale_is_for_staff(client, make_job, stranger_user):
    job, version = job_with(make_job, "unit_cube.STL")
    data = {"expected_version": 1, "scale": "25.4"}

    anonymous = client.post(scale_url(job, version), data)
    client.force_login(stranger_user)
    stranger = client.post(scale_url(job, version), data)

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("desk:login"))
    assert stranger.status_code == 403
    assert Analysis.objects.get(version=version).scale == 1


# --- the quote composer's suggestions -------------------------------------------------------------


@pytest.fixture
def priced(catalogue):
    """PLA with prices to estimate with; the MK4 with its throughput."""
    pla, mk4 = catalogue["pla"], catalogue["mk4"]
    pla.price_per_cm3, pla.density_g_cm3 = Decimal("0.80"), Decimal("1.24")
    pla.setup_fee, pla.minimum_charge = Decimal("5.00"), Decimal("0")
    pla.save()
    mk4.throughput_cm3_h = Decimal("12")
    mk4.save()
    return catalogue


def composer_line(html: str, index: int) -> str:
    start = html.index(f'name="lines-{index}-description"')
    return html[start : html.index("</fieldset>", start)]


def test_a_line_with_an_analysed_file_gets_a_suggested_price(desk, make_job, priced):
    job, version = job_with(make_job, "20mm-xyz-cube.stl", quantity=3)
    report = analysed(version).report
    assert report is not None
    expected = advice.estimate(report, priced["pla"], [priced["mk4"]], quantity=3, scale=Decimal(1))
    assert expected is not None

    line = composer_line(page(desk, job), 0)
    shown = text(line)

    assert f"Suggested unit price: {expected.unit_price} EUR" in shown
    assert expected.unit_price == Decimal("6.35")  # 7.94 cm³ at 0.80 a cm³
    assert "(7.9 cm³, 9.8 g of PLA per part; about 1 h 59 min for 3 parts on Prusa MK4)" in shown
    assert "about 1 h 59 min for 3 parts on Prusa MK4" in shown
    assert 'data-use-price="6.35"' in line
    assert 'data-price-input="id_lines-0-unit_price"' in line
    assert ">Use suggested price</button>" in line


def test_the_setup_fee_is_suggested_once_per_material(desk, make_job, priced):
    job, _ = make_job(
        quantity=2,
        files=[sample_upload("20mm-xyz-cube.stl"), sample_upload("7_8ths_cube.stl")],
    )
    for job_file in job.files.all():
        analysed(job_file.versions.get())

    shown = text(page(desk, job))

    assert shown.count("Suggested setup fee for PLA: 5.00 EUR") == 1
    # 2 x 6.35 + 2 x 44.80 + 5.00
    assert "the suggested lines in PLA come to 107.30 EUR" in shown


def test_a_line_suggests_at_the_operators_scale(desk, make_job, priced):
    job, version = job_with(make_job, "unit_cube.STL", quantity=1)
    analysed(version, scale="25.4")

    shown = text(composer_line(page(desk, job), 0))

    assert "(16.4 cm³, 20.3 g of PLA per part; about 1 h 22 min for 1 part on Prusa MK4)" in shown
    assert "Suggested unit price: 13.11 EUR" in shown


def test_a_part_whose_units_are_in_doubt_gets_no_price_until_scaled(desk, make_job, priced):
    job, version = job_with(make_job, "unit_cube.STL")
    analysed(version)

    line = composer_line(page(desk, job), 0)

    assert "No suggestion until the part's size is settled: see the file's units check." in (
        text(line)
    )
    assert "data-use-price" not in line


def test_a_part_too_big_for_every_printer_still_gets_a_price_with_a_warning(desk, make_job, priced):
    job, version = job_with(make_job, "1002_tray_bottom.STL", quantity=1)
    analysed(version)

    shown = text(composer_line(page(desk, job), 0))

    assert "Suggested unit price: 278.29 EUR" in shown  # 347.9 cm³ at 0.80
    assert "larger than every printer: see the file's units check" in shown
    assert "on Prusa MK4" not in shown  # no printer to time it on


def test_without_prices_the_line_says_why_there_is_no_suggestion(desk, make_job):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)

    line = composer_line(page(desk, job), 0)

    assert "No suggestion: PLA has no price per cm³ or per gram." in text(line)
    assert "data-use-price" not in line


def test_a_file_still_being_analysed_has_no_suggestion_yet(desk, make_job, priced):
    job, _ = job_with(make_job, "20mm-xyz-cube.stl")

    line = composer_line(page(desk, job), 0)

    assert "No suggestion yet: the file is being analysed." in text(line)
    assert "data-use-price" not in line


def test_spare_lines_without_a_file_get_no_suggestion(desk, make_job, priced):
    job, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)

    html = page(desk, job)

    assert "Suggested unit price" not in composer_line(html, 1)
    assert html.count("Suggested unit price") == 1


def test_the_operators_price_is_the_one_sent(desk, make_job, priced):
    job, version = job_with(make_job, "20mm-xyz-cube.stl", quantity=3)
    analysed(version)

    response = post(desk, "job_send_quote", job, quote_data(job, "9.99"))

    assert response.status_code == 302
    quote = Job.objects.get(pk=job.pk).quotes.get()
    assert quote.lines.get().unit_price == Decimal("9.99")


def test_a_refused_composer_keeps_the_suggestion_for_what_was_typed(desk, make_job, priced):
    job, version = job_with(make_job, "20mm-xyz-cube.stl", quantity=3)
    analysed(version)

    data = {**quote_data(job, price=""), "lines-0-quantity": "10"}
    response = post(desk, "job_send_quote", job, data)

    assert response.status_code == 422
    shown = text(composer_line(response.content.decode(), 0))
    assert "Suggested unit price: 6.35 EUR" in shown
    assert "for 10 parts on Prusa MK4" in shown


# --- cost -----------------------------------------------------------------------------------------


def test_the_page_costs_the_same_queries_for_one_or_many_analysed_files(desk, make_job, priced):
    one, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    many, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl") for _ in range(4)])
    for job in (one, many):
        for job_file in job.files.all():
            analysed(job_file.versions.get())
    page(desk, one)  # warm the session

    counts = []
    for job in (one, many):
        with CaptureQueriesContext(connection) as queries:
            page(desk, job)
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_a_file_added_after_the_request_gets_a_panel(desk, make_job, staff):
    job, _ = make_job(files=[stl_upload("part.stl")])
    actions.revise_file(job=job, actor=staff, upload=sample_upload("unit_cube.STL"))
    extra = Job.objects.get(pk=job.pk).files.order_by("-id")[0].versions.get()
    analysed(extra)

    assert "Units check" in text(panel_of(page(desk, job), extra))
