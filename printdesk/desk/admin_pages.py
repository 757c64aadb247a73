"""Placeholder: the admin pages arrive with their own work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from printdesk.desk.access import admin_required


@admin_required
def admin_home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("admin")


urlpatterns = [path("admin/", admin_home, name="admin_home")]
