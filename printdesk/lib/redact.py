"""Keep private job links out of the logs: a logging filter that redacts them from records.

A customer's link (`/j/<secret>/`, or the `X-Job-Link` header the API and tus take) is the
only key to their job, so a request log is a list of keys. settings.LOGGING puts this filter
on the loggers that write request lines (django.request, django.server) and on the project's
handlers, so whatever reaches a handler, or pytest's caplog, says `/j/[redacted]/` instead.

Written here rather than taken from a library: none redacts by pattern across message, args
and tracebacks, and it is a few lines. The same filter fits gunicorn's access log (its args
are a dict of atoms) if a deployment configures one through `logconfig_dict`.
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.utils.log import AdminEmailHandler

REDACTED = "[redacted]"
# The path segment after /j/, in a path, a full URL or a request line.
LINK_PATH = re.compile(r"(/j/)[^/\s?#\"'<>]+")
# A header written out as text: "X-Job-Link: ...", "HTTP_X_JOB_LINK': '...", x-job-link=...
LINK_HEADER = re.compile(r"(?i)(x[-_]job[-_]link['\"]?\s*[:=]\s*['\"]?)[^\s,;'\"}]+")


def redact(text: str, secret: str = "") -> str:
    """`text` with every link secret in it replaced (and `secret` wherever it appears)."""
    if secret:
        text = text.replace(secret, REDACTED)
    text = LINK_PATH.sub(r"\1" + REDACTED, text)
    return LINK_HEADER.sub(r"\1" + REDACTED, text)


def _header_secret(record: logging.LogRecord) -> str:
    """The X-Job-Link of the request a record is about (django.request passes the request)."""
    headers = getattr(getattr(record, "request", None), "headers", None)
    if not isinstance(headers, Mapping):
        return ""  # django.server's "request" is the socket; most records have none
    value = headers.get("X-Job-Link")
    return value if isinstance(value, str) and len(value) >= 8 else ""


def _path_secret(record: logging.LogRecord) -> str:
    """The link secret in the path of the request a record is about, if any."""
    path = getattr(getattr(record, "request", None), "path", None)
    found = LINK_PATH.search(path) if isinstance(path, str) else None
    return found.group(0)[len("/j/") :] if found else ""


class RedactedAdminEmailHandler(AdminEmailHandler):
    """Django's error email to ADMINS (text only), with link secrets redacted from its subject
    and body. Its report quotes the request's path, headers and every frame's local variables, and
    a portal view has the secret in a variable of its own, so the request's secrets (from the
    path and the X-Job-Link header) are replaced wherever they appear."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{**options, "include_html": False})  # the text report only

    def emit(self, record: logging.LogRecord) -> None:
        self._secrets = [s for s in (_header_secret(record), _path_secret(record)) if s]
        super().emit(record)

    def send_mail(self, subject: Any, message: Any, *args: Any, **kwargs: Any) -> None:
        def clean(text: Any) -> str:
            text = str(text)
            for secret in getattr(self, "_secrets", []):
                text = text.replace(secret, REDACTED)
            return redact(text)

        super().send_mail(clean(subject), clean(message), *args, **kwargs)


class RedactLinks(logging.Filter):
    """Redact link secrets from the message (with its arguments) and any traceback; never
    drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        secret = _header_secret(record)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: left for logging to report as it always does
            message = None
        # Judged on the whole message: a secret may straddle the format and its arguments
        # ("/j/%s/"). A record that needed redacting keeps its text, not its arguments.
        if message is not None and (cleaned := redact(message, secret)) != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secret)
        return True
