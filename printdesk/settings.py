"""printdesk settings: one module, driven by environment variables (see .env.example).

With nothing set it runs on SQLite and local disk under ./var, which is what `make run` uses.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url

from printdesk.lib.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("PRINTDESK_VAR_DIR", str(BASE_DIR / "var")))
# The embedded default keeps its SQLite file, uploads and demo mail here: a fresh checkout must
# run without anyone creating it first.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
# issue 6 (S2): the "django-insecure-" prefix makes `check --deploy` refuse this public key.
SECRET_KEY = envstr("SECRET_KEY", "django-insecure-dev-only-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
BUREAU_NAME = envstr("BUREAU_NAME", "printdesk demo bureau")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' Swagger UI from our own static files, not a CDN
    "printdesk.accounts",
    "printdesk.catalogue",
    "printdesk.jobs",
    "printdesk.files",
    "printdesk.notifications",
    "printdesk.api",
    "printdesk.security",
    "printdesk.portal",
    "printdesk.desk",
    "printdesk.uploads",
    "printdesk.ops",  # issue 8: `backup` and `restore` (docs/operations.md); no models
    "axes",  # issue 6 (S2): login lockout by username and IP; see the security block below
    "csp",  # issue 6 (S2): Content-Security-Policy; see the security block below
    # Two-factor login for staff: app codes and recovery codes (printdesk/accounts/two_factor.py)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    # issue 8 (H5): first, so every answer (static files too) carries its X-Request-ID and
    # every log line of the request its id and job; whitenoise right after the security
    # headers, ahead of sessions, as its documentation asks.
    "printdesk.lib.logs.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "printdesk.security.middleware.SameOriginFormMiddleware",  # before CSRF: see its docstring
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # issue 6 (S2): the CSP header, the staff idle timeout (after auth), and axes last, so it
    # turns a locked-out login into its answer (see the security block below).
    "csp.middleware.CSPMiddleware",
    "printdesk.security.middleware.StaffIdleTimeoutMiddleware",
    "printdesk.accounts.middleware.RequireTwoFactorMiddleware",  # PRINTDESK_REQUIRE_2FA
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "printdesk.urls"
WSGI_APPLICATION = "printdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "printdesk.catalogue.context.bureau",
            ],
        },
    },
]


def _database() -> dict:
    default_sqlite = f"sqlite:///{VAR_DIR / 'printdesk.sqlite3'}"
    config = dict(dj_database_url.parse(envstr("DATABASE_URL", default_sqlite), conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # A web process and a worker write at once: WAL lets readers run beside the writer,
        # IMMEDIATE takes the write lock at BEGIN (so a transaction never fails half-way on
        # lock upgrade), and the busy timeout makes the loser wait instead of raising
        # "database is locked".
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
        # A file, not memory: the concurrency tests need WAL and real locks across threads.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    else:
        config["TEST"] = {"NAME": f"test_{config['NAME']}_{os.getpid()}"}
    # Per-process test databases let two test runs share a machine without clobbering each other.
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {  # issue 6 (S2): staff passwords of at least 12 characters
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": envint("PRINTDESK_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# issue 8 (H5): whitenoise serves what `collectstatic` put here, and warns on every start when
# the folder is missing (the test suite and `make run` never collect).
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))


def _s3_storage() -> dict:
    """django-storages' S3Storage for AWS S3 or any S3-compatible endpoint (MinIO, R2, moto)."""
    from boto3.s3.transfer import TransferConfig
    from django.core.exceptions import ImproperlyConfigured

    bucket = envstr("PRINTDESK_S3_BUCKET", "")
    if not bucket:
        raise ImproperlyConfigured("PRINTDESK_STORAGE=s3 needs PRINTDESK_S3_BUCKET.")
    chunk = envint("PRINTDESK_S3_MULTIPART_CHUNK_BYTES", 8 * 1024**2)
    threshold = envint("PRINTDESK_S3_MULTIPART_THRESHOLD_BYTES", 8 * 1024**2)
    if chunk < 5 * 1024**2:
        # S3 refuses parts under 5 MiB (all but the last part).
        raise ImproperlyConfigured("PRINTDESK_S3_MULTIPART_CHUNK_BYTES must be at least 5 MiB.")
    concurrency = envint("PRINTDESK_S3_MAX_CONCURRENCY", 4)
    if concurrency < 1:
        raise ImproperlyConfigured("PRINTDESK_S3_MAX_CONCURRENCY must be at least 1.")
    addressing = envstr("PRINTDESK_S3_ADDRESSING_STYLE", "auto")
    if addressing not in ("auto", "path", "virtual"):
        raise ImproperlyConfigured("PRINTDESK_S3_ADDRESSING_STYLE must be auto, path or virtual.")
    transfer = TransferConfig(
        multipart_threshold=threshold, multipart_chunksize=chunk, max_concurrency=concurrency
    )
    # Parts are read into memory before they are sent: this bounds one upload's buffers to
    # concurrency x chunk size (32 MiB by default) instead of boto3's 10 chunks.
    transfer.max_in_memory_upload_chunks = concurrency
    options = {
        "bucket_name": bucket,
        "endpoint_url": envstr("PRINTDESK_S3_ENDPOINT_URL", "") or None,
        "region_name": envstr("PRINTDESK_S3_REGION", "") or None,
        # "path" for MinIO and most self-hosted endpoints; "auto" lets boto3 choose.
        "addressing_style": addressing,
        "location": envstr("PRINTDESK_S3_PREFIX", "").strip("/"),
        # Final files are immutable: a key is generated once and never written again, and
        # should one ever exist already the new file gets a new name instead.
        "file_overwrite": False,
        "default_acl": None,  # private: the bucket's own policy, never public-read
        "querystring_auth": True,  # any URL made is signed; downloads stream through Django
        "custom_domain": None,
        "transfer_config": transfer,
        # A download is fetched into a temporary file that moves to disk beyond this size.
        "max_memory_size": envint("PRINTDESK_S3_MAX_MEMORY_BYTES", 8 * 1024**2),
    }
    # Without keys, boto3's own chain applies (AWS_* variables, instance or task roles).
    access_key = envstr("PRINTDESK_S3_ACCESS_KEY_ID", "")
    if access_key:
        options["access_key"] = access_key
        options["secret_key"] = envstr("PRINTDESK_S3_SECRET_ACCESS_KEY", "")
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def _staticfiles() -> dict:
    """issue 8 (H5): with PRINTDESK_STATIC_MANIFEST=1 (gunicorn.conf.py's default, and what
    `make serve` collects with) hashed, compressed static files that whitenoise serves
    (printdesk/lib/staticfiles.py). Otherwise plain names: runserver, the test suite's live
    server and DEBUG find files where they lie, whatever an earlier `collectstatic` left."""
    if envbool("PRINTDESK_STATIC_MANIFEST", False) and not envbool("DEBUG", False):
        return {"BACKEND": "printdesk.lib.staticfiles.StaticFilesStorage"}
    return {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


# Source maps (ninja's API docs ship several MB of them) are only fetched by browsers' developer
# tools: compressing them was most of collectstatic's time, for nothing a visitor loads.
from whitenoise.compress import Compressor  # noqa: E402  (the whitenoise block)

WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]


def _storages() -> dict:
    """Print files on local disk under MEDIA_ROOT, or in a bucket when PRINTDESK_STORAGE=s3."""
    from django.core.exceptions import ImproperlyConfigured

    kind = envstr("PRINTDESK_STORAGE", "local").lower()
    if kind == "local":
        # No location option: FileSystemStorage follows MEDIA_ROOT (and tests that move it).
        default = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    elif kind == "s3":
        default = _s3_storage()
    else:
        raise ImproperlyConfigured(f"PRINTDESK_STORAGE must be local or s3; got {kind!r}.")
    return {
        "default": default,
        "staticfiles": _staticfiles(),
    }


STORAGES = _storages()

# Upload limits until resumable uploads arrive (issue 4): per file, in bytes.
MAX_FILE_BYTES = envint("PRINTDESK_MAX_FILE_BYTES", 2 * 1024**3)
MAX_FILES_PER_JOB = envint("PRINTDESK_MAX_FILES_PER_JOB", 20)
ALLOWED_FILE_EXTENSIONS = ("stl", "3mf", "obj", "step", "stp")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024**2  # larger request files spool to a temporary file
# All of one job's files together, in bytes (default 10 GiB).
MAX_JOB_BYTES = envint("PRINTDESK_MAX_JOB_BYTES", 10 * 1024**3)
# A 3MF is a zip: refuse one whose parts would inflate beyond this many bytes in all, or by more
# than this ratio (a zip bomb), before anything parses it.
MAX_3MF_UNCOMPRESSED_BYTES = envint("PRINTDESK_MAX_3MF_UNCOMPRESSED_BYTES", 4 * 1024**3)
MAX_ZIP_RATIO = envint("PRINTDESK_MAX_ZIP_RATIO", 200)

# Resumable uploads (tus, under /uploads/): how long an unfinished upload is kept before the
# worker removes it, and how long the upload token a request form hands out stays valid.
UPLOAD_EXPIRY_HOURS = envint("PRINTDESK_UPLOAD_EXPIRY_HOURS", 24)
UPLOAD_TOKEN_MAX_AGE = envint("PRINTDESK_UPLOAD_TOKEN_MAX_AGE", 12 * 3600)
# issue 8: with S3 storage a PATCH holds its upload by a lease on the row (any host may serve
# it), renewed while bytes arrive; a killed process's lease runs out after this many seconds.
UPLOAD_LOCK_SECONDS = envint("PRINTDESK_UPLOAD_LOCK_SECONDS", 60)


def _anymail(esp: str) -> dict:
    """An email provider's API through django-anymail: EMAIL_URL=anymail://postmark, with the
    provider's keys as ANYMAIL_* variables (ANYMAIL_POSTMARK_SERVER_TOKEN=...), passed on as
    the ANYMAIL setting without the prefix."""
    from importlib.util import find_spec

    from django.core.exceptions import ImproperlyConfigured

    if not esp.isidentifier() or find_spec(f"anymail.backends.{esp}") is None:
        raise ImproperlyConfigured(
            f"EMAIL_URL=anymail://{esp}: no such django-anymail provider (e.g. amazon_ses, "
            "brevo, mailgun, mailjet, postmark, resend, sendgrid, sparkpost)."
        )
    keys = {
        name.removeprefix("ANYMAIL_"): value
        for name, value in os.environ.items()
        if name.startswith("ANYMAIL_") and value
    }
    return {"EMAIL_BACKEND": f"anymail.backends.{esp}.EmailBackend", "ANYMAIL": keys}


def _email(url: str) -> dict:
    """Turn EMAIL_URL (smtp://user:pass@host:587?tls=1, smtps://, console:, file:,
    anymail://<provider>) into settings."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path or str(VAR_DIR / "mail"),
        }
    if parts.scheme == "anymail":
        return _anymail(parts.netloc or parts.path.strip("/"))
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(
            f"EMAIL_URL scheme must be smtp, smtps, console, file or anymail; got {url!r}"
        )
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", "0") in ("1", "true", "yes"),
    }


# Without EMAIL_URL, mail is written to files under var/mail: the demo needs no mail server.
globals().update(_email(envstr("EMAIL_URL", f"file://{VAR_DIR / 'mail'}")))
# Seconds an SMTP connection or command may take before the attempt counts as failed (Django's
# own default is to wait forever, which would hold a worker and its claimed rows).
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "printdesk <noreply@printdesk.invalid>")
STAFF_NOTIFICATION_EMAIL = envstr("STAFF_NOTIFICATION_EMAIL", "orders@printdesk.invalid")
# Server errors (500s) are emailed to these addresses with the traceback and the request, link
# secrets redacted (printdesk.lib.redact.RedactedAdminEmailHandler); empty, none are sent (the
# log has every one either way). SERVER_EMAIL is their sender.
ADMINS = [(address, address) for address in envlist("PRINTDESK_ERROR_EMAILS", [])]
SERVER_EMAIL = envstr("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Worker: how often it looks for work, and how notifications retry (docs/email.md). Attempts
# count only tries the message itself failed (a 4xx, a timeout mid-message): while the server
# cannot be reached at all rows wait without spending any. 8 attempts back off over ~2 hours.
WORKER_POLL_SECONDS = envint("WORKER_POLL_SECONDS", 2)
NOTIFICATION_MAX_ATTEMPTS = envint("NOTIFICATION_MAX_ATTEMPTS", 8)
# How long a claimed row belongs to its worker; a crashed worker's rows are taken back after it.
NOTIFICATION_LEASE_SECONDS = envint("NOTIFICATION_LEASE_SECONDS", 300)

# Mesh analysis (docs/analysis.md): each file is measured in a child process that is killed
# past its time limit and cannot take more memory than its limit. Files larger than the
# stream threshold get the metrics that stream (box, volume, area, fit) and a preview from a
# subsample; the 3MF cap is MAX_3MF_UNCOMPRESSED_BYTES below.
PRINTDESK_ANALYSIS_TIME_LIMIT_S = envint("PRINTDESK_ANALYSIS_TIME_LIMIT_S", 60)
PRINTDESK_ANALYSIS_MEMORY_MB = envint("PRINTDESK_ANALYSIS_MEMORY_MB", 1536)
PRINTDESK_ANALYSIS_STREAM_OVER_MB = envint("PRINTDESK_ANALYSIS_STREAM_OVER_MB", 200)
# Estimates: operators always see them; customers see an indicative range (never a price)
# only when this is on, of +/- the percentage around the estimate.
PRINTDESK_SHOW_ESTIMATE = envbool("PRINTDESK_SHOW_ESTIMATE", False)
PRINTDESK_ESTIMATE_RANGE_PERCENT = envint("PRINTDESK_ESTIMATE_RANGE_PERCENT", 20)

# The operator desk: where login sends staff, and how the queue pages.
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:queue"
LOGOUT_REDIRECT_URL = "desk:login"
DESK_PAGE_SIZE = envint("DESK_PAGE_SIZE", 50)
# Hours a job may wait in a state before the queue marks it as waiting too long. Terminal
# states are absent: nothing waits in them. Override one with e.g. PRINTDESK_AGE_LIMIT_QUOTED=72.
JOB_AGE_LIMIT_HOURS = {
    state: envint(f"PRINTDESK_AGE_LIMIT_{state.upper()}", hours)
    for state, hours in {
        "submitted": 24,
        "quoted": 7 * 24,
        "accepted": 24,
        "quote_declined": 3 * 24,
        "in_production": 5 * 24,
        "ready": 2 * 24,
    }.items()
}

# Spam and abuse limits on the public pages: at most N per window (seconds), counted in the
# database so they hold across every web process.
REQUEST_RATE_LIMIT = envint("PRINTDESK_REQUEST_RATE_LIMIT", 5)  # requests per email address
REQUEST_RATE_WINDOW = envint("PRINTDESK_REQUEST_RATE_WINDOW", 3600)
LINK_RECOVERY_RATE_LIMIT = envint("PRINTDESK_LINK_RECOVERY_RATE_LIMIT", 3)  # per address
LINK_RECOVERY_RATE_WINDOW = envint("PRINTDESK_LINK_RECOVERY_RATE_WINDOW", 3600)
# Per client IP, for both forms: a looser cap that stops one machine cycling addresses.
PUBLIC_IP_RATE_LIMIT = envint("PRINTDESK_PUBLIC_IP_RATE_LIMIT", 30)
PUBLIC_IP_RATE_WINDOW = envint("PRINTDESK_PUBLIC_IP_RATE_WINDOW", 3600)

# issue 6 (S1): a job's private link stops working (410) this many days after the job ended
# (declined, cancelled, dispatched); a replaced link answers 410 at once.
LINK_EXPIRY_DAYS = envint("PRINTDESK_LINK_EXPIRY_DAYS", 180)

# issue 6 (S1): private job links never reach a log. The filter (printdesk/lib/redact.py)
# rewrites /j/<secret>/ and X-Job-Link values on the loggers that write request lines, before
# any handler sees them, and on our handlers for anything else that passes through.
# issue 8 (H5): LOG_FORMAT=json writes one JSON object per line (time, level, logger, message,
# request_id, job; method, path, status, duration_ms on request lines: printdesk/lib/logs.py);
# text, the default, suits a terminal. Both carry the request id and the job reference.
LOG_FORMAT = envstr("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ValueError(f"LOG_FORMAT must be text or json; got {LOG_FORMAT!r}")
_log_formatter = "json" if LOG_FORMAT == "json" else "text"
_log_filters = ["redact_links", "request_context"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_links": {"()": "printdesk.lib.redact.RedactLinks"},
        "request_context": {"()": "printdesk.lib.logs.RequestContext"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "django.server": {  # Django's own, for runserver's request lines
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
        "json": {"()": "printdesk.lib.logs.JsonFormatter"},
        "text": {"()": "printdesk.lib.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": _log_filters,
            "formatter": _log_formatter,
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "django.server",
            "level": "INFO",
            "filters": _log_filters,
        },
        # Django's own, with link secrets redacted from the email (PRINTDESK_ERROR_EMAILS).
        "mail_admins": {
            "class": "printdesk.lib.redact.RedactedAdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_links"],
        },
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        # In place of Django's default handlers for it (its console and unredacted mail):
        # records go on to the root's console.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["redact_links"]},
        "django.security.csrf": {"filters": ["redact_links"]},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_links"],
        },
        # gunicorn's request lines (printdesk.lib.logs.GunicornLogger), one per request.
        "printdesk.access": {"level": "INFO"},
    },
}

# --- Login, sessions and headers (issue 6, S2; docs/security.md) ---------------------------
# Is the site reached over HTTPS (itself or through a TLS proxy)? Yes unless DEBUG, or unless
# SITE_URL is set to a plain http:// address, as `make run` and the demo test do. It makes the
# session and CSRF cookies Secure and turns on HSTS; PRINTDESK_HTTPS=0/1 says so outright.
HTTPS = envbool(
    "PRINTDESK_HTTPS", not DEBUG and not os.environ.get("SITE_URL", "").startswith("http://")
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("PRINTDESK_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("PRINTDESK_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("PRINTDESK_HSTS_PRELOAD", False)
# Off by default: the TLS proxy in front redirects http to https (and a load balancer's plain
# http health check must reach /healthz). Turn on when Django itself faces the internet.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# A load balancer's probes may speak plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# The header a TLS-terminating proxy sets to say the request came over https, e.g.
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (only when that proxy always sets or strips it).
_proxy_ssl_header = envstr("SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# How many reverse proxies append to X-Forwarded-For in front of Django: the client IP for
# rate limits and login lockout is that many entries from the right (0: REMOTE_ADDR).
TRUSTED_PROXY_COUNT = envint("PRINTDESK_TRUSTED_PROXY_COUNT", 0)
# issue 8 (H5): the host name from the proxy's X-Forwarded-Host, only when asked for (a proxy
# that passes Host through, as docs/deploy.md's nginx does, needs none of it).
USE_X_FORWARDED_HOST = envbool("USE_X_FORWARDED_HOST", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # the /j/ pages send no-referrer themselves
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # W008 (SECURE_SSL_REDIRECT off): the TLS proxy in front does that redirect; see above.
    *(["security.W008"] if not SECURE_SSL_REDIRECT else []),
    # W021 (no HSTS preload): preloading is an opt-in to browsers' built-in lists that is slow
    # to undo and applies to the whole registered domain; PRINTDESK_HSTS_PRELOAD=1 opts in.
    *(["security.W021"] if not SECURE_HSTS_PRELOAD else []),
]

# Content-Security-Policy (django-csp): our own scripts, styles and images only, no inline
# script or style, never framed. The email template preview sets its own narrower policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Staff sessions: at most this long after logging in, and logged out after this long idle
# (printdesk.security.middleware.StaffIdleTimeoutMiddleware).
SESSION_COOKIE_AGE = envint("PRINTDESK_SESSION_HOURS", 12) * 3600
SESSION_IDLE_TIMEOUT = envint("PRINTDESK_SESSION_IDLE_MINUTES", 60) * 60

# Login lockout (django-axes): after this many failures for one username from one client IP,
# that pair is refused for the cool-off; a success clears the count. Other IPs and usernames
# are unaffected. Covers the desk, the admin site and POST /api/v1/auth/token.
AUTHENTICATION_BACKENDS = [
    "printdesk.security.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("PRINTDESK_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("PRINTDESK_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Every attempt while locked out starts the cool-off again: guessing on only prolongs it (and
# only for that username from that address).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_CLIENT_IP_CALLABLE = "printdesk.security.lockout.client_ip"  # ratelimit.client_ip's
AXES_LOCKOUT_CALLABLE = "printdesk.security.lockout.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
# What axes keeps of a failed attempt's form leaves these out (a wrong two-factor code too).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]

# Two-factor login (docs/security.md): anyone may turn it on for themself; with this on, staff
# without it are sent to set it up before any other desk or admin page.
PRINTDESK_REQUIRE_2FA = envbool("PRINTDESK_REQUIRE_2FA", False)

# --- Readiness and metrics (issue 8, H5; docs/deploy.md) -----------------------------------
# /readyz answers 503 when the oldest email due for sending, or the oldest file due for
# analysis, has waited longer than this many seconds (the workers are down or far behind);
# 0 leaves that check out.
READY_MAX_NOTIFICATION_WAIT_S = envint("PRINTDESK_READY_MAX_NOTIFICATION_WAIT_S", 600)
READY_MAX_ANALYSIS_WAIT_S = envint("PRINTDESK_READY_MAX_ANALYSIS_WAIT_S", 1800)
# /metrics (Prometheus text) answers only a bearer of this token; unset, it answers 404.
METRICS_TOKEN = envstr("PRINTDESK_METRICS_TOKEN", "")
