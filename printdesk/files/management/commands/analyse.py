"""`manage.py analyse`: queue file versions for analysis again; the worker does the work.

--missing     versions with no analysis at all (say, rows restored from an old backup);
--failed      analyses that failed (after a fix, or a higher limit in the settings);
--all         every analysable version (after an upgrade of the analysis itself);
--version N   one file version, by its id (as in the desk's download links).
A running analysis is left alone; STEP files stay unsupported. Measurements, previews and the
operators' scales are kept until the new outcome replaces them.
"""

from django.core.management.base import BaseCommand, CommandError

from printdesk.files.analysis import requeue
from printdesk.files.models import AnalysisState, FileVersion


class Command(BaseCommand):
    help = "Queue file versions for analysis again (the worker analyses them)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Our --version names a file version: it replaces Django's (which prints its own).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--missing", action="store_true", help="Versions never queued.")
        which.add_argument("--failed", action="store_true", help="Analyses that failed.")
        which.add_argument("--all", action="store_true", help="Every version.")
        which.add_argument("--version", type=int, metavar="N", help="One version, by id.")

    def handle(self, *args, missing=False, failed=False, all=False, version=None, **options):
        versions = FileVersion.objects.all()
        if version is not None:
            versions = versions.filter(pk=version)
            if not versions.exists():
                raise CommandError(f"There is no file version {version}.")
        elif failed:
            versions = versions.filter(analysis__state=AnalysisState.FAILED)
        queued = requeue(versions, only_missing=missing)
        self.stdout.write(f"analyse: {queued} file version(s) queued for the worker")
