"""Django's admin, for admins only.

Django lets any `is_staff` user into its admin; at printdesk every operator is staff, so the
default site would let operators in. This site asks for a superuser (an admin) instead, both to
log in and for every page. Models register here (`@admin.register(Model, site=admin_site)`),
not on `django.contrib.admin.site`, which is not served at all.

Its login form takes a password only, so it refuses anyone with two-factor login: they log in
on the desk (password, then code) and open the admin from there, in the same session.

Staff accounts are deliberately not registered: inviting, deactivating and changing roles
happen on the desk's admin pages, which end sessions, revoke API tokens and keep one admin.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from printdesk.accounts import two_factor
from printdesk.accounts.roles import actor_kind_for
from printdesk.jobs.lifecycle import ActorKind


class AdminsOnlyLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not user.is_superuser:
            # The same words as a wrong password: the form does not tell who is an operator.
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        if not two_factor.password_is_enough(user):
            raise ValidationError(
                "Log in on the desk (two-factor login), then open the admin from there.",
                code="two_factor",
            )


class AdminsOnlySite(AdminSite):
    site_header = "printdesk admin"
    site_title = "printdesk admin"
    index_title = "Records (read-only where the lifecycle owns them)"
    login_form = AdminsOnlyLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return actor_kind_for(request.user) == ActorKind.ADMIN


admin_site = AdminsOnlySite(name="admin")
