"""The audit trail cannot be rewritten: on PostgreSQL the database itself refuses."""

import pytest
from django.db import DatabaseError, connection, transaction

from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import AuditEvent

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's"
)


@needs_postgres
def test_the_database_refuses_to_update_an_audit_entry(make_job):
    job, _ = make_job(JobState.QUOTED)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditEvent.objects.filter(job=job).update(to_state="cancelled")
    assert set(job.audit_events.values_list("to_state", flat=True)) == {"submitted", "quoted"}


@needs_postgres
def test_the_database_refuses_to_delete_an_audit_entry(make_job):
    job, _ = make_job(JobState.QUOTED)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            # Raw SQL: the ORM would stop first, at the notifications' protected foreign key.
            cursor.execute("DELETE FROM jobs_auditevent WHERE job_id = %s", [job.pk])
    assert job.audit_events.count() == 2


def test_new_entries_are_still_written(make_job):
    job, _ = make_job(JobState.QUOTED)
    assert job.audit_events.count() == job.version == 2
