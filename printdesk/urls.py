from django.urls import include, path

from printdesk.accounts.admin_site import admin_site
from printdesk.api.api import api
from printdesk.health import healthz, readyz
from printdesk.metrics import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),  # issue 8 (H5): database, storage, queue ages
    path("metrics", metrics, name="metrics"),  # issue 8 (H5): only with PRINTDESK_METRICS_TOKEN
    path("api/v1/", api.urls),
    path("admin/", admin_site.urls),  # admins only: see printdesk/accounts/admin_site.py
    path("desk/", include("printdesk.desk.urls")),
    path("uploads/", include("printdesk.uploads.urls")),
    path("", include("printdesk.portal.urls")),
]
