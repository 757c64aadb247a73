"""Structured logs: the request id and the job a log line is about, and one JSON object per line.

- `RequestContextMiddleware` gives every request an id (the proxy's `X-Request-ID` when it is
  trusted and well-formed, otherwise a new one), echoes it in the response, and notes the job
  the request concerns: the desk's and the API's `<reference>` URLs name it, and
  `jobs.models.job_for_link` sets it once a private link has opened a job.
- `job_context(job_id)` does the same in the worker, around one email or one file analysis.
- `RequestContext` (a filter on the handlers) puts both on every record; `JsonFormatter`
  writes records as JSON (`LOG_FORMAT=json`), `TextFormatter` as text with the ids appended.
- `GunicornLogger` writes gunicorn's request lines through the `printdesk.access` logger,
  with method, redacted path, status and duration as fields (gunicorn.conf.py uses it).

Nothing here imports Django models at module level: gunicorn's master process loads the
formatter before Django is set up.
"""

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_finished
from gunicorn import glogging

from printdesk.lib.redact import redact

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_job: contextvars.ContextVar[str] = contextvars.ContextVar("job", default="")

# Where the middleware leaves both for the access line, which gunicorn writes after the
# response is sent (Django's request.META is the WSGI environ gunicorn logs from).
ENVIRON_REQUEST_ID = "printdesk.request_id"
ENVIRON_JOB = "printdesk.job"
# Long enough to be unique, short and plain enough to be safe in a log line and a header:
# nginx's $request_id (32 hex digits), UUIDs, and the like.
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
REQUEST_FIELDS = ("method", "path", "status", "duration_ms")
ACCESS_LOG = logging.getLogger("printdesk.access")


def set_job(reference: str) -> None:
    """Mark the current request (or worker task) as concerning this job, e.g. PD-00042."""
    _job.set(reference)


def _reference(job_id: int) -> str:
    from printdesk.jobs.models import REFERENCE_PREFIX

    return f"{REFERENCE_PREFIX}{job_id:05d}"


@contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Log lines inside the block carry the job's reference (the worker, per email or file)."""
    token = _job.set(_reference(job_id))
    try:
        yield
    finally:
        _job.reset(token)


def current() -> tuple[str, str]:
    """(request id, job reference) of what is being done now; empty strings when none."""
    return _request_id.get(), _job.get()


# --- the request side -----------------------------------------------------------------------


def _incoming_id(request: Any) -> str:
    """The proxy's request id, only when a proxy is trusted (it overwrites what the client
    sent) and the value is well-formed; a client talking to us directly chooses nothing."""
    from django.conf import settings

    if settings.TRUSTED_PROXY_COUNT <= 0:
        return ""
    value = request.headers.get("X-Request-ID", "")
    return value if WELL_FORMED_ID.fullmatch(value) else ""


class RequestContextMiddleware:
    """Request id in, request id out; the job reference noted for the request's log lines.

    The context stays set until the response is closed (`request_finished`): Django logs a
    4xx or 5xx answer after the middleware has returned it.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request_id = _incoming_id(request) or uuid.uuid4().hex
        request.META[ENVIRON_REQUEST_ID] = request_id
        _request_id.set(request_id)
        _job.set("")
        try:
            response = self.get_response(request)
        finally:
            request.META[ENVIRON_JOB] = _job.get()
        response["X-Request-ID"] = request_id
        return response

    def process_view(self, request: Any, view: Any, args: Any, kwargs: dict) -> None:
        # The desk's job pages and the API's job endpoints name the job by reference.
        reference = kwargs.get("reference")
        if isinstance(reference, str):
            from printdesk.jobs.models import parse_reference

            number = parse_reference(reference)
            if number is not None:
                set_job(_reference(number))


def _forget(**kwargs: Any) -> None:
    """The request is over: later lines in this thread are about no request and no job."""
    _request_id.set("")
    _job.set("")


request_finished.connect(_forget, dispatch_uid="printdesk.lib.logs.forget")


# --- records --------------------------------------------------------------------------------


class RequestContext(logging.Filter):
    """Adds `request_id` and `job` to every record that does not carry its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, job = current()
        if not hasattr(record, "request_id"):
            record.request_id = request_id
        if not hasattr(record, "job"):
            record.job = job
        return True


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, job, and for
    request lines method, path, status and duration_ms; a traceback as `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            # RedactLinks has already run on the handler; again here so that a formatter
            # configured without it still never writes a link.
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "") or None,
            "job": getattr(record, "job", "") or None,
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                value = getattr(record, name)
                entry[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A plain line, with the request id and job appended where there are any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = [
            f"{name}={value}"
            for name in ("request_id", "job")
            if (value := getattr(record, name, ""))
        ]
        return f"{line} [{' '.join(extra)}]" if extra else line


# --- gunicorn's request lines ---------------------------------------------------------------


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, its access lines sent through Django's logging as `printdesk.access`
    records with fields, so they are JSON (or text), redacted and carry the request id."""

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        status = str(resp.status).split(None, 1)[0]
        method = environ.get("REQUEST_METHOD", "-")
        path = redact(environ.get("PATH_INFO", ""))
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        ACCESS_LOG.info(
            "%s %s %s %sms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "method": method,
                "path": path,
                "status": int(status) if status.isdigit() else status,
                "duration_ms": duration_ms,
                "request_id": environ.get(ENVIRON_REQUEST_ID, ""),
                "job": environ.get(ENVIRON_JOB, ""),
            },
        )
