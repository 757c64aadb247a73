from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

INDEX_MIGRATION = "0008_job_search_fts"


def _restore_search_index(using: str, **kwargs) -> None:
    from django.db.migrations.recorder import MigrationRecorder

    from printdesk.jobs import search_index

    connection = connections[using]
    applied = MigrationRecorder(connection).migration_qs.filter(app="jobs", name=INDEX_MIGRATION)
    if applied.exists():  # not after migrating back to before the index existed
        search_index.ensure(connection)


class JobsConfig(AppConfig):
    name = "printdesk.jobs"

    def ready(self) -> None:
        # A migration that rebuilds jobs_job or jobs_note on SQLite drops the search triggers.
        post_migrate.connect(_restore_search_index, sender=self)
