"""`manage.py restore <folder>`: a backup back into a new, empty installation.

Refuses, changing nothing, when the database already holds data or storage holds one of the
backup's files with other content. Verifies every file it copies by sha256 and exits non-zero
with the list of those that failed. Stop the web processes and workers first.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from printdesk.ops.restore import RestoreFailed, RestoreRefused, restore_backup


class Command(BaseCommand):
    help = "Restore a backup (from `manage.py backup`) into an empty installation."

    def add_arguments(self, parser):
        parser.add_argument("source", help="The backup's folder.")

    def handle(self, *args, source: str, **options):
        try:
            restored = restore_backup(Path(source), say=self.stdout.write)
        except (RestoreRefused, RestoreFailed) as error:
            raise CommandError(str(error)) from None
        counts = restored.counts
        self.stdout.write(
            f"Restored {sum(counts.values())} database objects ({counts.get('jobs.job', 0)} jobs, "
            f"{counts.get('jobs.auditevent', 0)} audit entries, {counts.get('auth.user', 0)} "
            f"users) and {restored.files_copied} stored files "
            f"({filesizeformat(restored.bytes_copied)}), each verified by sha256"
            + (
                f"; {restored.files_already_there} were already in storage."
                if restored.files_already_there
                else "."
            )
        )
        for warning in restored.warnings:
            self.stderr.write(f"warning: {warning}")
        if restored.failures:
            listed = "\n".join(f"  {failure}" for failure in restored.failures)
            raise CommandError(
                f"{len(restored.failures)} problem(s); everything else is restored:\n{listed}"
            )
