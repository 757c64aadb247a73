"""The units check, fit per printer and estimates (printdesk/files/advice.py), on the samples.

The reports come from the real analysis of the sample files (mesh.analyse); the printers and
materials are the test catalogue's: a Prusa MK4 (FDM, 250 x 210 x 220 mm) and a Form 3 (SLA,
145 x 145 x 185 mm).
"""

from decimal import Decimal
from functools import cache

import pytest

from printdesk.catalogue.models import Material, Printer
from printdesk.files import advice
from printdesk.files.mesh import Report, analyse
from tests.conftest import SAMPLES

pytestmark = pytest.mark.django_db


@cache
def report(name: str) -> Report:
    return analyse(SAMPLES / name, name.rsplit(".", 1)[-1].lower()).report


@pytest.fixture
def fdm(catalogue) -> list[Printer]:
    return advice.printers_for(catalogue["pla"], Printer.objects.all())


def test_a_part_in_metres_is_flagged_tiny_and_x1000_suggested(fdm):
    units = advice.units_advice(report("ADIS16480.STL"), fdm)

    assert units is not None and units.problem == "tiny"
    assert [(s.factor, s.label) for s in units.scales] == [(Decimal(1000), "metres")]
    assert "metres" in units.message
    assert "47 mm" in units.message  # what it would measure at x1000


def test_a_one_millimetre_cube_suggests_inches_first_then_centimetres(fdm):
    units = advice.units_advice(report("unit_cube.STL"), fdm)

    assert units is not None and units.problem == "tiny"
    # x1000 would make a one-metre cube: no printer takes it, so it is not offered.
    assert [s.factor for s in units.scales] == [Decimal("25.4"), Decimal(10)]
    assert units.scales[0].text == "x25.4 (inches)"


def test_the_tray_does_not_fit_a_250_x_210_x_220_printer_in_any_orientation(catalogue):
    tray = report("1002_tray_bottom.STL")

    assert not advice.fits(advice.extents(tray), catalogue["mk4"])
    [row] = advice.fit_table(tray, [catalogue["mk4"]])
    assert row.fits == {catalogue["mk4"]: False}


def test_a_part_larger_than_every_printer_is_told_it_must_be_split(fdm):
    units = advice.units_advice(report("1002_tray_bottom.STL"), fdm)

    assert units is not None and units.problem == "huge"
    assert "split" in units.message
    # Shrunk by 25.4 it would be 0.13 mm thin, by 1000 a speck: neither is offered.
    assert units.scales == []


def test_a_huge_part_that_would_fit_in_other_units_is_offered_that_scale(db):
    small = Printer.objects.create(
        name="Mini", process="fdm", build_x_mm=180, build_y_mm=180, build_z_mm=180
    )

    units = advice.units_advice(report("counter.unitsmm.STL"), [small])

    assert units is not None and units.problem == "huge"
    assert [s.label for s in units.scales] == ["millimetres read as inches"]
    assert units.scales[0].factor == Decimal("0.0394")
    assert units.scales[0].text.startswith("÷25.4")


def test_a_plausible_part_gets_no_advice(fdm):
    assert advice.units_advice(report("20mm-xyz-cube.stl"), fdm) is None


def test_the_operators_scale_settles_the_advice(fdm):
    assert advice.units_advice(report("ADIS16480.STL"), fdm, scale=Decimal(1000)) is None


def test_fit_allows_turning_the_part(catalogue):
    mk4 = catalogue["mk4"]  # 250 x 210 x 220

    assert advice.fits((215.0, 240.0, 100.0), mk4)  # 240 along X, 215 up Z
    assert advice.fits((250.0, 210.0, 220.0), mk4)  # exactly the build volume
    assert not advice.fits((251.0, 10.0, 10.0), mk4)
    assert not advice.fits((230.0, 230.0, 230.0), mk4)  # only one side has room for 230


def test_the_fit_table_has_the_whole_part_then_each_body(catalogue):
    printers = [catalogue["mk4"], catalogue["form"]]

    rows = advice.fit_table(report("pyramids.3mf"), printers)  # 346.7 x 163.1 x 25 mm

    assert [row.name for row in rows] == ["Whole part"] + [f"Body {n}" for n in range(1, 13)]
    assert rows[0].fits == {catalogue["mk4"]: False, catalogue["form"]: False}
    # Each pyramid (45 x 48 x 25 mm) fits either printer on its own.
    assert all(row.fits == {catalogue["mk4"]: True, catalogue["form"]: True} for row in rows[1:])


def test_a_single_body_part_has_one_row_at_the_chosen_scale(catalogue):
    [row] = advice.fit_table(report("unit_cube.STL"), [catalogue["form"]], Decimal("25.4"))

    assert row.extents == pytest.approx((25.4, 25.4, 25.4))


# --- estimates --------------------------------------------------------------------------------


@pytest.fixture
def pla(catalogue) -> Material:
    material = catalogue["pla"]
    material.price_per_cm3 = Decimal("0.12")
    material.setup_fee = Decimal("5.00")
    material.minimum_charge = Decimal("10.00")
    material.density_g_cm3 = Decimal("1.24")
    material.save()
    catalogue["mk4"].throughput_cm3_h = Decimal("15")
    catalogue["mk4"].save()
    return material


def test_an_estimate_prices_volume_per_part_plus_one_setup_fee(pla, fdm):
    cube = report("7_8ths_cube.stl")  # 56 cm³ exactly

    found = advice.estimate(cube, pla, fdm, quantity=3)

    assert found is not None
    assert found.volume_cm3 == Decimal("56.00")
    assert found.grams == Decimal("69.4")  # 56 x 1.24
    assert found.unit_price == Decimal("6.72")  # 56 x 0.12
    assert found.total == Decimal("25.16")  # 3 x 6.72 + 5.00
    assert not found.minimum_applied
    assert found.printer is not None and found.printer.name == "Prusa MK4"
    assert found.print_hours == pytest.approx(56 * 3 / 15)  # 11.2 h
    assert found.notes == []


def test_a_price_per_gram_uses_the_density(pla, fdm):
    pla.price_per_cm3 = Decimal(0)
    pla.price_per_gram = Decimal("0.05")

    found = advice.estimate(report("7_8ths_cube.stl"), pla, fdm, quantity=1)

    assert found is not None
    assert found.unit_price == Decimal("3.47")  # 56 cm³ x 1.24 g/cm³ x 0.05 = 3.472


def test_the_minimum_charge_applies_to_a_small_job(pla, fdm):
    found = advice.estimate(report("20mm-xyz-cube.stl"), pla, fdm, quantity=1)

    assert found is not None
    assert found.unit_price == Decimal("0.95")  # 7.9387 cm³ x 0.12
    assert found.total == Decimal("10.00")
    assert found.minimum_applied


def test_the_scale_multiplies_the_volume_by_its_cube(pla, fdm):
    adis = report("ADIS16480.STL")

    as_drawn = advice.estimate(adis, pla, fdm, quantity=1)
    in_mm = advice.estimate(adis, pla, fdm, quantity=1, scale=Decimal(1000))

    assert as_drawn is not None and in_mm is not None
    assert as_drawn.volume_cm3 == Decimal("0.00")
    assert float(in_mm.volume_cm3) == pytest.approx(adis.volume_mm3 * 1e6, rel=1e-3)
    assert in_mm.volume_cm3 > 20  # a part of tens of cm³, as a 47 mm part is


def test_no_print_time_without_a_fitting_printer_of_known_throughput(pla, fdm):
    found = advice.estimate(report("1002_tray_bottom.STL"), pla, fdm, quantity=1)

    assert found is not None
    assert found.printer is None and found.print_hours is None


def test_an_open_mesh_is_estimated_with_a_warning(pla, fdm):
    found = advice.estimate(report("teapot.stl"), pla, fdm, quantity=1)

    assert found is not None
    assert "not closed" in found.notes[0]


def test_a_material_without_prices_gives_no_estimate(catalogue, fdm):
    assert advice.estimate(report("20mm-xyz-cube.stl"), catalogue["resin"], fdm, quantity=1) is None


def test_the_customer_range_is_the_setting_either_side(pla, fdm, settings):
    settings.PRINTDESK_ESTIMATE_RANGE_PERCENT = 20
    found = advice.estimate(report("7_8ths_cube.stl"), pla, fdm, quantity=3)

    assert found is not None
    assert advice.customer_range(found) == (Decimal("20.13"), Decimal("30.19"))


def test_a_job_of_several_files_pays_one_setup_fee(pla, fdm):
    cubes = [advice.estimate(report("7_8ths_cube.stl"), pla, fdm, quantity=1) for _ in range(2)]

    assert advice.job_total([e for e in cubes if e is not None], pla) == Decimal("18.44")


def test_without_printers_of_the_process_sizes_alone_decide(db):
    units = advice.units_advice(report("unit_cube.STL"), [])

    assert units is not None
    assert [s.label for s in units.scales] == ["inches", "centimetres", "metres"]
    assert advice.units_advice(report("1002_tray_bottom.STL"), []) is None  # nothing to fit
