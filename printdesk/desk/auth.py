"""Staff login and logout, on Django's own views.

Around them (issue 6): failed logins count toward the lockout by username and client IP
(django-axes; a locked-out attempt gets this page again with the reason, from
printdesk.security.lockout), and a session ends after SESSION_COOKIE_AGE or
SESSION_IDLE_TIMEOUT idle (printdesk.security.middleware.StaffIdleTimeoutMiddleware).
"""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="desk/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    # POST only (Django's LogoutView): a link or a prefetch cannot log anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
