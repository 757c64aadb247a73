"""Admin pages for what the bureau offers: materials and prices, printers, business settings.

Nothing here is deleted: jobs, quotes and runs point at materials and printers, so retiring
one means unticking `active`.
"""

from django.contrib import messages
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from printdesk.catalogue.models import Bureau, Material, Printer
from printdesk.desk.access import admin_required
from printdesk.desk.admin_forms import BureauForm, MaterialForm, PrinterForm

EDIT = ["GET", "POST"]


def _edit(
    request: HttpRequest, form_class: type[ModelForm], instance, *, template: str, done: str
) -> HttpResponse:
    """Show the form; on a valid POST save it, say so and go back to the list."""
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Saved {saved}.")
        return redirect(done)
    return render(request, template, {"form": form, "creating": instance.pk is None})


@admin_required
@require_GET
def materials(request: HttpRequest) -> HttpResponse:
    listed = Material.objects.order_by("-active", "name")
    return render(request, "desk/admin/materials.html", {"materials": listed})


@admin_required
@require_http_methods(EDIT)
def material_new(request: HttpRequest) -> HttpResponse:
    return _edit(
        request,
        MaterialForm,
        Material(),
        template="desk/admin/material_form.html",
        done="desk:admin_materials",
    )


@admin_required
@require_http_methods(EDIT)
def material_edit(request: HttpRequest, material_id: int) -> HttpResponse:
    return _edit(
        request,
        MaterialForm,
        get_object_or_404(Material, pk=material_id),
        template="desk/admin/material_form.html",
        done="desk:admin_materials",
    )


@admin_required
@require_GET
def printers(request: HttpRequest) -> HttpResponse:
    listed = Printer.objects.order_by("-active", "name")
    return render(request, "desk/admin/printers.html", {"printers": listed})


@admin_required
@require_http_methods(EDIT)
def printer_new(request: HttpRequest) -> HttpResponse:
    return _edit(
        request,
        PrinterForm,
        Printer(),
        template="desk/admin/printer_form.html",
        done="desk:admin_printers",
    )


@admin_required
@require_http_methods(EDIT)
def printer_edit(request: HttpRequest, printer_id: int) -> HttpResponse:
    return _edit(
        request,
        PrinterForm,
        get_object_or_404(Printer, pk=printer_id),
        template="desk/admin/printer_form.html",
        done="desk:admin_printers",
    )


@admin_required
@require_http_methods(EDIT)
def settings_page(request: HttpRequest) -> HttpResponse:
    form = BureauForm(request.POST or None, instance=Bureau.current())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the business settings.")
        return redirect("desk:admin_settings")
    return render(request, "desk/admin/settings.html", {"form": form})


urlpatterns = [
    path("admin/materials/", materials, name="admin_materials"),
    path("admin/materials/new/", material_new, name="admin_material_new"),
    path("admin/materials/<int:material_id>/", material_edit, name="admin_material_edit"),
    path("admin/printers/", printers, name="admin_printers"),
    path("admin/printers/new/", printer_new, name="admin_printer_new"),
    path("admin/printers/<int:printer_id>/", printer_edit, name="admin_printer_edit"),
    path("admin/settings/", settings_page, name="admin_settings"),
]
