"""`manage.py worker`: the background worker. Drains the notification outbox and the queue of
file analyses (printdesk/files/analysis.py) until stopped.

Email never waits behind a slow file: analyses run in a second thread, one file at a time, each
measured in a child process with a time and memory limit (the child does the CPU work). That
thread has its own database connection and closes it when it stops.

Once an hour (and once per `--once` run) it also does the housekeeping: request-form drafts
nobody submitted, rate-limit counters of windows long past and expired resumable uploads (with
their partial files) are deleted.

Stops cleanly on SIGTERM or Ctrl-C: the message in hand is finished and recorded, the rest of
its batch handed back at once for any worker to take. A file being analysed is handed back
too, its child process killed (within half a second), to be analysed again from the start.
(A worker killed outright leaves its rows `sending` or `running`; another takes them back when
their lease ends: docs/email.md, docs/analysis.md.)

`--once` drains both queues, one after the other, in this thread, and exits.

While the mail server cannot be reached it waits 1, 2, 4 ... up to 60 seconds between tries;
the rows it tried are handed back without spending an attempt.
"""

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from printdesk.files import analysis
from printdesk.files.storage import prune_drafts
from printdesk.notifications import sender
from printdesk.security import ratelimit
from printdesk.uploads.actions import prune_expired

HOUSEKEEPING_SECONDS = 3600
OUTAGE_MAX_WAIT_SECONDS = 60
log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send queued notifications and analyse files until stopped (SIGTERM or Ctrl-C)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is due, then exit.")

    def handle(self, *args, once: bool = False, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.stdout.write("worker: started")
        analyser = None
        if not once:
            analyser = threading.Thread(target=self._analyse, name="analysis", daemon=True)
            analyser.start()
        try:
            self._send(once)
            if once:
                self._report(analysis.drain(stopping=lambda: self.stopping))
        finally:
            self.stopping = True  # also when sending failed: the analysis thread ends too
            if analyser is not None:
                analyser.join()
        self.stdout.write("worker: stopped")

    def _send(self, once: bool) -> None:
        """The outbox, with the housekeeping, until stopped (or drained, with `--once`)."""
        housekeeping_due = 0.0
        outage_wait = 0.0
        while not self.stopping:
            close_old_connections()
            if time.monotonic() >= housekeeping_due:
                self._housekeeping()
                housekeeping_due = time.monotonic() + HOUSEKEEPING_SECONDS
            batch = sender.drain(stopping=lambda: self.stopping)
            if batch.claimed:
                self.stdout.write(
                    f"worker: {batch.sent} sent, {batch.failed} failed, {batch.dead} dead, "
                    f"{batch.released} handed back"
                )
            if batch.unreachable:
                outage_wait = min(max(outage_wait * 2, 1.0), OUTAGE_MAX_WAIT_SECONDS)
                self.stdout.write(
                    f"worker: mail server unreachable, next try in {outage_wait:.0f} s: "
                    f"{batch.unreachable}"
                )
                if once:
                    break
                self._sleep(outage_wait)
                continue
            outage_wait = 0.0
            if batch.claimed:
                continue
            if once:
                break
            self._sleep(settings.WORKER_POLL_SECONDS)

    def _analyse(self) -> None:
        """The analysis thread: drain due analyses, wait when there are none, until stopped."""
        try:
            while not self.stopping:
                close_old_connections()
                try:
                    result = analysis.drain(stopping=lambda: self.stopping)
                except Exception:  # the database went away: try again after a pause
                    log.exception("worker: analysis failed")
                    result = analysis.Pass()
                self._report(result)
                if not result.claimed:
                    self._sleep(settings.WORKER_POLL_SECONDS)
        finally:
            connection.close()

    def _report(self, result: analysis.Pass) -> None:
        if result.claimed:
            self.stdout.write(
                f"worker: {result.done} file(s) analysed, {result.failed} failed, "
                f"{result.released} handed back"
            )

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
        # Checked before each message: the one being sent is finished and recorded first.
        self.stopping = True

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.2)
