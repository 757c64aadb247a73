"""The queue as a CSV file: every job the filters match, streamed in batches of rows.

Customers type the names, companies and notes that end up in these cells, and the file is
opened in spreadsheets that run formulas: a cell that would start a formula is prefixed with a
quote so it is shown as text (OWASP's advice on CSV injection).
"""

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, tzinfo

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from printdesk.catalogue.models import Material
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import REFERENCE_PREFIX, Job

COLUMNS = [
    "Reference",
    "State",
    "Created",
    "In state since",
    "Updated",
    "Customer name",
    "Company",
    "Email",
    "Phone",
    "Material",
    "Colour",
    "Quantity",
    "Desired date",
    "Notes",
]
# Plain values, not model instances: a hundred thousand rows export in seconds, not minutes.
FIELDS = [
    "pk",
    "state",
    "created_at",
    "state_changed_at",
    "updated_at",
    "customer_name",
    "customer_company",
    "customer_email",
    "customer_phone",
    "material_id",
    "colour",
    "quantity",
    "desired_date",
    "notes",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500


def safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _when(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _day(day: date | None) -> str:
    return day.isoformat() if day else ""


def row(values: tuple, materials: dict[int, Material], zone: tzinfo) -> list[str | int]:
    (pk, state, created, changed, updated, name, company, email, phone, material_id, colour,
     quantity, desired, notes) = values  # fmt: skip
    return [
        f"{REFERENCE_PREFIX}{pk:05d}",
        JobState(state).label,
        _when(created, zone),
        _when(changed, zone),
        _when(updated, zone),
        safe(name),
        safe(company),
        safe(email),
        safe(phone),
        safe(materials[material_id].name),
        safe(colour),
        quantity,
        _day(desired),
        safe(notes),
    ]


def lines(jobs: QuerySet[Job], materials: dict[int, Material]) -> Iterator[str]:
    zone = timezone.get_current_timezone()  # once: looking it up per cell is most of the cost
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # The byte order mark tells spreadsheet programs the file is UTF-8, so names keep accents.
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for n, values in enumerate(jobs.values_list(*FIELDS).iterator(chunk_size=2000), start=1):
        writer.writerow(row(values, materials, zone))
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(jobs: QuerySet[Job], materials: dict[int, Material]) -> StreamingHttpResponse:
    filename = f"printdesk-jobs-{timezone.localdate().isoformat()}.csv"
    response = StreamingHttpResponse(lines(jobs, materials), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
