"""Indexes for the queue's text search over the request notes and internal notes.

SQLite: FTS5 trigram tables over jobs_job (customer name, email, company, notes) and jobs_note
(body), kept by triggers; see printdesk/jobs/search_index.py, which also restores them after
any later migration that rebuilds those tables.

PostgreSQL: GIN trigram indexes on the notes, like those 0002 put on the customer columns
(same reasons, same fastupdate choice).
"""

from django.db import migrations

from printdesk.jobs import search_index

POSTGRES_INDEXES = {"job_notes_trgm": ("jobs_job", "notes"), "note_body_trgm": ("jobs_note", "body")}


def create(apps, schema_editor):
    connection = schema_editor.connection
    search_index.ensure(connection)
    if connection.vendor == "postgresql":
        for name, (table, column) in POSTGRES_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops) WITH (fastupdate = off)"
            )


def drop(apps, schema_editor):
    connection = schema_editor.connection
    search_index.drop(connection)
    if connection.vendor == "postgresql":
        for name in POSTGRES_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("jobs", "0007_email_upper_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
