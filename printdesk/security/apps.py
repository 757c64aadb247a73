from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "printdesk.security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        # Django's hook for "a login happened": the session lifetime counts from here.
        user_logged_in.connect(_stamp_session, dispatch_uid="printdesk_session_started")


def _stamp_session(sender, request, user, **kwargs) -> None:
    from printdesk.security.middleware import StaffIdleTimeoutMiddleware

    if request is not None and hasattr(request, "session"):
        StaffIdleTimeoutMiddleware.start(request)
