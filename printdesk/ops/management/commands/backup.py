"""`manage.py backup <folder>`: the database and every stored file it names, with a manifest.

--no-files   list and verify the stored files (sha256) without copying them, for a bucket
             backed up by its own versioning or replication.
Exits non-zero if a file the database names is missing or differs from its recorded sha256;
the backup is still complete for everything else. docs/operations.md has the routine.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from printdesk.ops.backup import BackupError, take_backup


class Command(BaseCommand):
    help = "Back up the database and the stored files into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("dest", help="A new (or empty) folder for the backup.")
        parser.add_argument(
            "--no-files",
            action="store_true",
            help="Verify the stored files but do not copy them (the bucket is backed up apart).",
        )

    def handle(self, *args, dest: str, no_files: bool = False, **options):
        try:
            backup = take_backup(Path(dest), copy_files=not no_files, say=self.stdout.write)
        except BackupError as error:
            raise CommandError(str(error)) from None
        files = [entry for entry in backup.files if entry["status"] == "ok"]
        size = filesizeformat(sum(entry["size"] for entry in files))
        done = "copied" if not no_files else "verified (not copied: --no-files)"
        self.stdout.write(
            f"Backup written to {backup.path}: {backup.objects} database objects, "
            f"{len(files)} stored files ({size}) {done}, each with its sha256 in manifest.json."
        )
        if backup.problems:
            listed = "\n".join(
                f"  {entry['key']}: {entry['status']} ({', '.join(entry['referenced_by'])})"
                for entry in backup.problems
            )
            raise CommandError(
                f"{len(backup.problems)} stored file(s) the database names are missing or "
                f"damaged (the backup holds everything else):\n{listed}"
            )
