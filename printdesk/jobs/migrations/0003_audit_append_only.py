"""The audit trail is append-only in the database itself, on PostgreSQL.

No code path updates or deletes an audit row, and Django's admin cannot; this trigger makes a
stray UPDATE or DELETE (a shell session, a future bug) fail loudly instead of rewriting history.
TRUNCATE, which only a test run's flush or a deliberate wipe uses, is not affected.

SQLite is left alone: its test runs flush tables with DELETE, and the embedded default is a
single-machine install whose owner has the file anyway.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION printdesk_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on jobs_auditevent refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON jobs_auditevent
    FOR EACH ROW EXECUTE FUNCTION printdesk_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only ON jobs_auditevent;
DROP FUNCTION IF EXISTS printdesk_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_job_search_trigram")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
