"""Django's admin shows jobs read-only: every change goes through the lifecycle actions,
and the audit trail can be neither edited nor deleted from here. Print runs, notes, files and
notifications are not registered at all: the desk's job page shows them."""

from django.contrib import admin

from printdesk.accounts.admin_site import admin_site
from printdesk.jobs.models import AuditEvent, Job, Quote


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Job, site=admin_site)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["reference", "customer_name", "state", "material", "quantity", "created_at"]
    list_filter = ["state", "material"]
    search_fields = ["customer_name", "customer_email", "notes"]
    exclude = ["link_hash"]


@admin.register(Quote, site=admin_site)
class QuoteAdmin(ReadOnlyAdmin):
    list_display = ["job", "version", "status", "total", "currency", "valid_until"]


@admin.register(AuditEvent, site=admin_site)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "job",
        "event",
        "actor_kind",
        "actor_user",
        "from_state",
        "to_state",
        "created_at",
    ]
    list_filter = ["event", "actor_kind"]
