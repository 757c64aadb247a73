"""Text search finds what a substring match would, through SQLite's trigram index or LIKE.

The oracle is plain Python: a job matches when the term, case-folded, is a substring of its
name, email, company, notes or one of its internal notes (or the term names its reference).
"""

import pytest
from django.db import connection

from printdesk.jobs import search_index
from printdesk.jobs.actions import Actor, add_note
from printdesk.jobs.models import Job
from printdesk.jobs.search import JobSearch, matching

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the FTS5 trigram index is SQLite's"
)

CUSTOMERS = [
    ("Jonas Weber", "j.weber@example.com", "Weber Maschinenbau GmbH", "Matte finish, 0.1 mm"),
    ("O'Brien Quinn", "quinn@obrien.example", "", 'He said "AND NEAR(x)" -- fine*'),
    ("Priya Raman", "priya@example.com", "Raman Dental Lab", "crowns; 50% infill"),
    ("Mara Lindqvist", "mara@nordlicht.example", "Nordlicht Robotics AB", ""),
]
INTERNAL_NOTE = "Customer called: wants the WEBBED variant"
TERMS = [
    "weber", "WEBER", "eber", "we", "w", "example.com", "o'brien", '"and near(x)"',
    "near(", "fine*", "--", "50%", "%", "_", "0.1 mm", "robotics ab", "webbed", "nothing-like",
    'a"b', "dental lab", "  raman  ", "mara@nordlicht",
]  # fmt: skip


@pytest.fixture
def jobs(make_job, operator):
    made = []
    for name, email, company, notes in CUSTOMERS:
        job, _ = make_job(customer_name=name, customer_email=email, customer_company=company)
        Job.objects.filter(pk=job.pk).update(notes=notes)  # submit_request keeps notes as given
        made.append(job)
    add_note(job=made[3], actor=Actor.staff(operator), body=INTERNAL_NOTE)
    return made


def expected(term: str) -> set[str]:
    term = term.strip().casefold()
    found = set()
    for job in Job.objects.prefetch_related("internal_notes"):
        fields = [job.customer_name, job.customer_email, job.customer_company, job.notes]
        fields += [note.body for note in job.internal_notes.all()]
        if any(term in field.casefold() for field in fields):
            found.add(job.reference)
    return found


@pytest.mark.parametrize("term", TERMS)
def test_search_finds_exactly_the_substring_matches(jobs, term):
    found = {job.reference for job in matching(JobSearch(text=term))}
    assert found == expected(term)


def test_it_finds_a_job_by_an_internal_note(jobs):
    assert [job.pk for job in matching(JobSearch(text="webbed variant"))] == [jobs[3].pk]


def test_it_follows_changes_to_the_searched_columns(jobs):
    Job.objects.filter(pk=jobs[0].pk).update(customer_company="Zeppelin Works")
    assert [job.pk for job in matching(JobSearch(text="zeppelin"))] == [jobs[0].pk]
    assert not matching(JobSearch(text="maschinenbau")).exists()


@sqlite_only
def test_the_index_triggers_exist_after_migrating(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    assert search_index.trigger_names() <= present


@sqlite_only
def test_ensure_restores_dropped_triggers_and_indexes_what_was_missed(jobs, make_job):
    # As a migration that rebuilds jobs_job would: the triggers go, rows keep arriving.
    with connection.cursor() as cursor:
        for name in search_index.trigger_names():
            cursor.execute(f"DROP TRIGGER {name}")
    late, _ = make_job(customer_name="Late Arrival")
    assert not matching(JobSearch(text="late arrival")).exists()  # the index missed it

    assert search_index.ensure(connection) is True
    assert [job.pk for job in matching(JobSearch(text="late arrival"))] == [late.pk]
    assert search_index.ensure(connection) is False  # nothing left to do
