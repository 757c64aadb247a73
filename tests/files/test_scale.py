"""An operator's scale for a file drawn in other units (actions.set_scale): audited like a note,
refused like any action, and what the fit and the estimate are worked out at."""

from decimal import Decimal

import pytest

from printdesk.catalogue.models import Printer
from printdesk.files import advice, analysis
from printdesk.files.models import Analysis, FileVersion
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import Conflict, InvalidInput, JobChanged, NotAllowed
from printdesk.jobs.lifecycle import EventType, JobState
from tests.conftest import sample_upload
from tests.jobs.helpers import applies, assert_audit, refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(operator) -> Actor:
    return Actor.staff(operator)


@pytest.fixture
def cube_job(make_job, catalogue):
    """A job for one unit_cube.STL (1 x 1 x 1: drawn in inches), analysed."""
    pla = catalogue["pla"]
    pla.price_per_cm3, pla.setup_fee = Decimal("0.20"), Decimal(0)
    pla.save()
    job, _ = make_job(files=[sample_upload("unit_cube.STL")], quantity=1)
    analysis.drain()
    return job


def version_of(job) -> FileVersion:
    return FileVersion.objects.get(job_file__job=job)


def test_setting_a_scale_is_recorded_in_the_audit_trail_without_changing_the_state(cube_job, staff):
    version = version_of(cube_job)

    with applies(cube_job) as result:
        actions.set_scale(job=cube_job, actor=staff, version_id=version.pk, scale="25.4")

    assert result.job.state == JobState.SUBMITTED
    assert_audit(
        result.audit,
        event=EventType.SCALE_SET,
        actor=staff,
        from_state=JobState.SUBMITTED,
        to_state=JobState.SUBMITTED,
        details={
            "file_id": version.job_file_id,
            "file": "unit_cube.STL",
            "version": 1,
            "from": "1.0000",
            "to": "25.4000",
        },
    )
    assert result.sent_to == {}  # bookkeeping: nobody is emailed
    assert Analysis.objects.get(version=version).scale == Decimal("25.4")


def test_the_scale_changes_the_estimate_and_settles_the_units_warning(cube_job, staff, catalogue):
    printers = advice.printers_for(catalogue["pla"], Printer.objects.all())
    row = Analysis.objects.get(version=version_of(cube_job))
    report = row.report
    assert report is not None
    assert advice.units_advice(report, printers, row.scale) is not None
    before = advice.estimate(report, catalogue["pla"], printers, quantity=1, scale=row.scale)

    actions.set_scale(job=cube_job, actor=staff, version_id=row.version_id, scale=Decimal("25.4"))

    row.refresh_from_db()
    after = advice.estimate(report, catalogue["pla"], printers, quantity=1, scale=row.scale)
    assert before is not None and after is not None
    assert before.volume_cm3 == Decimal("0.00")
    assert after.volume_cm3 == Decimal("16.39")  # one cubic inch
    assert after.unit_price == Decimal("3.28")  # 16.387 cm³ x 0.20
    assert advice.units_advice(report, printers, row.scale) is None


def test_a_scale_is_kept_to_four_decimals(cube_job, staff):
    version = version_of(cube_job)

    scaled = actions.set_scale(job=cube_job, actor=staff, version_id=version.pk, scale="0.03937")

    assert scaled.scale == Decimal("0.0394")
    assert Analysis.objects.get(version=version).scale == Decimal("0.0394")


def test_setting_the_scale_back_to_one_is_recorded_too(cube_job, staff):
    version = version_of(cube_job)
    actions.set_scale(job=cube_job, actor=staff, version_id=version.pk, scale=10)

    actions.set_scale(job=cube_job, actor=staff, version_id=version.pk, scale=1)

    changes = [
        (a.details["from"], a.details["to"])
        for a in cube_job.audit_events.filter(event=EventType.SCALE_SET).order_by("id")
    ]
    assert changes == [("1.0000", "10.0000"), ("10.0000", "1.0000")]


@pytest.mark.parametrize("scale", ["0", "-25.4", "abc", "", "NaN", "Infinity", "100000", "0.00001"])
def test_a_scale_that_is_not_a_sensible_factor_is_refused(cube_job, staff, scale):
    with refused(cube_job, InvalidInput) as caught:
        actions.set_scale(
            job=cube_job, actor=staff, version_id=version_of(cube_job).pk, scale=scale
        )

    assert caught.value.field == "scale"


def test_a_version_of_another_job_is_refused(cube_job, make_job, staff):
    other, _ = make_job()

    with refused(cube_job, InvalidInput) as caught:
        actions.set_scale(job=cube_job, actor=staff, version_id=version_of(other).pk, scale=10)

    assert caught.value.field == "version_id"
    assert Analysis.objects.get(version=version_of(other)).scale == 1


def test_a_customer_cannot_set_the_scale(cube_job):
    with refused(cube_job, NotAllowed):
        actions.set_scale(
            job=cube_job, actor=Actor.customer(), version_id=version_of(cube_job).pk, scale=10
        )


def test_a_stale_page_is_told_the_job_changed(cube_job, staff):
    with refused(cube_job, JobChanged):
        actions.set_scale(
            job=cube_job,
            actor=staff,
            version_id=version_of(cube_job).pk,
            scale=10,
            expected_version=cube_job.version - 1,
        )


@pytest.mark.parametrize("state", [JobState.CANCELLED, JobState.DISPATCHED, JobState.DECLINED])
def test_an_ended_job_refuses_a_scale(make_job, staff, state):
    job, _ = make_job(state)

    with refused(job, Conflict):
        actions.set_scale(job=job, actor=staff, version_id=version_of(job).pk, scale=10)


def test_a_version_without_an_analysis_row_gets_one_with_the_scale(make_job, staff):
    job, _ = make_job()
    version = version_of(job)
    Analysis.objects.filter(version=version).delete()  # stored before analysis existed

    scaled = actions.set_scale(job=job, actor=staff, version_id=version.pk, scale=10)

    assert scaled.state == "pending" and scaled.scale == 10
