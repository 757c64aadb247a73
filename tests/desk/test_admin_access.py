"""Who may open the desk's admin pages: admins only; operators get 403, visitors the login page.

Every admin URL is listed once here and checked for each kind of caller, the wrong methods,
ids that do not exist, and CSRF.
"""

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from printdesk.catalogue.models import Bureau, Material


@dataclass(frozen=True)
class Page:
    name: str
    needs: str | None  # which object's id the URL takes: "user", "material", "printer"
    methods: tuple[str, ...]  # the methods it answers


PAGES = [
    Page("admin_home", None, ("GET",)),
    Page("admin_operators", None, ("GET",)),
    Page("admin_invite", None, ("GET", "POST")),
    Page("admin_deactivate", "user", ("GET", "POST")),
    Page("admin_reactivate", "user", ("POST",)),
    Page("admin_change_role", "user", ("POST",)),
    Page("admin_send_link", "user", ("POST",)),
    Page("admin_materials", None, ("GET",)),
    Page("admin_material_new", None, ("GET", "POST")),
    Page("admin_material_edit", "material", ("GET", "POST")),
    Page("admin_printers", None, ("GET",)),
    Page("admin_printer_new", None, ("GET", "POST")),
    Page("admin_printer_edit", "printer", ("GET", "POST")),
    Page("admin_settings", None, ("GET", "POST")),
]
SHOWN = [page for page in PAGES if "GET" in page.methods]
WITH_IDS = [page for page in PAGES if page.needs]
IDS = {"user": "user_id", "material": "material_id", "printer": "printer_id"}


@pytest.fixture
def objects(catalogue, django_user_model):
    member = django_user_model.objects.create_user("otto", "otto@bureau.test", "pw", is_staff=True)
    return {"user": member, "material": catalogue["pla"], "printer": catalogue["mk4"]}


def url(page: Page, objects, pk: int | None = None) -> str:
    if page.needs is None:
        return reverse(f"desk:{page.name}")
    return reverse(f"desk:{page.name}", kwargs={IDS[page.needs]: pk or objects[page.needs].pk})


def call(client: Client, method: str, path: str):
    return getattr(client, method.lower())(path)


@pytest.mark.parametrize("page", SHOWN, ids=lambda page: page.name)
def test_admins_see_every_page(client, admin, objects, page):
    client.force_login(admin)

    response = client.get(url(page, objects))

    assert response.status_code == 200
    assert response.content.decode().count("<h1") == 1


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_operators_are_refused_every_page(client, operator, objects, page):
    client.force_login(operator)
    snapshot = (Bureau.current().name, Material.objects.get(pk=objects["material"].pk).name)

    for method in page.methods:
        assert call(client, method, url(page, objects)).status_code == 403

    objects["user"].refresh_from_db()
    assert objects["user"].is_active and not objects["user"].is_superuser
    assert snapshot == (Bureau.current().name, Material.objects.get(pk=objects["material"].pk).name)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_visitors_are_sent_to_log_in(client, objects, page):
    path = url(page, objects)
    for method in page.methods:
        response = call(client, method, path)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:login") + "?next=")


def test_logged_in_people_who_are_not_staff_are_refused(client, stranger_user):
    client.force_login(stranger_user)

    assert client.get(reverse("desk:admin_home")).status_code == 403


def test_a_deactivated_admin_is_sent_to_log_in(client, admin):
    client.force_login(admin)
    admin.is_active = False
    admin.save()

    response = client.get(reverse("desk:admin_home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_it_refuses_the_wrong_method(client, admin, objects, page):
    client.force_login(admin)
    wrong = [m for m in ("GET", "POST", "PUT", "DELETE") if m not in page.methods]

    for method in wrong:
        assert call(client, method, url(page, objects)).status_code == 405, method


@pytest.mark.parametrize("page", WITH_IDS, ids=lambda page: page.name)
def test_it_answers_404_for_an_unknown_id(client, admin, objects, page):
    client.force_login(admin)

    for method in page.methods:
        assert call(client, method, url(page, objects, pk=987654)).status_code == 404


@pytest.mark.parametrize("page", [p for p in WITH_IDS if p.needs == "user"], ids=lambda p: p.name)
def test_it_answers_404_for_someone_who_is_not_staff(client, admin, objects, stranger_user, page):
    client.force_login(admin)

    for method in page.methods:
        assert call(client, method, url(page, objects, pk=stranger_user.pk)).status_code == 404
    stranger_user.refresh_from_db()
    assert stranger_user.is_active and not stranger_user.is_superuser


@pytest.mark.parametrize("page", [p for p in PAGES if "POST" in p.methods], ids=lambda p: p.name)
def test_every_form_needs_its_csrf_token(admin, objects, page):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    form = {"role": "admin", "name": "Changed", "username": "x", "email": "x@bureau.test"}

    response = browser.post(url(page, objects), form)

    assert response.status_code == 403
    objects["user"].refresh_from_db()
    assert objects["user"].is_active and not objects["user"].is_superuser
    assert Bureau.current().name != "Changed"
