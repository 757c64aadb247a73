from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "printdesk.security"
    default_auto_field = "django.db.models.BigAutoField"
