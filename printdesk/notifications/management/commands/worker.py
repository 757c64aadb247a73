"""`manage.py worker`: the background worker. Drains the notification outbox until stopped.

Once an hour (and once per `--once` run) it also does the housekeeping: request-form drafts
nobody submitted, rate-limit counters of windows long past and expired resumable uploads (with
their partial files) are deleted.

Stops cleanly on SIGTERM or Ctrl-C: the batch in hand is finished, nothing is abandoned
half-sent (a row it could not finish is taken back by another worker when its lease ends).
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from printdesk.files.storage import prune_drafts
from printdesk.notifications import sender
from printdesk.security import ratelimit
from printdesk.uploads.actions import prune_expired

HOUSEKEEPING_SECONDS = 3600
log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send queued notifications until stopped (SIGTERM or Ctrl-C)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is due, then exit.")

    def handle(self, *args, once: bool = False, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.stdout.write("worker: started")
        housekeeping_due = 0.0
        while not self.stopping:
            close_old_connections()
            if time.monotonic() >= housekeeping_due:
                self._housekeeping()
                housekeeping_due = time.monotonic() + HOUSEKEEPING_SECONDS
            handled = sender.drain()
            if handled:
                self.stdout.write(f"worker: handled {handled} notification(s)")
                continue
            if once:
                break
            self._sleep(settings.WORKER_POLL_SECONDS)
        self.stdout.write("worker: stopped")

    def _housekeeping(self) -> None:
        try:
            drafts, counters, uploads = prune_drafts(), ratelimit.prune(), prune_expired()
        except Exception:  # sending email matters more: try again in an hour
            log.exception("worker: housekeeping failed")
            return
        if drafts or counters or uploads:
            self.stdout.write(
                f"worker: pruned {drafts} draft upload(s), {counters} rate-limit counter(s), "
                f"{uploads} expired resumable upload(s)"
            )

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.2)
