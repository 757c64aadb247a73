"""Writing an outbox row's email: the snapshot taken once, and the message sent from it.

Interface used by the sender and the desk (keep it stable):
- `snapshot(notification)` renders subject, text and HTML with the private link as
  LINK_PLACEHOLDER; `take_snapshot(notification)` stores that on the row once (never again);
  `take_snapshots(rows)` does it for a whole batch (the worker's), reading what the rows share
  once and storing the snapshots in one transaction.
- `to_email(notification)` builds the message from the stored snapshot, with the real link
  put back and a stable Message-ID.

Each email is three templates under templates/emails/ named after the row's template,
"<audience>/<event>": `.subject.txt`, `.txt` and `.html`, the last two extending
emails/layout.txt and emails/layout.html. An admin's EmailTemplate row replaces them; if it
fails to render, the shipped files are used and the failure logged. docs/email-templates.md
lists the context each template gets.
"""

import html
import logging
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from typing import cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connections, transaction
from django.db.models import Field, Q
from django.template import Context, Engine, Template, TemplateSyntaxError, engines
from django.template.backends.django import DjangoTemplates
from django.urls import reverse
from django.utils import timezone

from printdesk.catalogue.models import Bureau, Material
from printdesk.jobs.lifecycle import (
    CUSTOMER_NOTIFIED,
    STAFF_NOTIFIED_WHEN_CUSTOMER_ACTS,
    ActorKind,
    Audience,
    EventType,
    JobState,
)
from printdesk.jobs.models import (
    AuditEvent,
    Dispatch,
    DispatchMethod,
    Job,
    Quote,
    QuoteLine,
    QuoteStatus,
    link_secret,
)
from printdesk.notifications.models import EmailTemplate, Notification

log = logging.getLogger(__name__)

# Stands in for the private link in stored snapshots: the database never holds the link.
LINK_PLACEHOLDER = "[[printdesk:private-link]]"
# Every email that is written from a template, as "<audience>/<event>". A resend copies the
# snapshot of the email it resends, so EMAIL_RESENT has none.
TEMPLATE_NAMES: tuple[str, ...] = tuple(
    sorted(f"{Audience.CUSTOMER}/{event}" for event in CUSTOMER_NOTIFIED)
    + sorted(f"{Audience.STAFF}/{event}" for event in STAFF_NOTIFIED_WHEN_CUSTOMER_ACTS)
)
PARTS = ("subject", "text", "html")
SUFFIX = {"subject": ".subject.txt", "text": ".txt", "html": ".html"}
# Events whose audit details name the quote the email is about (the one of that event, not
# whatever is latest by the time the worker renders it).
QUOTE_VERSION_KEY = {
    EventType.QUOTE_SENT: "quote_version",
    EventType.QUOTE_ACCEPTED: "quote_version",
    EventType.QUOTE_DECLINED: "quote_version",
    EventType.FILE_REVISED: "superseded_quote_version",
}
WRAP = 76
BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_name(notification: Notification) -> str:
    return f"{notification.audience}/{notification.event}"


def _engine() -> Engine:
    """The project's Django template engine: its cached loader keeps shipped files compiled."""
    return cast(DjangoTemplates, engines["django"]).engine


def shipped_source(name: str) -> dict[str, str]:
    """The shipped templates' source for each part: what an override form starts from."""
    engine = _engine()
    return {part: engine.get_template(f"emails/{name}{SUFFIX[part]}").source for part in PARTS}


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """An override's part, compiled once per distinct source (they change rarely)."""
    return _engine().from_string(source)


def check_source(source: str) -> str | None:
    """The template syntax error in `source`, or None: overrides are refused when saved."""
    try:
        _compiled(source)
    except TemplateSyntaxError as error:
        return str(error)
    return None


# --- the context -------------------------------------------------------------------------------


def context_for(notification: Notification, bureau: Bureau | None = None) -> dict:
    """What the templates get: the job, the event as it happened, and links (see the docs).

    Reads the audit event and, for the events that have one, that event's quote and the
    dispatch: a handful of queries, none per quote line. A batch reads them once for all its
    rows (`_Shared`).
    """
    return _context(notification, _Shared.read([notification], bureau))


def _original_audit(notification: Notification, shared: "_Shared") -> AuditEvent:
    """The event the email is about: a copy made before its original was written is about
    the original's event."""
    if notification.resend_of_id is not None:
        return shared.originals[notification.resend_of_id]
    return notification.audit_event


@dataclass
class _Shared:
    """What the rows of one batch need besides themselves, read once for all of them: the
    bureau, the quotes (with their lines) and dispatches their events are about, the audit
    events of the originals of copies, and the "Lost your link?" address."""

    bureau: Bureau
    quotes: dict[tuple[int, int], tuple[Quote, list[QuoteLine]]]
    dispatches: dict[int, Dispatch]
    originals: dict[int, AuditEvent]
    lost_link_url: str

    @classmethod
    def read(cls, rows: Sequence[Notification], bureau: Bureau | None = None) -> "_Shared":
        originals: dict[int, AuditEvent] = {}
        copies = {n.resend_of_id for n in rows if n.resend_of_id is not None}
        for n in rows:  # the original already loaded with the copy: no query
            if n.resend_of_id in copies and Notification.resend_of.is_cached(n):
                originals[n.resend_of_id] = n.resend_of.audit_event  # type: ignore[union-attr]
        if copies - originals.keys():
            for original in Notification.objects.filter(
                pk__in=copies - originals.keys()
            ).select_related("audit_event"):
                originals[original.pk] = original.audit_event
        shared = cls(
            bureau=bureau or (_bureau(rows[0]) if rows else Bureau.current()),
            quotes={},
            dispatches={},
            originals=originals,
            lost_link_url=settings.SITE_URL + reverse("portal:lost_link"),
        )
        wanted: set[tuple[int, int]] = set()
        dispatched: set[int] = set()
        for n in rows:  # (a row that cannot be written fails on its own, in _context)
            key = QUOTE_VERSION_KEY.get(n.event)  # type: ignore[call-overload]
            if key is not None and (n.resend_of_id is None or n.resend_of_id in originals):
                version = (_original_audit(n, shared).details or {}).get(key)
                if version is not None:
                    wanted.add((n.job_id, version))
            elif n.event == EventType.DISPATCHED:
                dispatched.add(n.job_id)
        if wanted:
            # One query for every quote of the batch, its lines with it (a quote has lines).
            which = Q()
            for job_id, version in wanted:
                which |= Q(quote__job_id=job_id, quote__version=version)
            lines = QuoteLine.objects.filter(which).select_related("quote", "material")
            for line in lines.order_by("id"):
                quote_key = (line.quote.job_id, line.quote.version)
                if quote_key not in shared.quotes:
                    shared.quotes[quote_key] = (line.quote, [])
                shared.quotes[quote_key][1].append(line)
        if dispatched:
            shared.dispatches = {
                d.job_id: d for d in Dispatch.objects.filter(job_id__in=dispatched)
            }
        return shared


def _context(notification: Notification, shared: _Shared) -> dict:
    job = notification.job
    audit = _original_audit(notification, shared)
    event = EventType(notification.event)
    quote, lines = _quote(job, event, audit.details or {}, shared)
    return base_context(
        job=job,
        audience=Audience(notification.audience),
        event=event,
        audit=audit,
        bureau=shared.bureau,
        quote=quote,
        lines=lines,
        dispatch=shared.dispatches.get(job.pk) if event == EventType.DISPATCHED else None,
        has_link=link_secret(job) is not None,
        lost_link_url=shared.lost_link_url,
    )


def base_context(
    *,
    job: Job,
    audience: Audience,
    event: EventType,
    audit: AuditEvent,
    bureau: Bureau,
    quote: Quote | None = None,
    lines: list[QuoteLine] | None = None,
    dispatch: Dispatch | None = None,
    has_link: bool = True,
    lost_link_url: str | None = None,
) -> dict:
    details = audit.details or {}
    customer = audience == Audience.CUSTOMER
    return {
        "audience": audience.value,
        "event": event.value,
        "event_label": event.label,
        # The state the event left the job in: the job may have moved on before rendering.
        "state": audit.to_state,
        "state_label": JobState(audit.to_state).label,
        "job": job,
        "bureau": bureau,
        "details": details,
        "reason": details.get("reason", ""),
        "by_customer": audit.actor_kind == ActorKind.CUSTOMER,
        "quote": quote,
        "lines": lines or [],
        "dispatch": dispatch,
        "by_carrier": dispatch is not None and dispatch.method == DispatchMethod.CARRIER,
        # Customer emails: the link as a placeholder (filled in when sending), or, for a job
        # whose link cannot be derived, the "Lost your link?" page instead.
        "link": LINK_PLACEHOLDER if customer and has_link else "",
        "lost_link_url": lost_link_url or settings.SITE_URL + reverse("portal:lost_link"),
        # Staff emails: the job on the desk. Never the customer's link.
        "desk_url": ""
        if customer
        else settings.SITE_URL + reverse("desk:job", args=[job.reference]),
        "site_url": settings.SITE_URL,
    }


def _quote(
    job: Job, event: EventType, details: dict, shared: _Shared
) -> tuple[Quote | None, list[QuoteLine]]:
    """The quote the event was about, with its lines (read with the batch)."""
    key = QUOTE_VERSION_KEY.get(event)
    if key is None or details.get(key) is None:
        return None, []
    return shared.quotes.get((job.pk, details[key]), (None, []))


def _bureau(notification: Notification) -> Bureau:
    """The bureau, read once per notification: the snapshot and the message share it."""
    bureau = getattr(notification, "_printdesk_bureau", None)
    if bureau is None:
        bureau = Bureau.current()
        notification._printdesk_bureau = bureau  # type: ignore[attr-defined]
    return bureau


# --- rendering ---------------------------------------------------------------------------------


def _override(name: str) -> dict[str, str] | None:
    return EmailTemplate.objects.filter(name=name).values(*PARTS).first()


def _overrides(names: set[str]) -> dict[str, dict[str, str]]:
    """The admins' overrides of these templates, in one query: a batch reads them once."""
    rows = EmailTemplate.objects.filter(name__in=names).values("name", *PARTS)
    return {row.pop("name"): row for row in rows}


def render_parts(name: str, context: dict, source: dict[str, str] | None = None) -> Rendered:
    """Render one email: from `source` (subject/text/html template source) if given, else
    from the shipped files. Raises what the template raises; `render_template` falls back."""
    engine = _engine()

    text_only = source is not None and not source.get("html", "").strip()

    def template(part: str) -> Template:
        if part == "html" and text_only:  # an override without HTML: its text, as HTML
            return engine.get_template("emails/text_as_html.html")
        if source is not None:
            return _compiled(source[part])
        return engine.get_template(f"emails/{name}{SUFFIX[part]}")

    subject = " ".join(template("subject").render(Context(context, autoescape=False)).split())
    text = _tidy(template("text").render(Context(context, autoescape=False)))
    html_context = {**context, "subject": subject, "text": text}
    body_html = str(template("html").render(Context(html_context, autoescape=True)))
    if text_only:  # the link, plain text so far, becomes a link again
        anchor = f'<a href="{LINK_PLACEHOLDER}">{LINK_PLACEHOLDER}</a>'
        body_html = body_html.replace(LINK_PLACEHOLDER, anchor)
    return Rendered(subject=subject[:255], text=text, html=body_html)


_LOOK_IT_UP = object()


def render_template(name: str, context: dict, source: object = _LOOK_IT_UP) -> Rendered:
    """The override if there is one and it renders, else the shipped files. `source` is the
    override (or None) when the caller has already read it, as a batch does."""
    override = _override(name) if source is _LOOK_IT_UP else source
    if override is not None:
        try:
            return render_parts(name, context, cast(dict[str, str], override))
        except Exception:
            # A broken override must never stop an email: the shipped wording goes instead.
            log.exception("email template override %r failed; using the shipped files", name)
    return render_parts(name, context)


def snapshot(notification: Notification) -> Rendered:
    return render_template(template_name(notification), context_for(notification))


def _tidy(text: str) -> str:
    """Readable plain text: no runs of blank lines or trailing spaces, long lines wrapped.

    Lines are wrapped at spaces only, so links and the placeholder are never broken.
    """
    lines: list[str] = []
    for line in text.splitlines():
        line = line if line == "-- " else line.rstrip()  # keep the signature delimiter
        if len(line) > WRAP:
            lines.extend(_wrapper(line[: len(line) - len(line.lstrip())]).wrap(line))
        else:
            lines.append(line)
    return BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


@lru_cache(maxsize=16)
def _wrapper(indent: str) -> textwrap.TextWrapper:
    """textwrap.wrap's wrapper, made once per indent rather than once per long line."""
    return textwrap.TextWrapper(
        WRAP, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


SNAPSHOT_FIELDS = ("template", "subject", "body_text", "body_html", "rendered_at")


def take_snapshot(notification: Notification) -> None:
    """Render and store the snapshot unless the row already has one (retries reuse it).
    Raises what rendering raises."""
    if notification.rendered_at is not None:
        return
    failed = take_snapshots([notification])
    if failed:
        raise failed[notification.pk]


def take_snapshots(notifications: Sequence[Notification]) -> dict[int, Exception]:
    """`take_snapshot` for many rows at once, as the worker does for each batch it claims: what
    the rows share (the bureau, the overrides, the quotes with their lines, the dispatches) is
    read once for all of them, and the snapshots are stored in one transaction. A row that
    already has a snapshot keeps it; so does one whose snapshot another process stored first
    (theirs is read back, so every copy says the same).

    Returns {row id: the exception} for the rows that could not be rendered: they are left
    without a snapshot, and the others are written. Raises only if the shared reads or the
    store fail (then no row is written).
    """
    rows = [n for n in notifications if n.rendered_at is None]
    if not rows:
        return {}
    shared = _Shared.read(rows)
    overrides = _overrides({template_name(n) for n in rows})
    now = timezone.now()
    failed: dict[int, Exception] = {}
    snapshots: dict[int, dict] = {}
    for notification in rows:
        name = template_name(notification)
        try:
            parts = render_template(name, _context(notification, shared), overrides.get(name))
        except Exception as exc:
            failed[notification.pk] = exc
            continue
        snapshots[notification.pk] = {
            "template": name,
            "subject": parts.subject,
            "body_text": parts.text,
            "body_html": parts.html,
            "rendered_at": now,
        }
    if snapshots:
        stored = _store(snapshots)
        for notification in rows:  # set only once stored: a row never holds an unstored one
            for field, value in stored.get(notification.pk, {}).items():
                setattr(notification, field, value)
    return failed


def _store(snapshots: dict[int, dict]) -> dict[int, dict]:
    """Store the snapshots ({row id: fields}) on rows that have none yet, in one transaction
    (one prepared UPDATE, executed for every row), and return what each row holds now: ours,
    or one someone else stored first."""
    connection = connections[Notification.objects.db]
    sql, fields = _store_sql(connection.alias)
    params = [
        [field.get_db_prep_save(values[field.name], connection) for field in fields] + [pk]
        for pk, values in snapshots.items()
    ]
    if len(params) == 1:  # one row (a retry, or outside the worker): no transaction needed
        with connection.cursor() as cursor:
            cursor.execute(sql, params[0])
            stored = cursor.rowcount
    else:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.executemany(sql, params)
            stored = cursor.rowcount  # summed over the rows, by sqlite3 and psycopg alike
    if stored == len(snapshots):
        return snapshots
    # Someone stored some of them first: send theirs, so every copy says the same.
    rows = Notification.objects.filter(pk__in=snapshots).values("pk", *SNAPSHOT_FIELDS)
    return {values.pop("pk"): values for values in rows}


@lru_cache(maxsize=4)
def _store_sql(alias: str) -> tuple[str, list[Field]]:
    """UPDATE … SET <the snapshot> WHERE id = %s AND rendered_at IS NULL. Building the ORM's
    .update() once per row cost more CPU than running it; this is built once per process."""
    quote = connections[alias].ops.quote_name
    meta = Notification._meta
    fields = [cast(Field, meta.get_field(name)) for name in SNAPSHOT_FIELDS]
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    where = f"{quote(str(meta.pk.column))} = %s AND {quote('rendered_at')} IS NULL"  # type: ignore[union-attr]
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {where}", fields  # noqa: S608


def message_id(notification: Notification) -> str:
    """Stable per notification, so a provider or mail client can spot a repeat."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "printdesk.invalid"
    return f"<printdesk-notification-{notification.pk}@{domain}>"


def private_link(job: Job) -> str:
    """The job's link for its customer's email, or the "Lost your link?" page if it has none."""
    from printdesk.jobs.actions import customer_link  # actions imports the outbox: import late

    secret = link_secret(job)
    if secret is None:
        return settings.SITE_URL + reverse("portal:lost_link")
    return customer_link(secret)


def to_email(notification: Notification) -> EmailMultiAlternatives:
    """The message to send, from the stored snapshot (take_snapshot first)."""
    text, body_html = notification.body_text, notification.body_html
    # Only the customer's own email gets the link: a placeholder typed into a reason that
    # reaches staff stays as typed.
    if notification.audience == Audience.CUSTOMER and LINK_PLACEHOLDER in text + body_html:
        link = private_link(notification.job)
        text = text.replace(LINK_PLACEHOLDER, link)
        body_html = body_html.replace(LINK_PLACEHOLDER, html.escape(link))
    bureau = _bureau(notification)
    email = EmailMultiAlternatives(
        subject=notification.subject,
        body=text,
        to=[notification.recipient],
        reply_to=[bureau.reply_to] if bureau.reply_to else None,
        headers={"Message-ID": message_id(notification)},
    )
    if body_html:
        email.attach_alternative(body_html, "text/html")
    return email


# --- previews (the desk's template editor) -------------------------------------------------------


def sample_context(name: str) -> dict:
    """A context for previewing `name`: the latest real email of that kind if there is one,
    else a made-up job (unsaved objects: nothing is written)."""
    audience, event = name.split("/", 1)
    latest = (
        Notification.objects.filter(audience=audience, event=event)
        .select_related("job", "job__material", "audit_event")
        .order_by("-id")
        .first()
    )
    if latest is not None:
        return context_for(latest)
    return _made_up_context(name)


def _made_up_context(name: str) -> dict:
    audience, event = name.split("/", 1)
    pla = Material(name="PLA")
    job = Job(
        pk=42,
        customer_name="Cara Customer",
        customer_email="cara@example.com",
        customer_company="Cara's Cogs",
        material=pla,
        colour="black",
        quantity=4,
        notes="Matte finish, please.",
        state=JobState.SUBMITTED,
    )
    today = timezone.localdate()
    quote = Quote(
        job=job,
        version=2,
        status=QuoteStatus.CURRENT,
        currency="EUR",
        total=Decimal("38.00"),
        lead_time_days=5,
        valid_until=today + timedelta(days=14),
        message="Printed at 0.2 mm layers.",
    )
    lines = [
        QuoteLine(
            description="Bracket",
            material=pla,
            colour="black",
            quantity=4,
            unit_price=Decimal("8.00"),
        ),
        QuoteLine(description="Setup", material=pla, quantity=1, unit_price=Decimal("6.00")),
    ]
    details = {
        "files": ["bracket.stl"],
        "file": "bracket.stl",
        "version": 2,
        "quote_version": 2,
        "superseded_quote_version": 2,
        "reason": "The walls are too thin to print.",
    }
    audit = AuditEvent(
        job=job,
        event=event,
        actor_kind=ActorKind.CUSTOMER if audience == Audience.STAFF else ActorKind.OPERATOR,
        to_state=_STATE_AFTER.get(EventType(event), JobState.SUBMITTED),
        details=details,
    )
    dispatch = Dispatch(
        job=job, method=DispatchMethod.CARRIER, carrier="DHL", tracking_number="JD0146000"
    )
    return base_context(
        job=job,
        audience=Audience(audience),
        event=EventType(event),
        audit=audit,
        bureau=Bureau.current(),
        quote=quote if EventType(event) in QUOTE_VERSION_KEY else None,
        lines=lines if EventType(event) in QUOTE_VERSION_KEY else [],
        dispatch=dispatch if event == EventType.DISPATCHED else None,
    )


_STATE_AFTER = {
    EventType.QUOTE_SENT: JobState.QUOTED,
    EventType.QUOTE_ACCEPTED: JobState.ACCEPTED,
    EventType.QUOTE_DECLINED: JobState.QUOTE_DECLINED,
    EventType.REQUEST_DECLINED: JobState.DECLINED,
    EventType.PRODUCTION_STARTED: JobState.IN_PRODUCTION,
    EventType.READY: JobState.READY,
    EventType.DISPATCHED: JobState.DISPATCHED,
    EventType.CANCELLED: JobState.CANCELLED,
}


def preview_link(text: str) -> str:
    """A preview shows where the link goes without holding anyone's real link."""
    return text.replace(LINK_PLACEHOLDER, settings.SITE_URL + "/j/your-private-link/")
