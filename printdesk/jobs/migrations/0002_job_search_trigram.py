"""Trigram indexes for the job queue's text search, on PostgreSQL only.

The job list's `q=` matches customer name, email and company with `icontains`, which Django
writes as UPPER("col"::text) LIKE UPPER('%term%') on PostgreSQL. No b-tree index serves a
leading wildcard, so every search (and its COUNT) read the whole table: about 80-160 ms at
100,000 jobs (docs/benchmarks.md). GIN trigram indexes on exactly those expressions turn it
into a bitmap index scan of a few milliseconds, for terms of three characters or more.

fastupdate is off: with it on, every job update (each lifecycle action bumps the row) lands in
the GIN pending list, which autovacuum rarely flushes at a bureau's write rate; after a few
thousand actions the planner costs the bloated index above a sequential scan and searches are
back to 70 ms. Without the pending list each update writes its index entries at once; actions
per second measured the same either way, within noise (bench/transitions.py).

SQLite has nothing equivalent and is left alone. The indexes are not in Job.Meta because Meta
indexes are created on every database; reversing drops the indexes, not the extension.
"""

from django.db import migrations

INDEXES = {
    "job_name_trgm": "customer_name",
    "job_email_trgm": "customer_email",
    "job_company_trgm": "customer_company",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON jobs_job "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops) WITH (fastupdate = off)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
