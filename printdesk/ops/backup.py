"""Taking a backup: the database as Django's serialized data, every stored file it names, and
a manifest that says what was found (docs/operations.md).

Consistency: the rows are dumped and the stored files listed inside one read transaction, so
both describe the same moment. The files are copied after it ends, which is safe because a
stored file is never changed or deleted by anything a job goes through (docs/storage.md); a
file stored after the snapshot is simply not in this backup.
"""

import datetime
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.core import serializers
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.utils import validate_file_name
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model, QuerySet
from django.utils import timezone

from printdesk.ops.stored import Referenced, read_chunks, referenced_files
from printdesk.uploads.models import TusUpload, UploadState

FORMAT = "printdesk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.jsonl"  # one object a line: loaddata reads it line by line, never all at once
FILES = "files"
# What a manifest says of each stored file (docs/operations.md).
STATUSES = ("ok", "missing", "sha256_mismatch", "bad_key")

# Django's own tables that hold our data. Content types and permissions are not dumped: a
# fresh installation's `migrate` creates them, and the rows that point at them (a group's
# permissions, an admin log entry) are written with natural keys, so ids need not match.
# Sessions and login lockouts are not data worth restoring: staff log in again.
DJANGO_MODELS = ["auth.User", "auth.Group", "admin.LogEntry"]


class BackupError(Exception):
    """The backup cannot be taken (the message says why); nothing was written."""


@dataclass
class Backup:
    path: Path
    objects: int
    files: list[dict[str, Any]]

    @property
    def problems(self) -> list[dict[str, Any]]:
        return [entry for entry in self.files if entry["status"] != "ok"]


def backed_up_models() -> list[type[Model]]:
    """Every model a backup holds, ordered so natural keys load before rows that use them."""
    chosen = [apps.get_model(label) for label in DJANGO_MODELS]
    for config in apps.get_app_configs():
        if config.name.startswith("printdesk."):
            chosen.extend(config.get_models())
    by_app: dict[Any, list[type[Model]]] = {}
    for model in chosen:
        if model._meta.managed and not model._meta.proxy:
            by_app.setdefault(model._meta.app_config, []).append(model)
    return serializers.sort_dependencies(by_app.items(), allow_cycles=True)


def rows(model: type[Model]) -> QuerySet:
    """What a backup keeps of one model's table."""
    found = model._base_manager.order_by(model._meta.pk.name)
    if model is TusUpload:
        # Their partial bytes are not in the backup: a client starts such an upload again.
        found = found.exclude(state=UploadState.UPLOADING)
    return found


def take_backup(
    dest: Path, *, copy_files: bool = True, say: Callable[[str], None] = lambda line: None
) -> Backup:
    """Write a backup into `dest`, a new or empty folder.

    1. In one read transaction: dump every backed-up model to data.jsonl, list the stored
       files the rows name, and note the applied migrations.
    2. Read each stored file once, 64 KiB at a time: its sha256 and size, checked against the
       database's record, and (unless `copy_files` is off) a copy under files/<key>.
    3. Write manifest.json last: a folder without one is an unfinished backup.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty folder: choose a new one.")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"{dest} cannot be created: {error.strerror}.") from None
    with read_snapshot():
        taken_at = timezone.now()
        with open(dest / DATA, "w", encoding="utf-8") as handle:
            counts = dump_database(handle)
        referenced = referenced_files()
        migrations = applied_migrations()
    say(f"Database: {sum(counts.values())} objects; {len(referenced)} stored files to read.")
    files = [back_up_file(entry, dest, copy_files=copy_files) for entry in referenced]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "taken_at": taken_at.isoformat(),
        "database": {
            "vendor": connections[DEFAULT_DB_ALIAS].vendor,
            "file": DATA,
            "sha256": file_sha256(dest / DATA),
            "counts": counts,
            "migrations": migrations,
        },
        "files_included": copy_files,
        "files": files,
    }
    write_atomically(dest / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return Backup(path=dest, objects=sum(counts.values()), files=files)


@contextmanager
def read_snapshot() -> Iterator[None]:
    """One unchanging view of the database for everything read inside, writers carrying on."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # Must be the transaction's first statement: every later query sees one snapshot.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    if connection.vendor != "sqlite":
        raise BackupError(f"backup knows PostgreSQL and SQLite, not {connection.vendor}.")
    if connection.in_atomic_block:
        raise BackupError("backup must start outside any transaction.")
    # Django's atomic() would BEGIN IMMEDIATE here (see settings), holding the write lock for
    # the whole dump; a deferred transaction under WAL is a read snapshot that blocks nobody.
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


def applied_migrations() -> list[str]:
    """Each migration the database has ("app.name"), so a restore knows its schema."""
    recorder = MigrationRecorder(connections[DEFAULT_DB_ALIAS])
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def dump_database(handle: IO[str]) -> dict[str, int]:
    """Serialize every backed-up row to `handle` (JSON lines); the number of rows per model."""
    counts: dict[str, int] = {}

    def objects() -> Iterator[Model]:
        for model in backed_up_models():
            label = model._meta.label_lower
            counts[label] = 0
            for row in rows(model).iterator(chunk_size=2000):
                counts[label] += 1
                yield row

    serializers.serialize(
        "jsonl", objects(), stream=handle, use_natural_foreign_keys=True, cls=ExactEncoder
    )
    return counts


class ExactEncoder(DjangoJSONEncoder):
    """Django's encoder keeps times to the millisecond only; a restore must give back exactly
    what was there (the queue and the audit trail order by these times)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


def back_up_file(entry: Referenced, dest: Path, *, copy_files: bool) -> dict[str, Any]:
    """Read one stored file: its manifest entry, and its copy under files/<key>."""
    found: dict[str, Any] = {
        "key": entry.key,
        "size": None,
        "sha256": None,
        "recorded_sha256": entry.recorded_sha256 or None,
        "referenced_by": entry.referenced_by,
        "copied": False,
    }
    try:
        validate_file_name(entry.key, allow_relative_path=True)
    except SuspiciousFileOperation:
        return {**found, "status": "bad_key"}  # never a path outside the backup folder
    target = dest / FILES / entry.key if copy_files else None
    try:
        size, sha256 = copy_stored(entry.key, target)
    except FileNotFoundError:
        return {**found, "status": "missing"}
    damaged = bool(entry.recorded_sha256) and entry.recorded_sha256 != sha256
    status = "sha256_mismatch" if damaged else "ok"
    return {**found, "size": size, "sha256": sha256, "copied": target is not None, "status": status}


def copy_stored(key: str, target: Path | None) -> tuple[int, str]:
    """Stream one stored object into `target` (or nowhere), hashing it on the way."""
    digest, size = hashlib.sha256(), 0
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "wb") if target is not None else nullcontext() as out:
            for chunk in read_chunks(key):
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
    except FileNotFoundError:
        if target is not None:
            target.unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(64 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
