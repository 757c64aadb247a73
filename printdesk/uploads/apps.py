from django.apps import AppConfig


class UploadsConfig(AppConfig):
    """Resumable uploads: a tus 1.0.0 server at /uploads/."""

    name = "printdesk.uploads"
    default_auto_field = "django.db.models.BigAutoField"
