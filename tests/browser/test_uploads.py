"""The browser uploader with a 50 MB file: a dropped connection, and a reload mid-upload.

The uploader sends small chunks here (the form's data-chunk-bytes, set as the page allows any
script to), so the test can step in while the file is on its way; it watches the server's
recorded offset to know when.
"""

import hashlib
import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from printdesk.files.models import FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.uploads.models import OwnerKind, TusUpload, UploadState
from tests.browser.conftest import log_in, serious_violations, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1_000_000
CHUNK = 1024 * 1024


def binary_stl(path: Path, size: int) -> Path:
    """A valid binary STL of about `size` bytes: header, facet count, 50 bytes per facet."""
    count = (size - 84) // 50
    facet = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    with path.open("wb") as out:
        out.write(b"printdesk browser test".ljust(80, b" "))
        out.write(struct.pack("<I", count))
        for _ in range(count // 10_000):
            out.write(facet * 10_000)
        out.write(facet * (count % 10_000))
    return path


@pytest.fixture
def big_stl(tmp_path) -> Path:
    return binary_stl(tmp_path / "big-bracket.stl", 50 * MB)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def offset() -> int:
    upload = TusUpload.objects.first()
    return upload.offset if upload is not None else 0


def open_form(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Your name").fill("Cara Customer")
    page.get_by_label("Email address").fill("cara@example.com")
    page.get_by_label("Material").select_option(label="PLA — Everyday plastic")
    page.get_by_label("Colour").select_option("black")
    page.get_by_label("Quantity").fill("1")
    page.evaluate(
        """chunk => {
            const form = document.querySelector("form[data-uploader]");
            form.dataset.chunkBytes = String(chunk);
            form.dataset.retryBaseMs = "100";
        }""",
        CHUNK,
    )


def send_and_check(page: Page, source: Path) -> None:
    row = page.locator(".upload-row")
    expect(row).to_contain_text("Received", timeout=60_000)
    with page.expect_navigation():
        page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Thank you: your request is in")).to_be_visible()
    version = FileVersion.objects.get()
    assert version.original_name == source.name
    assert version.size == source.stat().st_size
    assert version.sha256 == sha256(source)


def test_an_upload_survives_a_dropped_connection(page, catalogue, big_stl):
    open_form(page)
    button = page.get_by_role("button", name="Send request")
    page.get_by_label("Print files").set_input_files(big_stl)
    expect(button).to_be_disabled()
    expect(page.locator(".upload-summary")).to_contain_text("once every file has arrived")
    wait_for(page, lambda: offset() >= 5 * MB)

    page.context.set_offline(True)
    expect(page.locator(".upload-row[data-retrying]")).to_contain_text("Connection lost")
    stopped = offset()
    assert 0 < stopped < big_stl.stat().st_size
    page.context.set_offline(False)

    send_and_check(page, big_stl)
    assert TusUpload.objects.get().state == UploadState.COMPLETE  # one upload, resumed


def test_an_upload_continues_after_a_reload(page, catalogue, big_stl):
    open_form(page)
    page.get_by_label("Print files").set_input_files(big_stl)
    wait_for(page, lambda: offset() >= 5 * MB)

    page.reload()
    before = offset()
    assert 0 < before < big_stl.stat().st_size
    open_form(page)
    page.get_by_label("Print files").set_input_files(big_stl)

    row = page.locator(".upload-row")
    wait_for(page, lambda: row.get_attribute("data-resumed-from") is not None)
    assert int(row.get_attribute("data-resumed-from") or 0) >= before
    send_and_check(page, big_stl)
    assert TusUpload.objects.count() == 1  # the same upload, not a new one


def test_an_upload_pauses_resumes_and_a_refused_file_says_why(page, catalogue, tmp_path):
    part = binary_stl(tmp_path / "part.stl", 10 * MB)
    fake = tmp_path / "notes.stl"
    fake.write_text("these are my notes, not a model\n" * 10)
    open_form(page)
    page.evaluate('document.querySelector("form[data-uploader]").dataset.chunkBytes = "262144"')
    button = page.get_by_role("button", name="Send request")

    page.get_by_label("Print files").set_input_files(part)
    wait_for(page, lambda: offset() >= MB)
    page.get_by_role("button", name="Pause part.stl").click()
    expect(page.get_by_role("button", name="Resume part.stl")).to_be_visible()
    expect(page.locator(".upload-row")).to_contain_text("paused")
    assert offset() < part.stat().st_size
    expect(button).to_be_disabled()
    page.get_by_role("button", name="Resume part.stl").click()
    expect(page.locator(".upload-row")).to_contain_text("Received", timeout=30_000)
    expect(button).to_be_enabled()

    page.get_by_label("Print files").set_input_files(fake)
    refused = page.locator(".upload-row", has_text="notes.stl")
    expect(refused.get_by_role("alert")).to_contain_text("notes.stl")
    expect(button).to_be_disabled()
    expect(page.locator(".upload-summary")).to_contain_text("could not be uploaded")
    assert serious_violations(page) == []  # rows, progress bars, buttons, the error
    refused.get_by_role("button", name="Remove notes.stl").click()
    expect(refused).to_have_count(0)
    expect(button).to_be_enabled()

    send_and_check(page, part)


def test_an_operator_sends_a_revision_through_the_uploader(page, make_job, operator, tmp_path):
    """The desk's revision form goes by tus too (behind the proxy, only /uploads/ takes large
    bodies): under the desk session, counted for the job, then posted as its upload id."""
    job, _ = make_job(JobState.QUOTED)
    source = binary_stl(tmp_path / "bracket-fixed.stl", 12 * MB)
    log_in(page, "olga", "pw-olga")
    page.goto(f"/desk/jobs/{job.reference}/")
    page.get_by_text("Upload a revised file…").click()
    page.evaluate(
        """chunk => {
            document.querySelector("form[data-uploader]").dataset.chunkBytes = String(chunk);
        }""",
        CHUNK,
    )

    page.get_by_label("Revised file").set_input_files(source)
    expect(page.locator(".upload-row")).to_contain_text("Received", timeout=60_000)
    upload = TusUpload.objects.get()
    assert (upload.owner_kind, upload.user, upload.job) == (OwnerKind.STAFF, operator, job)
    page.get_by_label("Replaces").select_option(label=f"a new version of {job.files.get().name}")
    with page.expect_navigation():
        page.get_by_role("button", name="Upload file").click()

    expect(page.get_by_text("Version 2 of bracket-fixed.stl added.")).to_be_visible()
    version = job.files.get().versions.get(number=2)
    assert (version.size, version.sha256) == (source.stat().st_size, sha256(source))
    assert not TusUpload.objects.exists()
