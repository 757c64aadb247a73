"""The list of bodies moves out of `Analysis.metrics` into a column of its own, so the pages
that need only the count load a few hundred bytes per file instead of up to a thousand bodies.

Safe while the old code serves (tests/test_migrations_safe.py): the column is nullable, and a
row the old worker records meanwhile keeps its bodies in `metrics`, where Analysis.report
still finds them."""

from django.db import migrations, models

BATCH = 500


def split_bodies(apps, schema_editor):
    Analysis = apps.get_model("files", "Analysis")
    _move(Analysis, Analysis.objects.filter(metrics__has_key="bodies"), out=True)


def merge_bodies(apps, schema_editor):
    Analysis = apps.get_model("files", "Analysis")
    _move(Analysis, Analysis.objects.filter(bodies__isnull=False), out=False)


def _move(Analysis, rows, *, out: bool) -> None:
    changed = []
    for row in rows.order_by("id").iterator(chunk_size=BATCH):
        if out:
            row.bodies = row.metrics.pop("bodies")
        else:
            row.metrics["bodies"], row.bodies = row.bodies, None
        changed.append(row)
        if len(changed) >= BATCH:
            Analysis.objects.bulk_update(changed, ["metrics", "bodies"])
            changed = []
    Analysis.objects.bulk_update(changed, ["metrics", "bodies"])


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0006_analyse_existing_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="analysis",
            name="bodies",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(split_bodies, merge_bodies),
    ]
