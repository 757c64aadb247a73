"""Queue an analysis for every file version stored before analysis existed, so an upgraded
installation gets its files measured by the worker (STEP is recorded as not analysed)."""

from django.db import migrations
from django.utils import timezone

ANALYSED = ("stl", "3mf", "obj")
BATCH = 1000


def _extension(key: str) -> str:
    return key.rsplit(".", 1)[-1].lower() if "." in key else ""


def queue_existing(apps, schema_editor):
    FileVersion = apps.get_model("files", "FileVersion")
    Analysis = apps.get_model("files", "Analysis")
    now = timezone.now()
    waiting = FileVersion.objects.filter(analysis__isnull=True).order_by("id")
    rows = []
    for version_id, key in waiting.values_list("id", "blob").iterator(chunk_size=BATCH):
        state = "pending" if _extension(key) in ANALYSED else "unsupported"
        rows.append(Analysis(version_id=version_id, state=state, next_attempt_at=now))
        if len(rows) >= BATCH:
            Analysis.objects.bulk_create(rows)
            rows = []
    Analysis.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0005_analysis"),
    ]

    operations = [
        # Going back drops the table with 0005; nothing to undo here.
        migrations.RunPython(queue_existing, migrations.RunPython.noop),
    ]
