"""Staff login and logout on Django's own views, with a second step for two-factor login.

Around them (issue 6): failed logins count toward the lockout by username and client IP
(django-axes; a locked-out attempt gets this page again with the reason, from
printdesk.security.lockout), and a session ends after SESSION_COOKIE_AGE or
SESSION_IDLE_TIMEOUT idle (printdesk.security.middleware.StaffIdleTimeoutMiddleware).

Two-factor login (printdesk.accounts.two_factor): someone with a confirmed authenticator app
who gives the right password is not logged in yet; the session holds a pending login and the
code page asks for a code from the app or a recovery code. Wrong codes count toward the same
lockout as wrong passwords. The two-factor page turns it on (QR code, then a code) and off.
"""

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from printdesk.accounts import two_factor
from printdesk.catalogue.models import Bureau
from printdesk.desk.access import staff_required
from printdesk.security import lockout

WRONG_CODE = "That code is not right, or it was used already."


class StaffLogin(auth_views.LoginView):
    """Django's LoginView; for someone with two-factor login, the password leads to the code
    page instead of logging in."""

    template_name = "desk/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form) -> HttpResponse:
        user = form.get_user()
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        two_factor.start_pending(self.request, user, next_url=self.get_redirect_url())
        return redirect("desk:login_code")


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=20,
        label="Code",
        help_text="The 6-digit code from your app, or a recovery code.",
        error_messages={"required": "Type the code from your app, or a recovery code."},
    )


class EnrolForm(CodeForm):
    code = forms.CharField(
        max_length=20,
        label="Code",
        help_text="The 6-digit code your app shows now.",
        error_messages={"required": "Type the code your app shows."},
    )


def _wait_message(seconds: int) -> str:
    return (
        f"Too many wrong codes for this account: wait {seconds} second"
        f"{'s' if seconds != 1 else ''}, then try again."
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The login's second step. Wrong codes count toward the lockout by username and IP, as
    wrong passwords do (django-axes; its middleware turns the answer to the attempt that
    reaches the limit into the lockout page)."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    found = two_factor.pending(request)
    if found is None:
        messages.info(request, "Log in with your username and password first.")
        return redirect("desk:login")
    user, details = found
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        two_factor.drop_pending(request)
        return lockout.locked_out(request, None, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        checked = two_factor.check_code(user, form.cleaned_data["code"])
        if checked.device is not None:
            two_factor.drop_pending(request)
            user.otp_device = checked.device  # django-otp records it in the session on login
            login(request, user, backend=details["backend"])
            return redirect(details["next"] or resolve_url(settings.LOGIN_REDIRECT_URL))
        form.add_error("code", _wait_message(checked.wait) if checked.wait else WRONG_CODE)
        # Every refused code counts, a guess while the device is throttled too.
        user_login_failed.send(__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            two_factor.drop_pending(request)  # start again from the password, later
    return render(request, "desk/login_code.html", {"form": form, "who": user})


# --- the two-factor page: turn it on, see it, turn it off ------------------------------------


class NewCodesForm(forms.Form):
    code = forms.CharField(
        max_length=20, label="Code", help_text="From your app, or a recovery code."
    )


class TurnOffForm(NewCodesForm):
    password = forms.CharField(widget=forms.PasswordInput, label="Your password")
    field_order = ["password", "code"]


def _next_page(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else ""


def _enrolment(request: HttpRequest, form: forms.Form) -> dict:
    device = two_factor.pending_device(request.user)
    url = two_factor.otpauth_url(device, Bureau.current().name)
    return {"qr": two_factor.qr_svg(url), "secret": two_factor.secret_text(device), "form": form}


def _two_factor_page(request: HttpRequest, status: int = 200, **context) -> HttpResponse:
    user = request.user
    context = {"next": _next_page(request), **context}
    if two_factor.has_two_factor(user):
        context.setdefault("off_form", TurnOffForm())
        context.setdefault("codes_form", NewCodesForm(auto_id="id_codes_%s"))
        context["codes_left"] = two_factor.recovery_codes_left(user)
        context["enabled"] = True
    elif "codes" not in context:
        context.update(_enrolment(request, context.pop("form", None) or EnrolForm()))
    return render(request, "desk/two_factor.html", context, status=status)


@staff_required
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """GET shows the state, or the QR code to set up; POST confirms the set-up with a code and
    shows the recovery codes, this once."""
    if request.method == "GET" or two_factor.has_two_factor(request.user):
        return _two_factor_page(request)
    form = EnrolForm(request.POST)
    if form.is_valid():
        codes = two_factor.confirm(user=request.user, code=form.cleaned_data["code"])
        if codes is not None:
            return _two_factor_page(request, codes=codes)
        form.add_error("code", WRONG_CODE)
    return _two_factor_page(request, form=form)


@staff_required
@sensitive_post_parameters("password", "code")
@require_POST
def two_factor_off(request: HttpRequest) -> HttpResponse:
    """Turn two-factor login off: the password and a current code, so a session left open
    is not enough. A wrong password counts toward the login lockout."""
    user = request.user
    if not two_factor.has_two_factor(user):
        messages.info(request, "Two-factor login is off already.")
        return redirect("desk:two_factor")
    form = TurnOffForm(request.POST)
    if form.is_valid():
        password = form.cleaned_data["password"]
        if authenticate(request, username=user.get_username(), password=password) is None:
            form.add_error("password", "That is not your password.")
        else:
            checked = two_factor.check_code(user, form.cleaned_data["code"])
            if checked.device is not None:
                two_factor.turn_off(user=user)
                messages.success(
                    request, "Two-factor login is off: your password alone logs you in."
                )
                return redirect("desk:two_factor")
            form.add_error("code", _wait_message(checked.wait) if checked.wait else WRONG_CODE)
    return _two_factor_page(request, off_form=form)


@staff_required
@sensitive_post_parameters("code")
@require_POST
def two_factor_codes(request: HttpRequest) -> HttpResponse:
    """A new set of recovery codes, shown this once, for a current code: the old set stops
    working (some used up, or a printout lost)."""
    user = request.user
    if not two_factor.has_two_factor(user):
        messages.info(request, "Two-factor login is off: there are no recovery codes to replace.")
        return redirect("desk:two_factor")
    form = NewCodesForm(request.POST, auto_id="id_codes_%s")
    if form.is_valid():
        checked = two_factor.check_code(user, form.cleaned_data["code"])
        if checked.device is not None:
            codes = two_factor.replace_recovery_codes(user=user)
            return _two_factor_page(request, codes=codes, renewed=True)
        form.add_error("code", _wait_message(checked.wait) if checked.wait else WRONG_CODE)
    return _two_factor_page(request, codes_form=form)


urlpatterns = [
    path("login/", StaffLogin.as_view(), name="login"),
    path("login/code/", login_code, name="login_code"),
    # POST only (Django's LogoutView): a link or a prefetch cannot log anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/", two_factor_page, name="two_factor"),
    path("two-factor/off/", two_factor_off, name="two_factor_off"),
    path("two-factor/codes/", two_factor_codes, name="two_factor_codes"),
]
