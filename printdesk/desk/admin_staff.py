"""Admin pages for the bureau's staff: list, invite, deactivate, reactivate, change role, reset
two-factor login; and the page where an invited person chooses their password."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.views import PasswordResetConfirmView
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import TemplateView
from django_otp.plugins.otp_totp.models import TOTPDevice

from printdesk.accounts import staff, two_factor
from printdesk.accounts.models import ApiToken
from printdesk.accounts.staff import Role
from printdesk.desk.access import admin_required
from printdesk.desk.admin_forms import InviteForm, RoleForm


@dataclass(frozen=True)
class StaffRow:
    user: AbstractUser
    role: Role
    tokens: int  # unrevoked API tokens
    token_last_used: datetime | None
    is_you: bool
    two_factor: bool  # a confirmed authenticator app


def _staff_member(user_id: int):
    """The operator or admin an admin page acts on; 404 for anyone else."""
    return get_object_or_404(staff.staff_users(), pk=user_id)


def _display(user) -> str:
    return user.get_full_name() or user.get_username()


@admin_required
@require_GET
def operators(request: HttpRequest) -> HttpResponse:
    has_app = Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    users = list(staff.staff_users().annotate(has_app=has_app).order_by("-is_active", "username"))
    usage: dict[int, tuple[int, datetime | None]] = {
        row["user_id"]: (row["unrevoked"], row["last"])
        for row in ApiToken.objects.filter(user__in=[u.pk for u in users])
        .values("user_id")
        .annotate(
            unrevoked=Count("id", filter=Q(revoked_at__isnull=True)), last=Max("last_used_at")
        )
    }
    rows = [
        StaffRow(
            user=user,
            role=staff.role_of(user),
            tokens=usage.get(user.pk, (0, None))[0],
            token_last_used=usage.get(user.pk, (0, None))[1],
            is_you=user.pk == request.user.pk,
            two_factor=user.has_app,
        )
        for user in users
    ]
    return render(request, "desk/admin/operators.html", {"rows": rows, "Role": Role})


@admin_required
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = staff.invite(by=request.user, **form.cleaned_data)
        except staff.Refused as refused:
            form.add_error("username", refused.message)
            return render(request, "desk/admin/invite.html", {"form": form})
        user = invitation.user
        if invitation.sent:
            messages.success(
                request,
                f"Invited {_display(user)} as {staff.role_of(user).label.lower()}: "
                f"an email with a link to choose a password went to {user.email}.",
            )
        else:
            messages.warning(
                request,
                f"The account {user.get_username()} was created, but the invitation email "
                "could not be sent. Check the email settings, then use "
                "“Send set-password link”.",
            )
        return redirect("desk:admin_operators")
    return render(request, "desk/admin/invite.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deactivates."""
    user = _staff_member(user_id)
    if request.method == "GET":
        return render(request, "desk/admin/deactivate.html", {"member": user})
    try:
        staff.deactivate(by=request.user, user=user)
    except staff.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            f"Deactivated {_display(user)}: they are logged out and their API tokens are revoked.",
        )
    return redirect("desk:admin_operators")


@admin_required
@require_POST
def reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _staff_member(user_id)
    staff.reactivate(by=request.user, user=user)
    messages.success(
        request, f"Reactivated {_display(user)}: they can log in again with their password."
    )
    return redirect("desk:admin_operators")


@admin_required
@require_POST
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _staff_member(user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose operator or admin.")
        return redirect("desk:admin_operators")
    role = Role(form.cleaned_data["role"])
    try:
        staff.change_role(by=request.user, user=user, role=role)
    except staff.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{_display(user)} is now {role.label.lower()}.")
    return redirect("desk:admin_operators")


@admin_required
@require_POST
def send_link(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _staff_member(user_id)
    if staff.send_set_password_link(by=request.user, user=user):
        messages.success(request, f"Sent a set-password link to {user.email}.")
    else:
        messages.error(request, "The email could not be sent; check the email settings.")
    return redirect("desk:admin_operators")


@admin_required
@require_http_methods(["GET", "POST"])
def reset_two_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET asks for confirmation; POST removes the member's app and recovery codes."""
    user = _staff_member(user_id)
    if request.method == "GET":
        context = {
            "member": user,
            "has_two_factor": two_factor.has_two_factor(user),
            "require_2fa": settings.PRINTDESK_REQUIRE_2FA,
        }
        return render(request, "desk/admin/reset_two_factor.html", context)
    try:
        reset = two_factor.reset(by=request.user, user=user)
    except staff.Refused as refused:
        messages.error(request, refused.message)
    else:
        if reset:
            messages.success(
                request,
                f"Reset the two-factor login of {_display(user)}: their app and recovery codes "
                "no longer work.",
            )
        else:
            messages.info(request, f"{_display(user)} had no two-factor login to reset.")
    return redirect("desk:admin_operators")


class SetPassword(PasswordResetConfirmView):
    """Django's own reset view: the link's token works once and expires
    (PASSWORD_RESET_TIMEOUT), and is moved out of the URL before the form is shown."""

    template_name = "desk/password/set.html"
    success_url = reverse_lazy("desk:set_password_done")

    def get_user(self, uidb64: str):
        user = super().get_user(uidb64)
        # A link sent before someone was deactivated must not let them back in.
        return user if user is not None and user.is_active and user.is_staff else None


urlpatterns = [
    path("admin/operators/", operators, name="admin_operators"),
    path("admin/operators/invite/", invite, name="admin_invite"),
    path("admin/operators/<int:user_id>/deactivate/", deactivate, name="admin_deactivate"),
    path("admin/operators/<int:user_id>/reactivate/", reactivate, name="admin_reactivate"),
    path("admin/operators/<int:user_id>/role/", change_role, name="admin_change_role"),
    path("admin/operators/<int:user_id>/send-link/", send_link, name="admin_send_link"),
    path(
        "admin/operators/<int:user_id>/two-factor/reset/",
        reset_two_factor,
        name="admin_reset_two_factor",
    ),
    path("password/set/<uidb64>/<token>/", SetPassword.as_view(), name="set_password"),
    path(
        "password/set/done/",
        TemplateView.as_view(template_name="desk/password/set_done.html"),
        name="set_password_done",
    ),
]
