from django.urls import include, path

from printdesk.accounts.admin_site import admin_site
from printdesk.api.api import api
from printdesk.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin_site.urls),  # admins only: see printdesk/accounts/admin_site.py
    path("desk/", include("printdesk.desk.urls")),
    path("uploads/", include("printdesk.uploads.urls")),
    path("", include("printdesk.portal.urls")),
]
