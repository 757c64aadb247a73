"""Customer-supplied text cannot add headers or recipients to an email (header injection).

Names, companies and notes reach subjects and bodies of both the customer's and the staff's
messages; a line break in them must never start a new header line.
"""

import email
import email.policy

from django.conf import settings

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications import sender
from tests.smtp import SMTPServer

INJECTED = "Eve\r\nBcc: victim@example.com\r\nX-Injected: yes"


def test_line_breaks_in_customer_text_add_no_header_and_no_recipient(make_job, smtp: SMTPServer):
    make_job(
        JobState.SUBMITTED,
        customer_name=INJECTED,
        customer_company=INJECTED,
        notes=INJECTED + "\r\n\r\nbody?",
    )
    while sender.drain().claimed:
        pass
    messages = smtp.messages
    assert len(messages) == 2
    assert sorted(recipient for m in messages for recipient in m.to) == sorted(
        ["cara@example.com", settings.STAFF_NOTIFICATION_EMAIL]
    )
    for message in messages:
        parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
        assert parsed["Bcc"] is None
        assert parsed["X-Injected"] is None
        # The text may show up inside the subject (folded, still one header), never as one.
        assert set(parsed.keys()) <= {
            "Content-Type",
            "MIME-Version",
            "Subject",
            "From",
            "To",
            "Reply-To",
            "Date",
            "Message-ID",
            "X-Peer",
            "X-MailFrom",
            "X-RcptTo",
        }, parsed.keys()
