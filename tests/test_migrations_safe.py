"""Migrations must run while the old version still serves (docs/operations.md, "Upgrades").

During an upgrade the new migrations run first, then the web processes and workers restart
onto the new code; until they have, the old code reads and writes the migrated tables. So a
release's migrations may only expand the schema:

- a new NOT NULL column needs `db_default`: the old code's INSERTs do not name it, and a
  Python-side `default` exists only in the new code (the column is created with it, then the
  database default is dropped again);
- a column or table is dropped or renamed only in a later release than the one whose code
  stopped using it (expand, then contract). Such a migration is listed in CONTRACTS below,
  with the release that stopped using what it drops.

The test walks every printdesk migration's operations; those in BASELINE predate this rule.
"""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations import operations as ops
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from printdesk.catalogue.models import Material, Printer

# Printdesk migrations from before the rule (issue 8) that it would refuse. Each ran in a
# release whose upgrade notes said to stop the site first.
BASELINE = {
    "catalogue.0003_material_prices",
    "files.0002_initial",  # foreign keys of tables new in the same release
    "jobs.0009_link_nonce_and_email_resent",
    "notifications.0004_snapshot_and_resend",
    "uploads.0002_rewinds",
}

# "app.migration": why the old code no longer needs what it drops or renames.
CONTRACTS: dict[str, str] = {}

DROPS = (ops.RemoveField, ops.RenameField, ops.DeleteModel, ops.RenameModel)


def unsafe_operations() -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = {
        config.label for config in apps.get_app_configs() if config.name.startswith("printdesk.")
    }
    found = []
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        label = f"{app}.{name}"
        if app not in ours or label in BASELINE:
            continue
        state = loader.project_state((app, name), at_end=False)
        for operation in migration.operations:
            problem = _problem(app, operation, state)
            if problem and not (isinstance(operation, DROPS) and label in CONTRACTS):
                found.append(f"{label}: {problem}")
            operation.state_forwards(app, state)
    return found


def _problem(app: str, operation: ops.base.Operation, state) -> str | None:
    if isinstance(operation, DROPS):
        return f"{operation.describe()}: drop or rename only in a later release (CONTRACTS)"
    if isinstance(operation, ops.AddField) and _needs_db_default(operation.field):
        return f"{operation.describe()}: NOT NULL without db_default"
    if isinstance(operation, ops.AlterField):
        before = state.models[app, operation.model_name_lower].fields[operation.name]
        if before.db_column != operation.field.db_column:
            return f"{operation.describe()}: renames the column"
        if before.null and _needs_db_default(operation.field):
            return f"{operation.describe()}: becomes NOT NULL without db_default"
    return None


def _needs_db_default(field: models.Field) -> bool:
    if field.many_to_many or field.null:
        return False
    return field.db_default is models.NOT_PROVIDED


def test_every_migration_can_run_while_the_old_code_serves():
    assert unsafe_operations() == []


@pytest.mark.django_db(transaction=True)
def test_the_previous_release_still_adds_materials_and_printers_after_the_upgrade():
    """catalogue 0004 added NOT NULL columns: the old code's INSERTs, which do not name them,
    must still work (they take the columns' database default)."""
    executor = MigrationExecutor(connection)
    executor.migrate([("catalogue", "0003_material_prices")])
    executor = MigrationExecutor(connection)
    executor.migrate([("catalogue", "0004_estimate_fields")])

    with connection.cursor() as cursor:  # as the release before 0004 writes them
        cursor.execute(
            "INSERT INTO catalogue_material (name, process, description, colours, active,"
            " price_per_cm3, setup_fee, minimum_charge) VALUES (%s, %s, '', '[]', %s, 0, 0, 0)",
            ["Old PLA", "fdm", True],
        )
        cursor.execute(
            "INSERT INTO catalogue_printer (name, process, build_x_mm, build_y_mm, build_z_mm,"
            " active) VALUES (%s, %s, 200, 200, 200, %s)",
            ["Old MK3", "fdm", True],
        )

    material = Material.objects.get(name="Old PLA")
    assert (material.price_per_gram, material.density_g_cm3) == (0, 0)
    assert Printer.objects.get(name="Old MK3").throughput_cm3_h == 0
