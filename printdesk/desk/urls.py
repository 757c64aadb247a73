"""The operator desk under /desk/: each area keeps its own routes beside its views."""

from printdesk.desk import admin_pages, auth, job, queue

app_name = "desk"

urlpatterns = [
    *auth.urlpatterns,
    *queue.urlpatterns,
    *job.urlpatterns,
    *admin_pages.urlpatterns,
]
