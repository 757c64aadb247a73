"""The customer's status page: what we found in each file, in plain words, with its preview,
and (when the bureau turns it on, before any quote) an indicative price, never a binding one."""

import html as html_lib
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from printdesk.files import advice
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from tests.conftest import sample_upload
from tests.files import makers
from tests.files.analysed import analysed, failed, newest_version, running
from tests.portal.conftest import status_url

pytestmark = pytest.mark.django_db


def files_section(client, secret: str) -> str:
    response = client.get(status_url(secret))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="files-heading"')
    return html[start : html.index("</section>", start)]


def text(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def job_with(make_job, sample: str, state: JobState = JobState.SUBMITTED, **fields):
    job, secret = make_job(state, files=[sample_upload(sample)], **fields)
    return job, secret, newest_version(job)


# --- each state, in plain words -------------------------------------------------------------------


def test_a_good_file_is_said_to_look_ready_with_its_preview(client, make_job):
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)

    section = files_section(client, secret)

    assert "We checked your file: 20 x 20 x 20 mm, 7.9 cm³. It looks ready to print." in text(
        section
    )
    preview = reverse("portal:file_preview", args=[secret, version.pk])
    assert f'<img class="preview" src="{preview}" alt="Preview of 20mm-xyz-cube.stl"' in section


def test_the_page_reads_the_number_of_bodies_not_their_list(client, make_job):
    _, secret, version = job_with(make_job, "cube_and_sphere_same_name.3mf")
    analysed(version)

    with CaptureQueriesContext(connection) as queries:
        section = files_section(client, secret)

    assert "We checked your file" in text(section)
    read = [q["sql"] for q in queries.captured_queries if '"files_analysis"' in q["sql"]]
    assert read and all('"files_analysis"."bodies"' not in sql for sql in read)


@pytest.mark.parametrize("waiting", ["pending", "running"])
def test_a_file_being_checked_says_so(client, make_job, waiting):
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl")
    if waiting == "running":
        running(version)

    section = files_section(client, secret)

    assert "We're checking your file." in text(section)
    assert "<img" not in section


def test_a_file_we_could_not_read_says_why_and_offers_a_revision(client, make_job):
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl")
    failed(version, "The file holds no triangles: there is nothing to measure or print.")

    shown = text(files_section(client, secret))

    assert (
        "We couldn't read this file: The file holds no triangles: there is nothing to measure "
        "or print. You can upload a revised file."
    ) in shown


def test_once_revisions_are_closed_the_failure_does_not_offer_one(client, make_job):
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl", JobState.IN_PRODUCTION)
    failed(version, "The analysis ran out of time.")

    shown = text(files_section(client, secret))

    assert "We couldn't read this file: The analysis ran out of time." in shown
    assert "You can upload a revised file." not in shown


def test_a_step_file_is_checked_by_the_team(client, make_job):
    _, secret = make_job(files=[makers.upload("bracket.step", makers.step())])

    assert "STEP files are checked by our team." in text(files_section(client, secret))


def test_a_part_drawn_in_inches_is_explained(client, make_job):
    _, secret, version = job_with(make_job, "unit_cube.STL")
    analysed(version)

    shown = text(files_section(client, secret))

    assert "We checked your file: 1 x 1 x 1 mm, 0.001 cm³." in shown
    assert (
        "Your part is only 1 x 1 x 1 mm. If it was drawn in inches it would be "
        "25.4 x 25.4 x 25.4 mm; we'll confirm the size with you before quoting."
    ) in shown
    assert "ready to print" not in shown


def test_a_part_drawn_in_metres_is_explained(client, make_job):
    _, secret, version = job_with(make_job, "ADIS16480.STL")
    analysed(version)

    shown = text(files_section(client, secret))

    assert "Your part is only 0.044 x 0.014 x 0.047 mm." in shown
    assert "If it was drawn in metres it would be 44 x 14 x 47 mm;" in shown


def test_a_part_too_big_for_every_printer_is_explained(client, make_job):
    _, secret, version = job_with(make_job, "1002_tray_bottom.STL")
    analysed(version)

    shown = text(files_section(client, secret))

    assert (
        "Your part is 355.6 x 3.2 x 355.6 mm, larger than our printers can make in one piece. "
        "We'll confirm the size with you before quoting."
    ) in shown


def test_the_operators_scale_settles_the_units(client, make_job, operator):
    job, secret, version = job_with(make_job, "unit_cube.STL")
    analysed(version)
    actions.set_scale(
        job=job, actor=Actor.staff(operator), version_id=version.pk, scale=Decimal("25.4")
    )

    shown = text(files_section(client, secret))

    assert (
        "We checked your file: 25.4 x 25.4 x 25.4 mm, 16.4 cm³, at 25.4 times the size in the "
        "file. It looks ready to print."
    ) in shown
    assert "Your part is only" not in shown


def test_a_surface_with_gaps_gets_a_gentle_note(client, make_job):
    _, secret, version = job_with(make_job, "teapot.stl")
    analysed(version)

    shown = text(files_section(client, secret))

    assert "Its surface has gaps, so its volume is approximate." in shown
    assert "ready to print" not in shown


def test_the_customer_never_sees_the_operators_figures(client, make_job):
    _, secret, version = job_with(make_job, "cube_and_sphere_same_name.3mf")
    analysed(version)

    shown = text(files_section(client, secret))

    assert "We checked your file: 92.8 x 40 x 40 mm" in shown
    for internal in ("Triangles", "triangles", "Winding", "Body 1", "Prusa", "cm²", "fits"):
        assert internal not in shown


def test_only_the_newest_version_is_described(client, make_job):
    job, secret, first = job_with(make_job, "unit_cube.STL")
    analysed(first)
    actions.revise_file(
        job=job,
        actor=Actor.customer(),
        upload=sample_upload("20mm-xyz-cube.stl"),
        job_file_id=first.job_file_id,
    )
    analysed(newest_version(job))

    shown = text(files_section(client, secret))

    assert "We checked your file: 20 x 20 x 20 mm" in shown
    assert "1 x 1 x 1 mm" not in shown


# --- the indicative price -------------------------------------------------------------------------


@pytest.fixture
def priced(catalogue):
    pla, mk4 = catalogue["pla"], catalogue["mk4"]
    pla.price_per_cm3, pla.density_g_cm3, pla.setup_fee = Decimal("0.80"), Decimal("1.24"), 5
    pla.save()
    mk4.throughput_cm3_h = Decimal("12")
    mk4.save()
    return catalogue


def test_no_indication_unless_the_bureau_turns_it_on(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = False
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl")
    analysed(version)

    assert "Indicative price" not in files_section(client, secret)


def test_an_indication_before_the_quote_says_it_is_not_one(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    settings.PRINTDESK_ESTIMATE_RANGE_PERCENT = 20
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl", quantity=3)
    report = analysed(version).report
    assert report is not None
    estimate = advice.estimate(report, priced["pla"], [priced["mk4"]], quantity=3)
    assert estimate is not None and estimate.total == Decimal("24.05")  # 3 x 6.35 + 5.00

    shown = text(files_section(client, secret))

    assert (
        "Indicative price: About 19.24 to 28.86 EUR for 3 parts in PLA. This is an indication, "
        "not a quote: the bureau's quote is the price."
    ) in shown


def test_several_files_get_one_indication_with_one_setup_fee(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    _, secret = make_job(
        quantity=2, files=[sample_upload("20mm-xyz-cube.stl"), sample_upload("7_8ths_cube.stl")]
    )
    for version in [f.versions.get() for f in _job_files(secret)]:
        analysed(version)

    shown = text(files_section(client, secret))

    # 2 x 6.35 + 2 x 44.80 + 5.00 = 107.30, less and more 20 %
    assert "About 85.84 to 128.76 EUR for 2 parts of each file in PLA." in shown


def test_no_indication_once_quoted(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    _, secret, version = job_with(make_job, "20mm-xyz-cube.stl", JobState.QUOTED)
    analysed(version)

    assert "Indicative price" not in files_section(client, secret)


def test_no_indication_while_the_units_are_in_doubt(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    _, secret, version = job_with(make_job, "unit_cube.STL")
    analysed(version)

    assert "Indicative price" not in files_section(client, secret)


def test_no_indication_until_every_file_is_measured(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    _, secret = make_job(
        files=[sample_upload("20mm-xyz-cube.stl"), makers.upload("b.step", makers.step())]
    )
    analysed(_job_files(secret)[0].versions.get())

    assert "Indicative price" not in files_section(client, secret)


def _job_files(secret: str):
    from printdesk.jobs.models import job_for_link

    job = job_for_link(secret)
    assert job is not None
    return list(job.files.order_by("id"))


# --- cost -----------------------------------------------------------------------------------------


def test_the_page_costs_the_same_queries_for_one_or_many_files(client, make_job, priced, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    _, one = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    _, many = make_job(files=[sample_upload("20mm-xyz-cube.stl") for _ in range(4)])
    for secret in (one, many):
        for job_file in _job_files(secret):
            analysed(job_file.versions.get())

    client.get(status_url(one))  # the bureau's row, made on first use
    counts = []
    for secret in (one, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(status_url(secret)).status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
