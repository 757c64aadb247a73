"""gunicorn's configuration for printdesk: `gunicorn -c gunicorn.conf.py printdesk.wsgi`.

Every setting comes from the environment (docs/deploy.md lists them). gunicorn also reads this
file by itself when started from the repository's root without `-c`; flags on the command line
still win over it.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# `.venv/bin/gunicorn` puts its own folder first on sys.path, not the project's.
sys.path.insert(0, str(ROOT))

from printdesk.lib.env import envint, envstr  # noqa: E402  (needs the path above)

# Pages name the hashed static files `collectstatic` wrote (plain names while there are none).
os.environ.setdefault("PRINTDESK_STATIC_MANIFEST", "1")

bind = envstr("GUNICORN_BIND", "127.0.0.1:8000")
# Threads, not processes, wait on slow clients: a long streaming upload holds one thread while
# the process's other threads serve pages. A process per core, a few threads each.
worker_class = "gthread"
workers = envint("GUNICORN_WORKERS", min(os.cpu_count() or 1, 4))
threads = envint("GUNICORN_THREADS", 8)
# gthread's workers report alive from their main loop, whatever a request takes: `timeout`
# only restarts a stuck process, it never cuts a long upload short.
timeout = envint("GUNICORN_TIMEOUT", 60)
# On SIGTERM a process stops accepting and has this long to finish what it serves (a tus
# upload cut off later resumes where it stopped).
graceful_timeout = envint("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = envint("GUNICORN_KEEPALIVE", 5)
# Off by default: a process replaced after N requests cuts the uploads it still serves after
# the graceful timeout (tus resumes them, but for nothing). Set it to bound a slow leak.
max_requests = envint("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

# systemd (or any supervisor) manages the processes with signals; gunicorn's control socket
# (one path per user) would only collide between instances on one machine.
control_socket_disable = True

# The proxy in front (docs/deploy.md): gunicorn believes forwarded headers only from these
# addresses, and, of the scheme headers, only the one settings.SECURE_PROXY_SSL_HEADER names.
# With no proxy configured (PRINTDESK_TRUSTED_PROXY_COUNT=0, no SECURE_PROXY_SSL_HEADER) it
# believes none, from anyone.
_proxy_header = envstr("SECURE_PROXY_SSL_HEADER", "")
_behind_proxy = envint("PRINTDESK_TRUSTED_PROXY_COUNT", 0) > 0 or bool(_proxy_header)
forwarded_allow_ips = envstr("FORWARDED_ALLOW_IPS", "127.0.0.1,::1" if _behind_proxy else "")
secure_scheme_headers = {_proxy_header.upper(): "https"} if _proxy_header else {}

# Request lines go through Django's logging (text or LOG_FORMAT=json), redacted, with the
# request id and the job: printdesk.lib.logs.GunicornLogger.
logger_class = "printdesk.lib.logs.GunicornLogger"
errorlog = "-"
loglevel = envstr("GUNICORN_LOG_LEVEL", "info")
if envstr("LOG_FORMAT", "text").lower() == "json":
    # gunicorn's own lines (starting, a worker restarted) as JSON too; Django's LOGGING takes
    # over everything else in each worker.
    logconfig_dict = {
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "formatters": {"json": {"()": "printdesk.lib.logs.JsonFormatter"}},
    }


def when_ready(server):
    """Say so when pages cannot name hashed static files: `collectstatic` has not written them."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "printdesk.settings")
    from django.conf import settings

    root = Path(getattr(settings, "STATIC_ROOT", None) or ".")
    if not settings.DEBUG and not (root / "staticfiles.json").exists():
        server.log.warning(
            "no staticfiles.json in %s: run `PRINTDESK_STATIC_MANIFEST=1 python manage.py "
            "collectstatic` (make serve does); until then pages name unhashed files",
            root,
        )
