"""The admin pages for the wording of emails: the list, the editor with its live preview,
saving an override, refusing a broken one, and reverting to the shipped text."""

import pytest
from django.test import Client
from django.urls import reverse

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications import render
from printdesk.notifications.models import EmailTemplate, Notification

LIST = reverse("desk:admin_email_templates")
EDIT = reverse("desk:admin_email_template", args=["customer", "quote_sent"])
PREVIEW = reverse("desk:admin_email_template_preview", args=["customer", "quote_sent"])
REVERT = reverse("desk:admin_email_template_revert", args=["customer", "quote_sent"])
PAGES = [(LIST, ("GET",)), (EDIT, ("GET", "POST")), (PREVIEW, ("POST",)), (REVERT, ("POST",))]


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def wording(**changes) -> dict:
    """The form as an admin fills it in: a valid customer quote email."""
    form = {
        "subject": "Your quote {{ quote.total }} {{ quote.currency }}",
        "text": '{% extends "emails/layout.txt" %}{% block content %}Our price: '
        "{{ quote.total }}.{% endblock %}",
        "html": "",
    }
    form.update(changes)
    return form


def test_the_list_shows_every_email_shipped_or_changed(admin_client, admin):
    EmailTemplate.objects.create(name="staff/cancelled", subject="x", text="y", updated_by=admin)
    page = admin_client.get(LIST).content.decode()
    for name in render.TEMPLATE_NAMES:
        assert f"/desk/admin/email-templates/{name}/" in page
    assert page.count("Shipped") == len(render.TEMPLATE_NAMES) - 1
    assert "Changed by ada" in page
    assert 'aria-current="page">Email templates</a>' in page


def test_the_editor_starts_from_the_shipped_text_and_previews_it(admin_client):
    page = admin_client.get(EDIT).content.decode()
    assert "{% extends &quot;emails/layout.txt&quot; %}" in page  # the shipped source
    assert "Your quote: 38.00 EUR" in page  # a made-up job's quote, rendered
    assert "/j/your-private-link/" in page  # a stand-in, never anyone's link
    assert 'sandbox="" title="HTML part of the email"' in page
    assert "email-templates.js" in page and "<script>" not in page  # no inline script


def test_the_preview_uses_the_latest_real_email_of_its_kind(admin_client, make_job):
    job, secret = make_job(JobState.QUOTED, customer_name="Quinn")
    page = admin_client.get(EDIT).content.decode()
    assert job.reference in page and "Quinn" in page
    assert secret not in page


def test_saving_an_override_uses_it_for_the_next_emails(admin_client, admin, make_job):
    response = admin_client.post(EDIT, {**wording(), "intent": "save"})

    assert response.status_code == 302 and response["Location"] == EDIT
    saved = EmailTemplate.objects.get(name="customer/quote_sent")
    assert saved.updated_by == admin
    job, _ = make_job(JobState.QUOTED)
    row = Notification.objects.get(job=job, event="quote_sent")
    render.take_snapshot(row)
    assert row.subject == "Your quote 37.50 EUR"
    assert "Our price: 37.50." in row.body_text
    assert render.LINK_PLACEHOLDER in row.body_text
    assert "Your wording, saved by ada" in admin_client.get(EDIT).content.decode()


def test_an_override_with_a_syntax_error_is_refused_with_a_message(admin_client):
    response = admin_client.post(EDIT, {**wording(text="{% if %}broken"), "intent": "save"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Template error:" in page
    assert 'id="id_text_error"' in page
    assert "{% if %}broken" in page  # what was typed is kept
    assert not EmailTemplate.objects.exists()


def test_an_override_that_fails_to_render_is_refused(admin_client):
    text = '{% include "emails/no-such-file.txt" %}{{ link }}'
    response = admin_client.post(EDIT, {**wording(text=text), "intent": "save"})

    assert "This does not render" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_a_customer_email_without_the_link_is_refused(admin_client):
    response = admin_client.post(EDIT, {**wording(text="No link here."), "intent": "save"})

    assert "must carry their private link" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_the_preview_button_shows_the_typed_wording_without_saving(admin_client):
    response = admin_client.post(EDIT, {**wording(), "intent": "preview"})

    assert response.status_code == 200
    assert "Our price: 38.00." in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_the_preview_endpoint_renders_the_typed_wording_as_json(admin_client):
    answer = admin_client.post(PREVIEW, wording(html="<p>{{ job.customer_name }}</p>{{ link }}"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    assert body["preview"]["subject"] == "Your quote 38.00 EUR"
    assert "Our price: 38.00." in body["preview"]["text"]
    assert "/j/your-private-link/" in body["preview"]["text"]
    assert body["preview"]["html"].startswith("<p>Cara Customer</p>")
    assert not EmailTemplate.objects.exists()


def test_the_preview_endpoint_reports_errors_per_field(admin_client):
    answer = admin_client.post(PREVIEW, wording(subject="{{ job.reference|nosuchfilter }}"))

    assert answer.status_code == 422
    assert "Template error" in answer.json()["errors"]["subject"][0]


def test_revert_goes_back_to_the_shipped_text(admin_client, admin, make_job):
    EmailTemplate.objects.create(
        name="customer/quote_sent", subject="Mine", text="{{ link }}", updated_by=admin
    )
    response = admin_client.post(REVERT)

    assert response.status_code == 302 and response["Location"] == EDIT
    assert not EmailTemplate.objects.exists()
    job, _ = make_job(JobState.QUOTED)
    row = Notification.objects.get(job=job, event="quote_sent")
    render.take_snapshot(row)
    assert row.subject == f"[{job.reference}] Your quote: 37.50 EUR"


def test_staff_emails_need_no_customer_link(admin_client):
    url = reverse("desk:admin_email_template", args=["staff", "cancelled"])
    response = admin_client.post(url, {"subject": "Cancelled", "text": "Gone.", "intent": "save"})
    assert response.status_code == 302
    assert EmailTemplate.objects.get(name="staff/cancelled").html == ""


@pytest.mark.parametrize("name", ["customer/nope", "staff/quote_sent", "robots/submitted"])
def test_an_unknown_email_is_404(admin_client, name):
    audience, event = name.split("/")
    url = reverse("desk:admin_email_template", args=[audience, event])
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url + "preview/", wording()).status_code == 404
    assert admin_client.post(url + "revert/").status_code == 404


@pytest.mark.parametrize(("url", "methods"), PAGES)
def test_operators_are_refused(client, operator, url, methods):
    client.force_login(operator)
    for method in methods:
        assert getattr(client, method.lower())(url, wording()).status_code == 403
    assert not EmailTemplate.objects.exists()


@pytest.mark.parametrize(("url", "methods"), PAGES)
def test_visitors_are_sent_to_log_in(client, db, url, methods):
    for method in methods:
        response = getattr(client, method.lower())(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:login") + "?next=")


@pytest.mark.parametrize(("url", "methods"), PAGES)
def test_it_refuses_the_wrong_method(admin_client, url, methods):
    for method in {"GET", "POST", "PUT", "DELETE"} - set(methods):
        assert getattr(admin_client, method.lower())(url).status_code == 405, method


@pytest.mark.parametrize("url", [EDIT, PREVIEW, REVERT])
def test_every_post_needs_its_csrf_token(admin, url):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    assert browser.post(url, wording()).status_code == 403
