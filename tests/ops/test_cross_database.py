"""A backup restores into the other database engine: SQLite to PostgreSQL, and back.

The suite's own database takes the backup; `manage.py restore` runs as its own process against
a new installation on the other engine (a fresh PostgreSQL database, or a new SQLite file),
which it migrates first; a second backup taken there must hold the same rows and files.
"""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from printdesk.ops.backup import DATA, MANIFEST
from tests.ops.drill import fill

ROOT = Path(__file__).resolve().parent.parent.parent
POSTGRES = os.environ.get("PRINTDESK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_database(tmp_path) -> Iterator[str]:
    """The URL of a new, empty database on the engine the suite is not running on."""
    if connection.vendor == "postgresql":
        yield f"sqlite:///{tmp_path / 'other.sqlite3'}"
        return
    name = f"printdesk_restore_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES + "postgres", autocommit=True)
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {POSTGRES} to restore into: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES + name
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def manage(database_url: str, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PRINTDESK_"))}
    env.update(DATABASE_URL=database_url, PRINTDESK_VAR_DIR=str(home), MEDIA_ROOT=str(home / "m"))
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def contents(backup: Path) -> tuple[list[str], dict[str, str]]:
    """A backup's rows (key order normalised: jsonb reorders keys) and its files' sha256."""
    lines = (backup / DATA).read_text().splitlines()
    rows = sorted(json.dumps(json.loads(line), sort_keys=True) for line in lines if line)
    files = json.loads((backup / MANIFEST).read_text())["files"]
    return rows, {entry["key"]: entry["sha256"] for entry in files}


def test_a_backup_restores_into_the_other_database_engine(tmp_path, other_database):
    fill()
    call_command("backup", str(tmp_path / "backup"), stdout=StringIO())
    home = tmp_path / "other"

    restored = manage(other_database, home, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    again = manage(other_database, home, "backup", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr

    assert contents(tmp_path / "again") == contents(tmp_path / "backup")
