"""GET /desk/export.csv: the queue's filtered list as a CSV file."""

import csv
import io

import pytest
from django.utils import timezone

from printdesk.desk import queue_export
from printdesk.jobs.lifecycle import JobState

EXPORT = "/desk/export.csv"


def _table(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_it_exports_every_matching_job_with_a_header_row(desk, make_job, catalogue, settings):
    settings.DESK_PAGE_SIZE = 1  # every row, not just one page
    first, _ = make_job(customer_company="Cogs Ltd", notes="Matte finish")
    second, _ = make_job(material_id=catalogue["resin"].pk, colour="", quantity=7)

    response = desk.get(EXPORT)

    rows = _table(response)
    assert rows[0][:4] == ["Reference", "State", "Created", "In state since"]
    assert "Customer name" in rows[0] and "Notes" in rows[0]
    assert [row[0] for row in rows[1:]] == [second.reference, first.reference]
    header = rows[0]
    record = dict(zip(header, rows[2], strict=True))
    assert record["State"] == "Submitted"
    assert record["Company"] == "Cogs Ltd"
    assert record["Email"] == "cara@example.com"
    assert record["Material"] == "PLA"
    assert record["Notes"] == "Matte finish"
    assert dict(zip(header, rows[1], strict=True))["Quantity"] == "7"


def test_it_is_an_attachment_with_a_dated_name(desk):
    response = desk.get(EXPORT)

    today = timezone.localdate().isoformat()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="printdesk-jobs-{today}.csv"'


def test_it_applies_the_queues_filters_tab_and_sort(desk, make_job, catalogue):
    make_job(customer_name="Ellen Ripley")  # wrong material
    resin_old, _ = make_job(customer_name="Ellen Ripley", material_id=catalogue["resin"].pk)
    resin_new, _ = make_job(customer_name="Ellen Ripley", material_id=catalogue["resin"].pk)
    make_job(JobState.DISPATCHED, customer_name="Ellen Ripley", material_id=catalogue["resin"].pk)

    params = {"q": "ripley", "material": catalogue["resin"].pk, "sort": "created"}
    rows = _table(desk.get(EXPORT, params))

    assert [row[0] for row in rows[1:]] == [resin_old.reference, resin_new.reference]
    everything = _table(desk.get(EXPORT, {**params, "state": "all"}))
    assert len(everything) == 1 + 3


def test_the_queue_links_to_the_export_with_its_filters(desk, make_job, catalogue):
    make_job()

    html = desk.get("/desk/", {"q": "cara", "state": "all", "page": "1"}).content.decode()

    assert '<a class="button secondary" href="/desk/export.csv?state=all&amp;q=cara"' in html
    assert ">Export CSV</a>" in html


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)"])
def test_cells_that_would_start_a_formula_are_made_text(desk, make_job, evil):
    make_job(customer_name=evil, notes=evil, customer_company=evil)

    header, row = _table(desk.get(EXPORT))
    record = dict(zip(header, row, strict=True))

    for column in ("Customer name", "Company", "Notes"):
        assert record[column] == "'" + evil


@pytest.mark.parametrize("evil", ["\t=1+1", "\r=1+1"])
def test_cells_starting_with_a_tab_or_carriage_return_are_made_text(evil):
    # The request form strips names and notes, so these only arrive through other paths.
    assert queue_export.safe(evil) == "'" + evil


def test_ordinary_text_is_left_alone(desk, make_job):
    make_job(customer_name="Zoë O'Brien, Jr.", notes='Says "hi"\nand more')

    header, row = _table(desk.get(EXPORT))
    record = dict(zip(header, row, strict=True))

    assert record["Customer name"] == "Zoë O'Brien, Jr."
    assert record["Notes"] == 'Says "hi"\nand more'


def test_bad_filters_are_ignored_not_fatal(desk, make_job):
    job, _ = make_job()

    rows = _table(desk.get(EXPORT, {"created_from": "soon", "material": "x", "sort": "?"}))

    assert [row[0] for row in rows[1:]] == [job.reference]


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"].startswith("/desk/login/")


def test_a_user_who_is_not_staff_is_refused(client, stranger_user):
    client.force_login(stranger_user)

    assert client.get(EXPORT).status_code == 403


def test_an_admin_may_export(client, admin):
    client.force_login(admin)

    assert _table(client.get(EXPORT))[1:] == []


def test_the_export_only_answers_get(desk):
    assert desk.post(EXPORT).status_code == 405
