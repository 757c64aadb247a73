"""The desk's admin pages (admins only): the home page here, the sections beside it in
admin_staff.py (operators, set-password) and admin_catalogue.py (materials, printers,
business settings)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from printdesk.accounts.staff import staff_users
from printdesk.catalogue.models import Material, Printer
from printdesk.desk import admin_catalogue, admin_staff
from printdesk.desk.access import admin_required


@admin_required
@require_GET
def admin_home(request: HttpRequest) -> HttpResponse:
    counts = {
        "staff": staff_users().filter(is_active=True).count(),
        "materials": Material.objects.filter(active=True).count(),
        "printers": Printer.objects.filter(active=True).count(),
    }
    return render(request, "desk/admin/home.html", {"counts": counts})


urlpatterns = [
    path("admin/", admin_home, name="admin_home"),
    *admin_staff.urlpatterns,
    *admin_catalogue.urlpatterns,
]
