"""The queue's thumbnails: each job's first file as its newest version looks, lazy-loaded at a
fixed size, a neutral placeholder until there is one, and no query per row."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from tests.conftest import sample_upload
from tests.files.analysed import analysed, failed, newest_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

QUEUE = "/desk/"


def row_of(html: str, job) -> str:
    """The queue row of one job."""
    link = f'<a href="{reverse("desk:job", args=[job.reference])}">'
    end = html.index(link)
    return html[html.rindex("<tr>", 0, end) : html.index("</tr>", end)]


def thumbnail_url(job, version) -> str:
    return reverse("desk:file_thumbnail", args=[job.reference, version.pk])


def test_an_analysed_job_shows_its_thumbnail(desk, make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    version = newest_version(job)
    analysed(version)

    row = row_of(desk.get(QUEUE).content.decode(), job)

    assert (
        f'<img class="thumb" src="{thumbnail_url(job, version)}" '
        'alt="Preview of 20mm-xyz-cube.stl" width="48" height="48" loading="lazy"'
    ) in row
    assert desk.get(thumbnail_url(job, version))["Content-Type"] == "image/png"


def test_a_job_not_analysed_yet_shows_a_placeholder(desk, make_job):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])

    row = row_of(desk.get(QUEUE).content.decode(), job)

    assert "<img" not in row
    assert '<span class="thumb thumb-none"><span class="visually-hidden">No preview</span>' in row


def test_a_failed_analysis_shows_the_placeholder(desk, make_job):
    job, _ = make_job()
    failed(newest_version(job), "The file holds no triangles.")

    row = row_of(desk.get(QUEUE).content.decode(), job)

    assert "thumb-none" in row and "<img" not in row


def test_the_thumbnail_is_the_first_files_newest_version(desk, make_job, operator):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl"), sample_upload("7_8ths_cube.stl")])
    first, second = job.files.order_by("id")
    analysed(first.versions.get())
    analysed(second.versions.get())
    actions.revise_file(
        job=job,
        actor=Actor.staff(operator),
        upload=sample_upload("unit_cube.STL"),
        job_file_id=first.pk,
    )
    newest = first.versions.get(number=2)
    analysed(newest)

    row = row_of(desk.get(QUEUE).content.decode(), job)

    assert f'src="{thumbnail_url(job, newest)}"' in row
    assert row.count("<img") == 1
    assert 'alt="Preview of 20mm-xyz-cube.stl"' in row  # the file's name, not the upload's


def test_a_newest_version_still_being_analysed_shows_the_placeholder(desk, make_job, operator):
    job, _ = make_job(files=[sample_upload("20mm-xyz-cube.stl")])
    analysed(newest_version(job))
    actions.revise_file(
        job=job,
        actor=Actor.staff(operator),
        upload=sample_upload("7_8ths_cube.stl"),
        job_file_id=job.files.get().pk,
    )

    row = row_of(desk.get(QUEUE).content.decode(), job)

    assert "thumb-none" in row and "<img" not in row  # never the old version's picture


def test_the_thumbnail_column_has_a_header_for_screen_readers(desk, make_job):
    make_job()

    html = desk.get(QUEUE).content.decode()

    assert (
        '<th scope="col" class="thumb-col"><span class="visually-hidden">Preview</span></th>'
        in (html)
    )


def _queries(client) -> int:
    client.get(QUEUE)  # the dashboard figures, computed once and cached
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE)
    assert response.status_code == 200
    return len(queries)


def test_thumbnails_add_no_query_per_job(desk, make_job, settings):
    settings.DESK_PAGE_SIZE = 50
    counts, made = [], 0
    for total in (2, 12):
        for _ in range(total - made):
            cube, tray = sample_upload("20mm-xyz-cube.stl"), sample_upload("7_8ths_cube.stl")
            job, _ = make_job(files=[cube, tray])
            for job_file in job.files.all():
                analysed(job_file.versions.get())
        made = total
        cache.clear()
        counts.append(_queries(desk))
        html = desk.get(QUEUE).content.decode()
        assert len(re.findall(r'<img class="thumb"', html)) == total

    assert counts[0] == counts[1], counts
