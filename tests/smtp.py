"""A real SMTP server for any test: aiosmtpd on 127.0.0.1, a free port, in a thread.

tests/conftest.py imports the fixture, so every suite can ask for it:

- `smtp`: a fresh server for one test, with Django's SMTP backend pointed at it (settings
  overrides, as EMAIL_URL=smtp://127.0.0.1:<port> would configure). It records every message
  it accepts, parsed (`smtp.messages`), and its behaviour can be switched mid-test:
  `accept()`, `fail_temporarily(times)` (4xx, then 2xx again), `refuse()` (5xx at DATA),
  `refuse_recipient(address)` (550 at RCPT), `stop()` / `start()` (down, then back on the same
  port), and `hold()` / `release()` (keep a message waiting before or after accepting it, so
  a test can kill the sender at that exact point).

A message is only recorded once the server answers 250 for it, as a real server takes
responsibility for it only then. A held message whose client disappears is never recorded,
unless it was held after acceptance (`hold(accept_first=True)`: the duplicate window).
"""

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Delivered:
    """One accepted message, as a mail client would read it."""

    message_id: str
    to: list[str]
    subject: str
    text: str
    html: str
    reply_to: str
    raw: bytes


def parse(raw: bytes, recipients: list[str]) -> Delivered:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Delivered(
        message_id=str(message["Message-ID"] or ""),
        to=recipients,
        subject=str(message["Subject"] or ""),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
        reply_to=str(message["Reply-To"] or ""),
        raw=raw,
    )


class Handler:
    """aiosmtpd's hooks: decide each answer from the mode a test set, record what is accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Delivered] = []
        self.temporary_failures = 0
        self.refusing = False
        self.refused_recipients: set[str] = set()
        self.hold_next = False
        self.hold_after = 0
        self.accept_before_hold = False
        self.held = threading.Event()
        self.released = threading.Event()
        self.sessions = 0  # EHLO or HELO greetings: one per connection a client opened

    async def handle_EHLO(self, server: SMTP, session: Session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address, _):
        if address in self.refused_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            hold = self.hold_next and self.hold_after == 0
            if self.hold_next and not hold:
                self.hold_after -= 1
            self.hold_next = self.hold_next and not hold
            if self.temporary_failures:
                self.temporary_failures -= 1
                return "451 4.3.0 Try again later"
            if self.refusing:
                return "554 5.7.1 Message rejected"
        content = envelope.content
        assert isinstance(content, bytes)
        delivered = parse(content, list(envelope.rcpt_tos))
        if hold and self.accept_before_hold:
            self._record(delivered)
        if hold:
            # Cancelled here if the client goes away: then the message was never accepted.
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.01)
        if not (hold and self.accept_before_hold):
            self._record(delivered)
        return "250 2.0.0 Accepted"

    def _record(self, delivered: Delivered) -> None:
        with self.lock:
            self.messages.append(delivered)


class SMTPServer:
    """The server a test drives: its address, its switches, and what it has accepted."""

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.handler = Handler()
        self.controller: Controller | None = None

    # --- up and down -----------------------------------------------------------------------

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname=self.host, port=self.port, server_hostname="smtp.test"
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # --- behaviour -------------------------------------------------------------------------

    def accept(self) -> None:
        with self.handler.lock:
            self.handler.temporary_failures = 0
            self.handler.refusing = False
            self.handler.refused_recipients.clear()

    def fail_temporarily(self, times: int) -> None:
        """Answer the next `times` messages with 451, then accept again."""
        with self.handler.lock:
            self.handler.temporary_failures = times

    def refuse(self) -> None:
        """Answer every message with 554 until `accept()`."""
        with self.handler.lock:
            self.handler.refusing = True

    def refuse_recipient(self, address: str) -> None:
        with self.handler.lock:
            self.handler.refused_recipients.add(address)

    def hold(self, *, after: int = 0, accept_first: bool = False) -> None:
        """Keep a message waiting for `release()`: the next one, or the one after `after` more.
        It waits before being accepted (a sender killed meanwhile has sent nothing), or with
        `accept_first` after being recorded but before the 250 answer (a sender killed
        meanwhile never learns that it was accepted)."""
        with self.handler.lock:
            self.handler.hold_next = True
            self.handler.hold_after = after
            self.handler.accept_before_hold = accept_first
            self.handler.held.clear()
            self.handler.released.clear()

    def wait_until_held(self, timeout: float = 30) -> None:
        assert self.handler.held.wait(timeout), "no message arrived to hold"

    def release(self) -> None:
        self.handler.released.set()

    # --- what arrived ----------------------------------------------------------------------

    @property
    def messages(self) -> list[Delivered]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def sessions(self) -> int:
        with self.handler.lock:
            return self.handler.sessions

    def message_ids(self) -> Counter[str]:
        return Counter(message.message_id for message in self.messages)

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivered]:
        """Until at least `count` messages were accepted (for senders in other processes)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} arrived"
            time.sleep(0.02)
        return self.messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings) -> Iterator[SMTPServer]:
    """A running SMTP server, and Django's SMTP backend pointed at it."""
    server = SMTPServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.release()  # a held message must not keep the server's loop from stopping
        server.stop()
