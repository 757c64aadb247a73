from django.contrib import admin

from printdesk.accounts.admin_site import admin_site
from printdesk.catalogue.models import Bureau, Material, Printer


@admin.register(Material, site=admin_site)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ["name", "process", "price_per_cm3", "setup_fee", "minimum_charge", "active"]

    # Jobs, quotes and runs point at materials: retire one with `active` instead.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Printer, site=admin_site)
class PrinterAdmin(admin.ModelAdmin):
    list_display = ["name", "process", "build_x_mm", "build_y_mm", "build_z_mm", "active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Bureau, site=admin_site)
class BureauAdmin(admin.ModelAdmin):
    """The one settings row: editable, never added or removed."""

    list_display = ["name", "currency", "reply_to", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
