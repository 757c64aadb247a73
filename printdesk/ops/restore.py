"""Restoring a backup (printdesk/ops/backup.py) into an empty installation."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.files.utils import validate_file_name
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader

from printdesk.catalogue.models import Bureau
from printdesk.ops.backup import (
    DATA,
    FILES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    STATUSES,
    backed_up_models,
    file_sha256,
)
from printdesk.ops.stored import read_chunks

# Rows a fresh installation may already hold: the bureau's row appears on the first page
# view (Bureau.current), and the backup's own replaces it.
MAY_EXIST = {Bureau}


class RestoreRefused(Exception):
    """The restore did not start (the message says why): nothing was changed."""


class RestoreFailed(Exception):
    """The database did not load (rolled back); files already copied stay for the next try."""


@dataclass
class Restored:
    counts: dict[str, int] = field(default_factory=dict)
    files_copied: int = 0
    files_already_there: int = 0
    bytes_copied: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def restore_backup(source: Path, *, say: Callable[[str], None] = lambda line: None) -> Restored:
    """Restore the backup in `source` into this installation's database and storage.

    1. Read the manifest and check the data file against its sha256; refuse a backup that
       has migrations this code does not know (taken by a newer printdesk).
    2. Refuse, touching nothing, if the database holds rows a backup restores, or storage
       holds one of the backup's keys with other content.
    3. Migrate, then copy each file into storage and read it back: its sha256 must be the
       manifest's. A file that fails is taken out of storage again and listed.
    4. Load the data (loaddata: one transaction), reset the sequences, compare the row
       counts with the manifest's.
    """
    source = Path(source)
    manifest = read_manifest(source)
    since = check_migrations(manifest["database"]["migrations"])
    if since:
        say(
            f"The backup predates {since} of this version's migrations: its data is loaded "
            "into the newer schema (docs/operations.md, Restoring)."
        )
    check_database_empty()
    present = check_storage(manifest["files"])
    call_command("migrate", interactive=False, verbosity=0)
    result = Restored()
    say(f"Copying {len(manifest['files'])} stored files into storage and verifying each...")
    for entry in manifest["files"]:
        restore_file(source, entry, present, result)
    say("Loading the database...")
    try:
        call_command("loaddata", str(source / DATA), verbosity=0)
    except Exception as error:  # loaddata's errors are many (bad data, a missing user, ...)
        raise RestoreFailed(
            f"Loading the database failed and was rolled back: {error}. The files copied so "
            "far stay in storage; a new attempt with a fixed backup skips them."
        ) from error
    reset_sequences()
    check_counts(manifest["database"]["counts"], result)
    return result


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise RestoreRefused(f"{source} holds no {MANIFEST}: not a backup, or an unfinished one.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        database, files = manifest["database"], manifest["files"]
        valid = (
            manifest["format"] == FORMAT
            and isinstance(database["counts"], dict)
            and isinstance(database["migrations"], list)
            and all(_entry_is_valid(entry) for entry in files)
        )
    except (ValueError, KeyError, TypeError) as error:
        raise RestoreRefused(f"{path} cannot be read as a printdesk manifest ({error}).") from None
    if not valid:
        raise RestoreRefused(f"{path} is not a printdesk backup manifest.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise RestoreRefused(
            f"{path} has format version {manifest.get('format_version')!r}; "
            f"this printdesk reads version {FORMAT_VERSION}."
        )
    data = source / DATA
    if not data.is_file() or file_sha256(data) != database.get("sha256"):
        raise RestoreRefused(
            f"{data} is missing or does not match its sha256 in the manifest: "
            "the backup is damaged."
        )
    return manifest


def _entry_is_valid(entry: dict[str, Any]) -> bool:
    if entry["status"] not in STATUSES or not isinstance(entry["key"], str):
        return False
    if entry["status"] == "bad_key":
        return True  # listed, never used as a path
    try:
        validate_file_name(entry["key"], allow_relative_path=True)
    except SuspiciousFileOperation:
        return False  # a key naming a path outside the backup or the storage
    return entry["sha256"] is None or isinstance(entry["sha256"], str)


def check_migrations(taken_with: list[str]) -> int:
    """How many of this code's migrations the backup's database had not run yet."""
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    unknown = sorted(set(taken_with) - known)
    if unknown:
        raise RestoreRefused(
            "The backup was taken by a newer printdesk: these migrations are not in this "
            f"version: {', '.join(unknown)}. Restore it with the version that took it."
        )
    return len(known - set(taken_with))


def check_database_empty() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    tables = set(connection.introspection.table_names())
    held = {
        model._meta.label_lower: model._base_manager.count()
        for model in backed_up_models()
        if model._meta.db_table in tables and model not in MAY_EXIST
    }
    held = {label: count for label, count in held.items() if count}
    if held:
        listed = ", ".join(f"{count} {label}" for label, count in sorted(held.items()))
        raise RestoreRefused(
            f"The database is not empty ({listed}). restore only fills a new installation, "
            "to leave nothing half-merged. Nothing was changed."
        )


def check_storage(files: list[dict[str, Any]]) -> set[str]:
    """The backup's keys storage already holds with the same bytes; refuse any other content."""
    present, clashing = set(), []
    for entry in files:
        if not entry.get("sha256") or entry["status"] == "bad_key":
            continue
        stored = stored_sha256(entry["key"])
        if stored == entry["sha256"]:
            present.add(entry["key"])
        elif stored is not None:
            clashing.append(entry["key"])
    if clashing:
        raise RestoreRefused(
            f"Storage already holds {len(clashing)} of the backup's files with other content "
            f"({', '.join(clashing[:5])}{', ...' if len(clashing) > 5 else ''}). "
            "Restore into empty storage. Nothing was changed."
        )
    return present


def stored_sha256(key: str) -> str | None:
    """The sha256 of the object storage holds under `key`, or None if it holds none."""
    digest = hashlib.sha256()
    try:
        for chunk in read_chunks(key):
            digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def restore_file(source: Path, entry: dict[str, Any], present: set[str], result: Restored) -> None:
    key, owners = entry["key"], ", ".join(entry.get("referenced_by") or [])
    if entry["status"] in ("missing", "bad_key"):
        result.warnings.append(f"{key}: {entry['status']} when the backup was taken ({owners}).")
        return
    if entry["status"] == "sha256_mismatch":
        result.warnings.append(
            f"{key}: already differed from the database's sha256 when the backup was taken "
            f"({owners}); restored as it was then."
        )
    if key in present:
        result.files_already_there += 1
        return
    copy = source / FILES / key
    if not entry.get("copied") or not copy.is_file():
        where = "the backup was taken with --no-files" if not entry.get("copied") else "its copy"
        result.failures.append(
            f"{key}: not in storage, and {where} is not in the backup ({owners})."
        )
        return
    with open(copy, "rb") as handle:
        saved = default_storage.save(key, File(handle, name=key))
    stored = stored_sha256(saved)
    if saved != key or stored != entry["sha256"]:
        default_storage.delete(saved)  # never leave bytes the database would trust
        result.failures.append(
            f"{key}: failed verification (sha256 {stored}, manifest says {entry['sha256']}): "
            f"the backup's copy is damaged or was changed; not restored ({owners})."
        )
        return
    result.files_copied += 1
    result.bytes_copied += entry.get("size") or 0


def reset_sequences() -> None:
    """Make the next id of every table follow the restored rows (PostgreSQL; SQLite needs none)."""
    connection = connections[DEFAULT_DB_ALIAS]
    statements = connection.ops.sequence_reset_sql(no_style(), backed_up_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def check_counts(expected: dict[str, int], result: Restored) -> None:
    for label, count in expected.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            result.failures.append(f"{label}: {count} rows in the backup, no such model here.")
            continue
        result.counts[label] = loaded = model._base_manager.count()
        if loaded != count and not (model in MAY_EXIST and loaded > count):
            result.failures.append(f"{label}: {loaded} rows loaded, the backup has {count}.")
