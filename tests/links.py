"""Reading the private link out of a customer's email, as the customer would.

The database never holds a link: the email is rendered the way the worker renders it (the
snapshot, then the message with the link derived from the job's nonce).
"""

import re

from printdesk.notifications import render
from printdesk.notifications.models import Notification

LINK = re.compile(r"https?://\S+?/j/([\w-]+)/")


def emailed_link(notification: Notification) -> str:
    render.take_snapshot(notification)
    match = LINK.search(render.to_email(notification).body)
    assert match is not None, "the email carries no private link"
    return match.group(0)


def emailed_secret(notification: Notification) -> str:
    return emailed_link(notification).rstrip("/").rsplit("/", 1)[-1]
