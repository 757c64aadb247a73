"""The admin pages for materials and prices, printers, and the business settings."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from printdesk.catalogue.models import Bureau, Material, Printer

MATERIALS = reverse("desk:admin_materials")
NEW_MATERIAL = reverse("desk:admin_material_new")
PRINTERS = reverse("desk:admin_printers")
NEW_PRINTER = reverse("desk:admin_printer_new")
SETTINGS = reverse("desk:admin_settings")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def page_text(response) -> str:
    return response.content.decode()


def material_form(**changes) -> dict:
    form = {
        "name": "PETG",
        "process": "fdm",
        "description": "Tough and food-safe",
        "colours": "black, clear , Black,, blue",
        "price_per_cm3": "0.12",
        "price_per_gram": "0",
        "density_g_cm3": "1.27",
        "setup_fee": "5.00",
        "minimum_charge": "15",
        "active": "on",
    }
    form.update(changes)
    return form


def printer_form(**changes) -> dict:
    form = {
        "name": "Bambu X1",
        "process": "fdm",
        "build_x_mm": "256",
        "build_y_mm": "256",
        "build_z_mm": "256",
        "throughput_cm3_h": "25",
        "active": "on",
    }
    form.update(changes)
    return form


def assert_error_beside(text: str, field: str, error: str) -> None:
    assert f'<p class="field-error" id="id_{field}_error">{error}' in text
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="id_{field}"[^>]*>', text)
    assert tag is not None
    assert f"id_{field}_error" in tag.group(0)
    assert 'aria-invalid="true"' in tag.group(0)


# Materials


def test_it_lists_materials_with_their_prices(
    admin_client, catalogue, django_assert_max_num_queries
):
    Material.objects.filter(pk=catalogue["pla"].pk).update(price_per_cm3=Decimal("0.085"))
    for n in range(20):
        Material.objects.create(name=f"Colour blend {n}", process="fdm", colours=["red"])
    Bureau.current()

    # Session, user, bureau, materials.
    with django_assert_max_num_queries(4):
        response = admin_client.get(MATERIALS)

    text = page_text(response)
    assert "PLA" in text and "Tough resin" in text
    assert "0.0850" in text
    assert "black, white" in text


def test_it_adds_a_material(admin_client, catalogue):
    response = admin_client.post(NEW_MATERIAL, material_form(), follow=True)

    assert "Saved PETG." in page_text(response)
    petg = Material.objects.get(name="PETG")
    assert petg.colours == ["black", "clear", "blue"]
    assert (petg.price_per_cm3, petg.setup_fee, petg.minimum_charge) == (
        Decimal("0.12"),
        Decimal("5.00"),
        Decimal("15"),
    )
    assert petg.active and petg.description == "Tough and food-safe"


def test_prices_default_to_zero(admin_client):
    admin_client.post(NEW_MATERIAL, material_form(price_per_cm3="", setup_fee="0"))

    assert not Material.objects.exists()  # an empty price is an error, not a silent zero
    material = Material.objects.create(name="ASA", process="fdm")
    assert material.price_per_cm3 == material.setup_fee == material.minimum_charge == 0


def test_it_edits_a_material_and_retires_it(admin_client, catalogue):
    pla = catalogue["pla"]
    page = admin_client.get(reverse("desk:admin_material_edit", args=[pla.pk]))
    assert 'value="black, white"' in page_text(page)

    admin_client.post(
        reverse("desk:admin_material_edit", args=[pla.pk]),
        material_form(name="PLA", colours="black", active=""),
    )

    pla.refresh_from_db()
    assert pla.colours == ["black"] and not pla.active
    assert pla.setup_fee == Decimal("5.00")


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": "pla"}, "name", "This name is already taken."),
        ({"name": ""}, "name", "This field is required."),
        ({"price_per_cm3": "-0.01"}, "price_per_cm3", "Enter zero or more."),
        ({"setup_fee": "-5"}, "setup_fee", "Enter zero or more."),
        ({"minimum_charge": "ten"}, "minimum_charge", "Enter a number."),
        ({"process": "laser"}, "process", "Select a valid choice."),
    ],
)
def test_it_keeps_every_material_input_when_one_is_wrong(
    admin_client, catalogue, changes, field, error
):
    form = material_form(**changes)

    response = admin_client.post(NEW_MATERIAL, form)

    assert response.status_code == 200
    text = page_text(response)
    assert_error_beside(text, field, error)
    for name in ("name", "description", "price_per_cm3", "setup_fee", "minimum_charge"):
        if name != field:
            assert f'value="{form[name]}"' in text
    assert 'value="black, clear , Black,, blue"' in text
    assert not Material.objects.filter(name__in=["PETG", "pla"]).exists()


def test_renaming_a_material_to_its_own_name_is_fine(admin_client, catalogue):
    pla = catalogue["pla"]

    response = admin_client.post(
        reverse("desk:admin_material_edit", args=[pla.pk]), material_form(name="PLA")
    )

    assert response.status_code == 302


def test_the_price_labels_name_the_bureau_currency(admin_client):
    Bureau.objects.update_or_create(pk=1, defaults={"name": "Layer Co", "currency": "GBP"})

    text = page_text(admin_client.get(NEW_MATERIAL))

    assert "Price per cm³ (GBP)" in text and "Setup fee (GBP)" in text


# Printers


def test_it_lists_printers_with_their_build_volumes(
    admin_client, catalogue, django_assert_max_num_queries
):
    for n in range(20):
        Printer.objects.create(
            name=f"Farm {n}", process="fdm", build_x_mm=200, build_y_mm=200, build_z_mm=200
        )
    Bureau.current()

    with django_assert_max_num_queries(4):
        text = page_text(admin_client.get(PRINTERS))

    assert "Prusa MK4" in text and "250 \u00d7 210 \u00d7 220 mm" in text  # multiplication signs


def test_it_adds_and_edits_a_printer(admin_client, catalogue):
    response = admin_client.post(NEW_PRINTER, printer_form(), follow=True)
    assert "Saved Bambu X1." in page_text(response)
    bambu = Printer.objects.get(name="Bambu X1")
    assert (bambu.build_x_mm, bambu.build_y_mm, bambu.build_z_mm) == (256, 256, 256)

    admin_client.post(
        reverse("desk:admin_printer_edit", args=[bambu.pk]),
        printer_form(build_z_mm="300", active=""),
    )

    bambu.refresh_from_db()
    assert bambu.build_z_mm == 300 and not bambu.active


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": "prusa mk4"}, "name", "This name is already taken."),
        ({"build_x_mm": "0"}, "build_x_mm", "Enter at least 1 mm."),
        ({"build_y_mm": "-20"}, "build_y_mm", "Enter at least 1 mm."),
        ({"build_z_mm": "12.5"}, "build_z_mm", "Enter a whole number."),
        ({"build_z_mm": ""}, "build_z_mm", "This field is required."),
    ],
)
def test_it_keeps_every_printer_input_when_one_is_wrong(
    admin_client, catalogue, changes, field, error
):
    form = printer_form(**changes)

    response = admin_client.post(NEW_PRINTER, form)

    assert response.status_code == 200
    text = page_text(response)
    assert_error_beside(text, field, error)
    for name in ("name", "build_x_mm", "build_y_mm", "build_z_mm"):
        if name != field:
            assert f'value="{form[name]}"' in text
    assert Printer.objects.count() == 2


# Business settings


def test_it_edits_the_business_settings_and_every_page_shows_them(admin_client, admin):
    response = admin_client.post(
        SETTINGS,
        {
            "name": "Layer Co",
            "address": "1 Filament Street\nLeeds",
            "currency": "gbp",
            "reply_to": "hello@layer.test",
        },
        follow=True,
    )

    assert "Saved the business settings." in page_text(response)
    bureau = Bureau.current()
    assert (bureau.name, bureau.currency, bureau.reply_to) == (
        "Layer Co",
        "GBP",
        "hello@layer.test",
    )
    assert bureau.address == "1 Filament Street\nLeeds"
    assert "Layer Co · desk" in page_text(admin_client.get(reverse("desk:admin_home")))


def test_invitations_use_the_business_settings(admin_client):
    admin_client.post(
        SETTINGS,
        {"name": "Layer Co", "address": "Leeds", "currency": "EUR", "reply_to": "a@b.test"},
    )
    admin_client.post(
        reverse("desk:admin_invite"),
        {"username": "ivy", "name": "Ivy", "email": "ivy@bureau.test", "role": "operator"},
    )

    assert mail.outbox[0].reply_to == ["a@b.test"]
    assert "Layer Co" in mail.outbox[0].subject and "Leeds" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"currency": "EURO"}, "currency", "Ensure this value has at most 3 characters"),
        ({"currency": "E1R"}, "currency", "Enter a three-letter currency code"),
        ({"currency": ""}, "currency", "This field is required."),
        ({"reply_to": "not-an-address"}, "reply_to", "Enter a valid email address."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_it_keeps_the_settings_inputs_when_one_is_wrong(admin_client, changes, field, error):
    form = {"name": "Layer Co", "address": "Leeds", "currency": "GBP", "reply_to": "a@b.test"}
    form.update(changes)
    before = Bureau.current().name

    response = admin_client.post(SETTINGS, form)

    assert response.status_code == 200
    text = page_text(response)
    assert_error_beside(text, field, error)
    for name in ("name", "currency", "reply_to"):
        if name != field:
            assert f'value="{form[name]}"' in text
    assert Bureau.current().name == before


def test_the_settings_form_works_in_a_browser_that_checks_csrf(admin):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', page_text(browser.get(SETTINGS))
    )

    response = browser.post(
        SETTINGS,
        {"name": "Layer Co", "currency": "EUR", "csrfmiddlewaretoken": token.group(1)},
    )

    assert response.status_code == 302
    assert Bureau.current().name == "Layer Co"
