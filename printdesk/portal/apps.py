from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The customer's pages: the request form, the status page behind the private link."""

    name = "printdesk.portal"
    default_auto_field = "django.db.models.BigAutoField"
