"""One real email of every kind, made by driving jobs through the actual actions.

`every_email(make_job, operator)` returns {template name: Notification}, the snapshot taken
(as the worker takes it), for all 16 templates:
- a job taken from request to dispatch (customer: every step; staff: request, acceptance);
- a job whose customer revises the file, declines the new quote and cancels;
- a job the bureau declines; a link rotation, then the link sent again.
The first quote costs 12.50 a part, the second 20.00: a quote email must show its own.
"""

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.lib.demo import send_quote
from printdesk.notifications import render
from printdesk.notifications.models import Notification
from tests.conftest import stl_upload


def every_email(make_job, operator) -> dict[str, Notification]:
    staff, customer = Actor.staff(operator), Actor.customer()
    shipped, _ = make_job(JobState.DISPATCHED, customer_name="Cara <Customer> & Co")
    actions.rotate_link(job=shipped, actor=staff)
    actions.send_link(job=shipped, actor=Actor.system())

    revised, _ = make_job(JobState.QUOTED)
    actions.revise_file(job=revised, actor=customer, upload=stl_upload("bracket-v2.stl"))
    revised = send_quote(revised, staff, unit_price="20.00", message="Thicker walls <now>.")
    actions.decline_quote(
        job=revised, actor=customer, quote_version=2, reason="Too dear <b>now</b>"
    )
    actions.cancel(job=revised, actor=customer, reason="Found another bureau")

    declined, _ = make_job(JobState.SUBMITTED)
    actions.decline_request(job=declined, actor=staff, reason="Walls under 0.4 mm")

    emails: dict[str, Notification] = {}
    for row in Notification.objects.select_related("job", "job__material", "audit_event"):
        render.take_snapshot(row)
        emails.setdefault(row.template, row)  # the first of each kind: quote version 1
    return emails
