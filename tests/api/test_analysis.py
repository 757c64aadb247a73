"""File analyses in the API: everything for staff (metrics, units advice, fit, estimate), plain
words and sizes for the customer, and POST .../versions/{n}/scale."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from printdesk.files import advice, analysis
from printdesk.files.models import Analysis, AnalysisState
from printdesk.jobs.lifecycle import EventType, JobState
from tests.api.conftest import snapshot
from tests.conftest import sample_upload
from tests.files.analysed import analysed
from tests.files.makers import step, upload


@pytest.fixture
def priced(catalogue):
    pla = catalogue["pla"]
    pla.price_per_cm3, pla.setup_fee, pla.minimum_charge = Decimal("0.12"), Decimal(5), 0
    pla.density_g_cm3 = Decimal("1.24")
    pla.save()
    catalogue["mk4"].throughput_cm3_h = Decimal(15)
    catalogue["mk4"].save()
    return catalogue


@pytest.fixture
def adis_job(make_job, priced):
    """A job for ADIS16480.STL (drawn in metres), two parts, analysed."""
    job, secret = make_job(files=[sample_upload("ADIS16480.STL")], quantity=2)
    analysis.drain()
    return job, secret


def file_version(body: dict) -> dict:
    [file] = body["files"]
    [version] = file["versions"]
    return version


def test_staff_see_each_versions_analysis(staff_api, adis_job, priced):
    job, _ = adis_job

    body = staff_api.get(f"/jobs/{job.reference}").json()

    version = file_version(body)
    shown = version["analysis"]
    assert (shown["state"], shown["state_label"], shown["reason"]) == ("done", "Analysed", "")
    assert Decimal(shown["scale"]) == 1
    metrics = shown["metrics"]
    assert (metrics["format"], metrics["triangles"], metrics["watertight"]) == (
        "stl-ascii",
        7436,
        True,
    )
    assert metrics["extents_mm"] == pytest.approx([0.044, 0.014, 0.047], abs=1e-3)
    assert metrics["extents_in"][0] == pytest.approx(metrics["extents_mm"][0] / 25.4)
    assert metrics["body_count"] == len(metrics["bodies"]) == 1
    units = shown["units"]
    assert units["problem"] == "tiny"
    assert [(Decimal(s["factor"]), s["label"]) for s in units["scales"]] == [
        (Decimal(1000), "metres")
    ]
    [whole] = shown["fit"]
    assert whole["name"] == "Whole part"
    assert whole["printers"] == [{"id": priced["mk4"].pk, "name": "Prusa MK4", "fits": True}]
    estimate = shown["estimate"]
    assert (estimate["material"], estimate["currency"], estimate["quantity"]) == ("PLA", "EUR", 2)
    assert Decimal(estimate["total"]) == Decimal("5.00")  # the setup fee: a speck costs nothing
    assert shown["preview_url"] == f"/desk/jobs/{job.reference}/files/{version['id']}/preview.png"
    assert shown["thumbnail_url"].endswith("/thumbnail.png")


def test_a_pending_analysis_shows_its_state_and_nothing_else(staff_api, make_job):
    job, _ = make_job()

    shown = file_version(staff_api.get(f"/jobs/{job.reference}").json())["analysis"]

    assert (shown["state"], shown["state_label"]) == ("pending", "Waiting for analysis")
    assert shown["metrics"] is None and shown["estimate"] is None and shown["fit"] == []
    assert shown["preview_url"] is None


def test_a_step_file_says_it_is_not_analysed(staff_api, make_job):
    job, _ = make_job(files=[upload("part.step", step())])

    shown = file_version(staff_api.get(f"/jobs/{job.reference}").json())["analysis"]

    assert (shown["state"], shown["state_label"]) == ("unsupported", "Not analysed (STEP)")


def test_a_failed_analysis_shows_its_reason(staff_api, make_job):
    job, _ = make_job()
    Analysis.objects.filter(version__job_file__job=job).update(
        state=AnalysisState.FAILED, reason="The file is cut short."
    )

    shown = file_version(staff_api.get(f"/jobs/{job.reference}").json())["analysis"]

    assert (shown["state"], shown["reason"]) == ("failed", "The file is cut short.")


# --- the customer -----------------------------------------------------------------------------


def test_the_customer_sees_sizes_and_the_units_warning_in_plain_words(customer_api, adis_job):
    job, secret = adis_job

    body = customer_api(secret).get("/customer/job").json()

    [file] = body["files"]
    shown = file["analysis"]
    assert (shown["version"], shown["state"], shown["state_label"]) == (1, "done", "Analysed")
    assert shown["size_mm"] == pytest.approx([0.044, 0.014, 0.047], abs=1e-3)
    assert (shown["bodies"], shown["watertight"]) == (1, True)
    assert "metres" in shown["warning"]
    assert shown["estimate_range"] is None  # PRINTDESK_SHOW_ESTIMATE is off
    version_id = job.files.get().versions.get().pk
    assert shown["preview_url"] == f"/j/{secret}/files/{version_id}/preview.png"
    # None of the bureau's own figures.
    assert not {"metrics", "fit", "estimate", "scale", "units"} & set(shown)


def test_the_customer_sees_an_indicative_range_when_the_bureau_shows_one(
    customer_api, make_job, priced, settings
):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    settings.PRINTDESK_ESTIMATE_RANGE_PERCENT = 20
    _, secret = make_job(files=[sample_upload("7_8ths_cube.stl")], quantity=3)
    analysis.drain()

    shown = customer_api(secret).get("/customer/job").json()["files"][0]["analysis"]

    # 3 x 56 cm³ x 0.12 + 5.00 = 25.16, less and more 20 %.
    assert shown["estimate_range"] == {"low": "20.13", "high": "30.19", "currency": "EUR"}


def test_no_range_is_shown_for_sizes_that_look_wrong(customer_api, adis_job, settings):
    settings.PRINTDESK_SHOW_ESTIMATE = True
    _, secret = adis_job

    shown = customer_api(secret).get("/customer/job").json()["files"][0]["analysis"]

    assert shown["warning"] and shown["estimate_range"] is None


# --- setting the scale ------------------------------------------------------------------------


def scale_path(job, number: int = 1) -> str:
    return f"/jobs/{job.reference}/files/{job.files.get().pk}/versions/{number}/scale"


def test_staff_set_the_scale_and_get_the_analysis_at_that_scale(staff_api, adis_job):
    job, _ = adis_job

    response = staff_api.post(scale_path(job), {"scale": "1000", "expected_version": job.version})

    assert response.status_code == 200
    body = response.json()
    shown = file_version(body)["analysis"]
    assert Decimal(shown["scale"]) == 1000
    assert shown["units"] is None  # 44 x 14 x 47 mm: plausible now
    assert shown["fit"][0]["extents_mm"] == pytest.approx([44.0, 14.0, 47.0], abs=1)
    assert Decimal(shown["estimate"]["volume_cm3"]) > 20
    assert body["audit"][-1]["event"] == EventType.SCALE_SET
    assert body["audit"][-1]["details"]["to"] == "1000.0000"
    assert body["state"] == JobState.SUBMITTED and body["version"] == job.version + 1


def test_the_customer_then_sees_the_part_at_that_scale(staff_api, customer_api, adis_job):
    job, secret = adis_job
    staff_api.post(scale_path(job), {"scale": "1000"})

    shown = customer_api(secret).get("/customer/job").json()["files"][0]["analysis"]

    assert shown["size_mm"] == pytest.approx([44.0, 14.0, 47.0], abs=1)
    assert shown["warning"] == ""


@pytest.mark.parametrize("scale", ["0", "-1", "1000000"])
def test_a_scale_that_makes_no_sense_is_refused_with_422(staff_api, adis_job, scale):
    job, _ = adis_job
    before = snapshot(job)

    response = staff_api.post(scale_path(job), {"scale": scale})

    assert response.status_code == 422
    assert response.json()["field"] == "scale"
    assert snapshot(job) == before


def test_a_scale_on_a_stale_version_of_the_job_is_refused_with_409(staff_api, adis_job):
    job, _ = adis_job

    response = staff_api.post(scale_path(job), {"scale": "10", "expected_version": job.version - 1})

    assert response.status_code == 409


def test_a_version_that_does_not_exist_is_404(staff_api, adis_job):
    job, _ = adis_job

    assert staff_api.post(scale_path(job, number=2), {"scale": "10"}).status_code == 404


def test_the_customer_cannot_set_a_scale(customer_api, adis_job):
    job, secret = adis_job

    response = customer_api(secret).post(scale_path(job), {"scale": "10"})

    assert response.status_code == 401
    assert Analysis.objects.get(version__job_file__job=job).scale == 1


def test_the_wrong_method_is_405(staff_api, adis_job):
    job, _ = adis_job

    assert staff_api.get(scale_path(job)).status_code == 405


# --- the list of bodies -----------------------------------------------------------------------


def analysis_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"files_analysis"' in q["sql"]]


def test_staff_get_each_body_and_the_customer_only_their_number(staff_api, customer_api, make_job):
    """The customer's view is polled every few seconds: it never reads the list of bodies
    (up to a thousand entries), only their count (Analysis.summary)."""
    job, secret = make_job(files=[sample_upload("cube_and_sphere_same_name.3mf")])
    analysed(job.files.get().versions.get())

    staff = staff_api.get(f"/jobs/{job.reference}").json()
    with CaptureQueriesContext(connection) as queries:
        customer = customer_api(secret).get("/customer/job").json()

    metrics = staff["files"][0]["versions"][0]["analysis"]["metrics"]
    assert metrics["body_count"] == 2 and len(metrics["bodies"]) == 2
    assert customer["files"][0]["analysis"]["bodies"] == 2
    [read] = analysis_queries(queries)
    assert '"files_analysis"."metrics"' in read and '"files_analysis"."bodies"' not in read


def test_the_job_lists_the_bodies_its_fit_table_checks_and_the_version_lists_them_all(
    staff_api, make_job, catalogue, monkeypatch
):
    """A job's detail carries the largest FIT_BODIES of each version (a file of loose triangles
    lists a thousand); the version's own analysis has every body the report lists."""
    monkeypatch.setattr(advice, "FIT_BODIES", 1)  # 1 instead of 25, with a file of 2 bodies
    job, _ = make_job(files=[sample_upload("cube_and_sphere_same_name.3mf")])
    version = job.files.get().versions.get()
    analysed(version)

    shown = file_version(staff_api.get(f"/jobs/{job.reference}").json())["analysis"]
    alone = staff_api.get(analysis_path(job)).json()

    assert [row["name"] for row in shown["fit"]] == ["Whole part", "Body 1"]
    assert shown["metrics"]["body_count"] == 2
    assert shown["metrics"]["bodies"] == alone["metrics"]["bodies"][:1]
    assert len(alone["metrics"]["bodies"]) == 2
    assert alone["metrics"]["bodies"][0]["volume_mm3"] > alone["metrics"]["bodies"][1]["volume_mm3"]
    assert alone["fit"] == shown["fit"] and alone["estimate"] == shown["estimate"]


def analysis_path(job, number: int = 1) -> str:
    file_id = job.files.get().pk
    return f"/jobs/{job.reference}/files/{file_id}/versions/{number}/analysis"


def test_a_versions_analysis_is_404_for_a_version_that_does_not_exist(staff_api, make_job):
    job, _ = make_job()

    response = staff_api.get(analysis_path(job, number=2))

    assert response.status_code == 404


def test_a_version_stored_before_analysis_existed_is_404_with_a_reason(staff_api, make_job):
    job, _ = make_job()
    Analysis.objects.filter(version__job_file__job=job).delete()

    response = staff_api.get(analysis_path(job))

    assert response.status_code == 404
    assert "not been queued" in response.json()["message"]
