"""Admin pages for the wording of emails: every template, shipped or overridden, an editor
with a live preview, and "revert to the shipped text".

An override is checked before it is saved (syntax, and a trial render against a sample);
rendering still falls back to the shipped files if it fails later (notifications.render).
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from printdesk.desk.access import admin_required
from printdesk.jobs.lifecycle import Audience, EventType
from printdesk.notifications import render as emails
from printdesk.notifications.models import EmailTemplate

NO_LINK = (
    "A customer's email must carry their private link: keep the layout's link block "
    '({% extends "emails/layout.txt" %} without replacing {% block link %}) or write {{ link }}.'
)


@dataclass(frozen=True)
class TemplateRow:
    name: str
    url: str
    audience: str
    event_label: str
    override: EmailTemplate | None


def _name(audience: str, event: str) -> str:
    """The template an URL names; 404 for anything that is not one of them."""
    name = f"{audience}/{event}"
    if name not in emails.TEMPLATE_NAMES:
        raise Http404("No such email.")
    return name


def _describe(name: str) -> tuple[str, str]:
    audience, event = name.split("/", 1)
    return Audience(audience).label, EventType(event).label


class EmailTemplateForm(forms.Form):
    subject = forms.CharField(
        label="Subject",
        max_length=1000,
        widget=forms.TextInput(attrs={"spellcheck": "true"}),
    )
    text = forms.CharField(
        label="Plain text",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "true"}),
    )
    html = forms.CharField(
        label="HTML",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Leave empty to send the plain text, escaped, as the HTML part.",
    )

    def __init__(self, *args, template: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.template = template
        self.rendered: emails.Rendered | None = None

    def clean(self) -> dict:
        data = super().clean() or {}
        for part in emails.PARTS:
            error = emails.check_source(data.get(part) or "") if part in data else None
            if error:
                self.add_error(part, f"Template error: {error}")
        if self.errors:
            return data
        try:
            self.rendered = emails.render_parts(
                self.template, emails.sample_context(self.template), _source(data)
            )
        except Exception as error:  # what a broken override would do at send time
            self.add_error(None, f"This does not render: {error}")
            return data
        if self.template.startswith(f"{Audience.CUSTOMER}/"):
            if emails.LINK_PLACEHOLDER not in self.rendered.text:
                self.add_error("text", NO_LINK)
            if data.get("html", "").strip() and emails.LINK_PLACEHOLDER not in self.rendered.html:
                self.add_error("html", NO_LINK.replace("layout.txt", "layout.html"))
        return data


def _source(data: dict) -> dict[str, str]:
    return {part: data.get(part) or "" for part in emails.PARTS}


def _preview(rendered: emails.Rendered) -> dict[str, str]:
    """What the page shows: never anyone's real link."""
    return {
        "subject": rendered.subject,
        "text": emails.preview_link(rendered.text),
        "html": emails.preview_link(rendered.html),
    }


@admin_required
@require_GET
def email_templates(request: HttpRequest) -> HttpResponse:
    overrides = {row.name: row for row in EmailTemplate.objects.select_related("updated_by")}
    rows = []
    for name in emails.TEMPLATE_NAMES:
        audience, event_label = _describe(name)
        url = reverse("desk:admin_email_template", args=name.split("/", 1))
        rows.append(TemplateRow(name, url, audience, event_label, overrides.get(name)))
    return render(request, "desk/admin/email_templates.html", {"rows": rows})


@admin_required
@require_http_methods(["GET", "POST"])
def email_template_edit(request: HttpRequest, audience: str, event: str) -> HttpResponse:
    name = _name(audience, event)
    override = EmailTemplate.objects.filter(name=name).select_related("updated_by").first()
    shipped = emails.shipped_source(name)
    initial = shipped
    if override is not None:
        initial = {"subject": override.subject, "text": override.text, "html": override.html}
    form = EmailTemplateForm(request.POST or None, initial=initial, template=name)
    previewing = request.POST.get("intent") == "preview"
    if request.method == "POST" and form.is_valid() and not previewing:
        values = {**_source(form.cleaned_data), "updated_by_id": request.user.pk}
        EmailTemplate.objects.update_or_create(name=name, defaults=values)
        messages.success(request, f"Saved the wording of “{_describe(name)[1]}”.")
        return redirect("desk:admin_email_template", audience=audience, event=event)
    if form.is_bound:
        rendered = form.rendered
    else:
        rendered = emails.render_template(name, emails.sample_context(name))
    audience_label, event_label = _describe(name)
    context = {
        "form": form,
        "name": name,
        "audience": audience,
        "event": event,
        "audience_label": audience_label,
        "event_label": event_label,
        "override": override,
        "preview": _preview(rendered) if rendered else None,
    }
    return render(request, "desk/admin/email_template_form.html", context)


@admin_required
@require_POST
def email_template_preview(request: HttpRequest, audience: str, event: str) -> JsonResponse:
    """The live preview: the form's current text rendered against the sample, as JSON."""
    name = _name(audience, event)
    form = EmailTemplateForm(request.POST, template=name)
    if not form.is_valid() or form.rendered is None:
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        # Still show what renders (a missing link is an error, yet worth seeing).
        shown = _preview(form.rendered) if form.rendered else None
        return JsonResponse({"ok": False, "errors": errors, "preview": shown}, status=422)
    return JsonResponse({"ok": True, "errors": {}, "preview": _preview(form.rendered)})


# The HTML part, shown in the editor's sandboxed frame. Emails need inline styles (mail clients
# drop style sheets), which the site's own policy refuses, and a frame's srcdoc would inherit
# that policy: so the frame loads this URL, whose own policy allows inline styles and nothing
# else (no script, no request anywhere), sandboxes the document, and lets only our pages frame
# it.
PREVIEW_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)


@admin_required
@require_http_methods(["GET", "POST"])
@xframe_options_sameorigin
def email_template_preview_html(request: HttpRequest, audience: str, event: str) -> HttpResponse:
    """GET: the current wording's HTML part; POST: the form's typed wording's (the live
    preview posts the form into the frame)."""
    name = _name(audience, event)
    if request.method == "POST":
        form = EmailTemplateForm(request.POST, template=name)
        form.is_valid()
        rendered = form.rendered
    else:
        rendered = emails.render_template(name, emails.sample_context(name))
    html = _preview(rendered)["html"] if rendered else "<p>Nothing renders yet.</p>"
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_HTML_POLICY
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_POST
def email_template_revert(request: HttpRequest, audience: str, event: str) -> HttpResponse:
    name = _name(audience, event)
    deleted, _ = EmailTemplate.objects.filter(name=name).delete()
    if deleted:
        messages.success(request, f"“{_describe(name)[1]}” uses the shipped text again.")
    return redirect("desk:admin_email_template", audience=audience, event=event)


EMAIL = "admin/email-templates/<str:audience>/<str:event>/"

urlpatterns = [
    path("admin/email-templates/", email_templates, name="admin_email_templates"),
    path(EMAIL, email_template_edit, name="admin_email_template"),
    path(EMAIL + "preview/", email_template_preview, name="admin_email_template_preview"),
    path(
        EMAIL + "preview.html",
        email_template_preview_html,
        name="admin_email_template_preview_html",
    ),
    path(EMAIL + "revert/", email_template_revert, name="admin_email_template_revert"),
]
