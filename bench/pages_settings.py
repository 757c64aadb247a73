"""bench/pages.py's server settings: the project's own, routed through pages_urls."""

from printdesk.settings import *  # noqa: F403  (the project's settings, unchanged)

ROOT_URLCONF = "bench.pages_urls"
