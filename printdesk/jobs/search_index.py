"""SQLite's full-text (trigram) index for the queue's text search.

`icontains` is LIKE '%term%', which no index serves, so on SQLite a search read every job twice
(once for the tab counts, once for the page): about 250 ms at 100,000 jobs. FTS5's trigram
tokenizer (SQLite 3.34+) answers the same substring question, case-insensitively, from an
index in a few milliseconds. The FTS tables are "external content" tables over jobs_job and
jobs_note, kept current by triggers; the job triggers fire only when a searched column changes,
so lifecycle actions (which update state and version) pay nothing.

Django rebuilds a SQLite table to alter it (new table, copy, drop, rename), which drops its
triggers. `ensure` therefore runs after every `migrate` (post_migrate, see JobsConfig) and puts
back whatever is missing, re-indexing from the tables when it had to. PostgreSQL has GIN
trigram indexes instead (migrations 0002 and 0008).
"""

from django.db.backends.base.base import BaseDatabaseWrapper

# A trigram index matches terms of three characters or more; shorter ones use LIKE.
SHORTEST = 3
JOB_COLUMNS = ("customer_name", "customer_email", "customer_company", "notes")
SEARCHED = {"jobs_job": JOB_COLUMNS, "jobs_note": ("body",)}


def _statements(table: str, columns: tuple[str, ...]) -> tuple[str, list[str]]:
    """The FTS table and its three triggers for `table`."""
    fts = f"{table}_search"
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    # Table and column names come from SEARCHED above, never from input.
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"  # noqa: S608
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"  # noqa: S608
    create = (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"{names}, content='{table}', content_rowid='id', tokenize='trigram')"
    )
    triggers = [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {remove} {add} END",
    ]
    return create, triggers


def trigger_names() -> set[str]:
    return {
        f"{table}_search_{event}" for table in SEARCHED for event in ("insert", "delete", "update")
    }


def ensure(connection: BaseDatabaseWrapper) -> bool:
    """Create what is missing of the index on a SQLite database; True if it had to."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
        if trigger_names() <= present:
            return False
        for table, columns in SEARCHED.items():
            create, triggers = _statements(table, columns)
            cursor.execute(create)
            for trigger in triggers:
                cursor.execute(trigger)
            # Rows written while a trigger was missing: index everything again from the table.
            rebuild = f"INSERT INTO {table}_search({table}_search) VALUES ('rebuild')"  # noqa: S608
            cursor.execute(rebuild)
    return True


def drop(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in sorted(trigger_names()):
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in SEARCHED:
            cursor.execute(f"DROP TABLE IF EXISTS {table}_search")


def phrase(text: str) -> str:
    """`text` as one FTS5 phrase: matched as a substring, never read as query syntax."""
    return '"' + text.replace('"', '""') + '"'
