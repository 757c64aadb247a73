"""Rendering an outbox row: the bureau's signature, admins' overrides and their fallback, the
snapshot taken once, the private link filled in only when sending, and the cost."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from printdesk.catalogue.models import Bureau
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor, QuoteLineInput
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent, Job, link_secret
from printdesk.notifications import render
from printdesk.notifications.models import EmailTemplate, Notification
from tests.notifications.emails import every_email


def test_it_signs_with_the_bureaus_name_and_address_and_sets_reply_to(make_job):
    Bureau.objects.update_or_create(
        pk=Bureau.SINGLETON,
        defaults={"name": "Layer Works", "address": "1 Kiln Lane", "reply_to": "desk@layer.test"},
    )
    make_job()
    email = _email(Notification.objects.get(audience="customer"))
    assert "Layer Works\n1 Kiln Lane" in email.body
    assert email.reply_to == ["desk@layer.test"]


def test_it_sets_no_reply_to_when_the_bureau_has_none(make_job):
    make_job()
    email = _email(Notification.objects.get(audience="customer"))
    assert email.reply_to == []


def _email(notification: Notification):
    render.take_snapshot(notification)
    return render.to_email(notification)


def test_an_admins_override_is_used_for_the_emails_rendered_after_it(make_job):
    EmailTemplate.objects.create(
        name="customer/submitted",
        subject="Got it: {{ job.reference }}",
        text='{% extends "emails/layout.txt" %}{% block content %}Thanks, {{ job.customer_name }}!'
        "{% endblock %}",
        html='<p>Thanks, {{ job.customer_name }}! <a href="{{ link }}">Your job</a></p>',
    )
    job, secret = make_job()
    row = Notification.objects.get(job=job, audience="customer")
    email = _email(row)
    assert email.subject == f"Got it: {job.reference}"
    assert "Thanks, Cara Customer!" in email.body
    assert f"/j/{secret}/" in email.body  # the layout's link block, kept
    assert email.alternatives[0].content.startswith("<p>Thanks, Cara Customer!")
    assert f'href="http://127.0.0.1:8000/j/{secret}/"' in email.alternatives[0].content
    staff = _email(Notification.objects.get(job=job, audience="staff"))
    assert staff.subject != f"Got it: {job.reference}"  # other templates are untouched


def test_an_override_without_html_sends_its_text_escaped_as_the_html_part(make_job):
    EmailTemplate.objects.create(
        name="customer/submitted",
        subject="Got it",
        text="Hello {{ job.customer_name }}, your link: {{ link }}",
    )
    job, secret = make_job(customer_name="Ann <Bold>")
    html = _email(Notification.objects.get(job=job, audience="customer")).alternatives[0].content
    assert "Hello Ann &lt;Bold&gt;, your link:" in html
    assert f'<a href="http://127.0.0.1:8000/j/{secret}/">' in html


@pytest.mark.parametrize(
    "broken",
    [
        '{% include "emails/no-such-file.txt" %}',  # fails only when rendered
        "{% if %}",  # a syntax error that reached the table some other way
    ],
)
def test_a_broken_override_falls_back_to_the_shipped_text_and_is_logged(make_job, caplog, broken):
    EmailTemplate.objects.create(name="customer/submitted", subject="Hi", text=broken, html="")
    job, secret = make_job()
    with caplog.at_level(logging.ERROR, logger="printdesk.notifications.render"):
        email = _email(Notification.objects.get(job=job, audience="customer"))
    assert email.subject == f"[{job.reference}] We have received your request"
    assert f"/j/{secret}/" in email.body
    assert "override 'customer/submitted' failed" in caplog.text


def test_a_snapshot_is_taken_once_and_later_changes_do_not_alter_it(make_job):
    job, _ = make_job()
    row = Notification.objects.get(job=job, audience="customer")
    render.take_snapshot(row)
    first = (row.subject, row.body_text, row.body_html, row.rendered_at)
    EmailTemplate.objects.create(name="customer/submitted", subject="Changed", text="{{ link }}")
    again = Notification.objects.get(pk=row.pk)
    render.take_snapshot(again)
    assert (again.subject, again.body_text, again.body_html, again.rendered_at) == first


def test_an_email_sent_after_a_link_rotation_carries_the_new_link(make_job, operator):
    job, old_secret = make_job()
    row = Notification.objects.get(job=job, audience="customer", event="submitted")
    render.take_snapshot(row)
    actions.rotate_link(job=job, actor=Actor.staff(operator))
    body = render.to_email(Notification.objects.get(pk=row.pk)).body
    assert old_secret not in body
    assert f"/j/{link_secret(Job.objects.get(pk=job.pk))}/" in body


def test_a_placeholder_typed_by_a_customer_never_becomes_their_link_in_staff_mail(make_job):
    job, secret = make_job(notes=f"Please {render.LINK_PLACEHOLDER}")
    email = _email(Notification.objects.get(job=job, audience="staff"))
    assert render.LINK_PLACEHOLDER in email.body
    assert secret not in email.body + email.alternatives[0].content


def test_rendering_costs_a_fixed_number_of_queries_whatever_the_quote_size(
    make_job, operator, django_assert_max_num_queries
):
    job, _ = make_job()
    lines = [
        QuoteLineInput(
            description=f"Part {n}",
            material_id=job.material_id,
            quantity=1,
            unit_price=Decimal("2.00"),
            colour="black",
        )
        for n in range(25)
    ]
    actions.send_quote(
        job=job,
        actor=Actor.staff(operator),
        lines=lines,
        currency="EUR",
        lead_time_days=3,
        valid_until=timezone.localdate() + timedelta(days=7),
    )
    row = Notification.objects.select_related("job", "job__material", "audit_event").get(
        job=job, event="quote_sent"
    )
    Bureau.current()
    # The bureau, the override, the quote's lines (quote and materials joined), the update.
    with django_assert_max_num_queries(4):
        render.take_snapshot(row)
    assert "Part 24" in row.body_text


def test_a_copy_of_an_email_never_written_is_written_from_the_original_event(make_job, operator):
    job, secret = make_job(JobState.QUOTED)
    original = Notification.objects.get(job=job, event="quote_sent")
    resent = AuditEvent.objects.create(
        job=job, event="email_resent", actor_kind="operator", to_state=job.state, details={}
    )
    copy = Notification.objects.create(
        job=job,
        audit_event=resent,
        resend_of=original,
        event=original.event,
        audience=original.audience,
        recipient=original.recipient,
        next_attempt_at=timezone.now(),
    )
    email = _email(copy)
    assert email.subject == f"[{job.reference}] Your quote: 37.50 EUR"
    assert "Total: 37.50 EUR" in email.body
    assert f"/j/{secret}/" in email.body


def _snapshots_of(rows) -> dict:
    return {row.pk: (row.template, row.subject, row.body_text, row.body_html) for row in rows}


def _unwritten_rows() -> list[Notification]:
    """Every row without its snapshot, loaded as the worker's claim loads them."""
    Notification.objects.update(rendered_at=None, template="", subject="", body_text="")
    return list(
        Notification.objects.select_related("job", "job__material", "audit_event").order_by("id")
    )


def test_a_batch_costs_a_fixed_number_of_queries_and_says_what_rows_one_by_one_say(
    make_job, operator, django_assert_max_num_queries
):
    every_email(make_job, operator)  # every kind of email, each written on its own
    original = Notification.objects.filter(event="quote_sent").first()
    assert original is not None
    resent = AuditEvent.objects.create(
        job=original.job, event="email_resent", actor_kind="operator", to_state="quoted"
    )
    Notification.objects.create(  # a copy of an email, made before the original was written
        job=original.job,
        audit_event=resent,
        resend_of=original,
        event=original.event,
        audience=original.audience,
        recipient=original.recipient,
        next_attempt_at=timezone.now(),
    )
    one_by_one = []
    for row in _unwritten_rows():
        render.take_snapshot(row)
        one_by_one.append(row)
    rows = _unwritten_rows()
    assert len(rows) > 20
    # The bureau, the copies' originals, the quotes' lines, the dispatches, the overrides, and
    # the snapshots stored in one transaction (its savepoint, the statement, the release).
    with django_assert_max_num_queries(8):
        assert render.take_snapshots(rows) == {}
    assert _snapshots_of(rows) == _snapshots_of(one_by_one)
    stored = Notification.objects.filter(rendered_at__isnull=False)
    assert _snapshots_of(stored) == _snapshots_of(one_by_one)


def test_a_batch_keeps_a_snapshot_another_worker_stored_first(make_job):
    make_job()
    rows = _unwritten_rows()
    theirs = rows[0]
    Notification.objects.filter(pk=theirs.pk).update(
        subject="Theirs", body_text="Their text", body_html="", rendered_at=timezone.now()
    )
    assert render.take_snapshots(rows) == {}
    assert (theirs.subject, theirs.body_text) == ("Theirs", "Their text")  # not ours
    assert Notification.objects.get(pk=theirs.pk).subject == "Theirs"
    assert rows[1].subject.startswith("[PD-") and rows[1].rendered_at is not None


def test_a_row_that_cannot_be_written_does_not_stop_the_rest_of_its_batch(make_job):
    make_job()
    rows = _unwritten_rows()
    broken = rows[0]
    broken.event = "no_such_event"  # as if the template could not be rendered
    failed = render.take_snapshots(rows)
    assert list(failed) == [broken.pk] and broken.rendered_at is None
    assert not Notification.objects.get(pk=broken.pk).rendered_at
    assert rows[1].rendered_at is not None
