from django.contrib import admin

from printdesk.catalogue.models import Material, Printer


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ["name", "process", "active"]


@admin.register(Printer)
class PrinterAdmin(admin.ModelAdmin):
    list_display = ["name", "process", "build_x_mm", "build_y_mm", "build_z_mm", "active"]
