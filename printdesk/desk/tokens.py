"""API tokens on the desk: each operator lists, creates and revokes their own; admins see and
revoke anyone's from the operators page.

A new token's secret is in the one response that creates it (never in a redirect, a message
or the session, which would store it) and that response is not cached.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from printdesk.accounts import staff, tokens
from printdesk.accounts.models import ApiToken
from printdesk.desk.access import admin_required, is_admin, staff_required


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=tokens.NAME_MAX,
        help_text="What uses it, so you know which one to revoke later: “label printer”.",
    )


def _token_for(request: HttpRequest, token_id: int) -> ApiToken:
    """A token the caller may revoke: their own, or anyone's for an admin; 404 otherwise."""
    found = ApiToken.objects.select_related("user")
    if not is_admin(request):
        found = found.filter(user__pk=request.user.pk or 0)  # staff_required: never 0
    return get_object_or_404(found, pk=token_id)


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def my_tokens(request: HttpRequest) -> HttpResponse:
    """GET lists the caller's tokens; POST creates one and shows its secret, this once."""
    form = TokenForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            token, secret = tokens.issue(user=request.user, name=form.cleaned_data["name"])
            created = {"token": token, "secret": secret}
            form = TokenForm()
        else:
            status = 422
    context = {"tokens": tokens.tokens_of(request.user), "form": form, "created": created}
    return render(request, "desk/tokens.html", context, status=status)


@staff_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = _token_for(request, token_id)
    if tokens.revoke(by=request.user, token=token):
        messages.success(request, f"Revoked the token “{token.name}”: it works no more.")
    else:
        messages.info(request, f"The token “{token.name}” was revoked already.")
    if token.user_id == request.user.pk:
        return redirect("desk:tokens")
    return redirect("desk:admin_member_tokens", user_id=token.user_id)


@admin_required
@require_GET
def member_tokens(request: HttpRequest, user_id: int) -> HttpResponse:
    """An admin's view of one staff member's tokens, with Revoke on the live ones."""
    member = get_object_or_404(staff.staff_users(), pk=user_id)
    context = {"member": member, "tokens": tokens.tokens_of(member)}
    return render(request, "desk/tokens_member.html", context)


urlpatterns = [
    path("tokens/", my_tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", revoke, name="token_revoke"),
    path("admin/operators/<int:user_id>/tokens/", member_tokens, name="admin_member_tokens"),
]
