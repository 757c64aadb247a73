from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The operator's pages: the queue, the job page, the admin pages."""

    name = "printdesk.desk"
    default_auto_field = "django.db.models.BigAutoField"
