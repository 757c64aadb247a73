from django.contrib import admin
from django.urls import include, path

from printdesk.api.api import api
from printdesk.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("desk/", include("printdesk.desk.urls")),
    path("", include("printdesk.portal.urls")),
]
