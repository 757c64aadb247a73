"""The operator desk under /desk/: each area keeps its own routes beside its views."""

from printdesk.desk import admin_pages, auth, job, queue

app_name = "desk"

urlpatterns = [
    *auth.urlpatterns,
    *queue.urlpatterns,
    *job.urlpatterns,
    *admin_pages.urlpatterns,
]

# --- Email templates (issue 5): the wording of emails, admins only. ---
from printdesk.desk import admin_email_templates  # noqa: E402  (its block, kept apart)

urlpatterns += admin_email_templates.urlpatterns

# --- Emails on the desk (issue 5): the admins' outbox of failed and dead emails. ---
from printdesk.desk import admin_outbox  # noqa: E402  (its block, kept apart)

urlpatterns += admin_outbox.urlpatterns

# --- API tokens (issue 6): each operator's own; admins see anyone's. ---
from printdesk.desk import tokens  # noqa: E402  (its block, kept apart)

urlpatterns += tokens.urlpatterns
