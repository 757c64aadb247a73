"""The sha256 kept while chunks arrive: it must always equal the hash of the stored bytes,
whichever process served which chunk and whatever went wrong between them. (Connections cut
mid-chunk are covered by test_tuspy.py, which checks the stored sha256 after 50 cuts.)"""

import hashlib
from pathlib import Path

from printdesk.uploads.actions import RunningHashes, running_hashes
from printdesk.uploads.models import TusUpload

from .conftest import PART, sha1_header

WHOLE = hashlib.sha256(PART).hexdigest()


def row(url: str) -> TusUpload:
    return TusUpload.objects.get(uuid=url.rstrip("/").rsplit("/", 1)[-1])


def forget_every_running_hash() -> None:
    """What another web process, or this one after a restart, knows: nothing."""
    running_hashes.__init__()  # type: ignore[misc]


def test_chunks_in_one_process_give_the_files_sha256(draft):
    url = draft.create()["Location"]
    for start in range(0, len(PART), 100):
        assert draft.patch(url, PART[start : start + 100], start).status_code == 204
    assert row(url).sha256 == WHOLE


def test_a_chunk_served_by_another_process_falls_back_to_hashing_the_file(draft):
    url = draft.create()["Location"]
    draft.patch(url, PART[:300], 0)
    forget_every_running_hash()
    assert draft.patch(url, PART[300:], 300).status_code == 204
    assert row(url).sha256 == WHOLE


def test_a_refused_checksum_leaves_no_trace_in_the_hash(draft):
    url = draft.create()["Location"]
    draft.patch(url, PART[:10], 0)
    wrong = draft.patch(url, PART[10:50], 10, **{"Upload-Checksum": sha1_header(b"other")})
    assert wrong.status_code == 460
    assert draft.patch(url, PART[10:], 10).status_code == 204
    assert row(url).sha256 == WHOLE


def test_bytes_lost_after_a_crash_rewind_the_upload_and_retire_the_kept_hash(draft, settings):
    url = draft.create()["Location"]
    draft.patch(url, PART[:300], 0)
    partial = Path(settings.MEDIA_ROOT) / "uploads-partial" / str(row(url).uuid)
    with partial.open("r+b") as file:
        file.truncate(100)  # synced data lost (a power cut on the storage host)
    assert draft.head(url)["Upload-Offset"] == "100"
    assert row(url).rewinds == 1
    # A client that resends different bytes from 100 on: the old pass over 100..300 must not
    # be continued even when the offset reaches 300 again.
    other = bytes(b ^ 0xFF for b in PART[100:300])
    draft.patch(url, other, 100)
    draft.patch(url, PART[300:], 300)
    stored = row(url)
    assert stored.sha256 == hashlib.sha256(PART[:100] + other + PART[300:]).hexdigest()


def test_it_remembers_a_bounded_number_of_uploads():
    hashes = RunningHashes()
    for n in range(RunningHashes.LIMIT + 10):
        hashes.keep(f"upload-{n}", 5, hashlib.sha256(b"12345"))
    assert hashes.take("upload-0", 5) is None  # the oldest went first
    newest = hashes.take(f"upload-{RunningHashes.LIMIT + 9}", 5)
    assert newest.hexdigest() == hashlib.sha256(b"12345").hexdigest()
    assert hashes.take("upload-x", 0).hexdigest() == hashlib.sha256().hexdigest()
    assert hashes.take("upload-x", 7) is None
