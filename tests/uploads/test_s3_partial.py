"""Partial uploads kept in the bucket (uploads/chunks_s3.py), against moto's server: any web
process can take any PATCH, so nothing of an upload in progress lives on one machine."""

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from printdesk.files.models import DraftUpload
from printdesk.uploads import actions, chunks
from printdesk.uploads.actions import running_hashes
from printdesk.uploads.chunks_s3 import S3Partials
from printdesk.uploads.models import TusUpload, UploadState
from tests.s3 import Bucket
from tests.storage.test_s3_files import binary_stl

from .conftest import Tus

MIB = 1024 * 1024
LARGE = binary_stl(13 * MIB + 12_345)
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def row(url: str) -> TusUpload:
    return TusUpload.objects.get(uuid=url.rstrip("/").rsplit("/", 1)[-1])


def multiparts(bucket: Bucket) -> list[dict]:
    return bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])


def partial_keys(bucket: Bucket) -> list[str]:
    return [key for key in bucket.keys() if key.startswith("uploads-partial/")]


def send(tus: Tus, url: str, data: bytes, sizes: list[int], offset: int = 0) -> None:
    """PATCH `data` from `offset` in pieces of these sizes (the last piece takes the rest)."""
    for size in [*sizes, len(data)]:
        piece = data[offset : offset + size]
        if not piece:
            break
        response = tus.patch(url, piece, offset)
        assert response.status_code == 204, response.content
        offset += len(piece)


def forget_every_running_hash() -> None:
    running_hashes.__init__()  # type: ignore[misc]


class Killed(BaseException):
    """What a SIGKILL does to a request: it stops mid-body, running no more of our code."""


def killed_after(data: bytes, limit: int):
    stream = io.BytesIO(data)

    def read(size: int) -> bytes:
        if stream.tell() >= limit:
            raise Killed
        return stream.read(min(size, limit - stream.tell()))

    return read


def test_odd_chunks_become_parts_and_a_tail_and_complete_in_place(s3_storage, staff):
    url = staff.create(len(LARGE), "large.stl")["Location"]

    staff.patch(url, LARGE[: MIB + 7], 0)  # under 5 MiB: a tail object, no part yet
    upload = row(url)
    assert upload.offset == MIB + 7 and upload.s3_parts == []
    assert partial_keys(s3_storage) == [upload.s3_tail]
    assert s3_storage.body(upload.s3_tail) == LARGE[: MIB + 7]
    [pending] = multiparts(s3_storage)
    assert pending["Key"] == upload.s3_key  # started under the final file's key

    send(staff, url, LARGE, [3 * MIB, 6 * MIB + 3, 1], offset=MIB + 7)
    upload = row(url)

    assert upload.state == UploadState.COMPLETE
    assert upload.stored_key == upload.s3_key
    assert s3_storage.keys() == [upload.stored_key]  # no copy, no tail left behind
    assert multiparts(s3_storage) == []
    assert s3_storage.sha256(upload.stored_key) == sha256(LARGE) == upload.sha256
    # The first two PATCHes waited as a tail (4 MiB), went up with the third as one part
    # (over 5 MiB); the fourth's single byte waited as a tail, sent with the last PATCH.
    first = MIB + 7 + 3 * MIB + 6 * MIB + 3
    assert [size for _, _, size in upload.s3_parts] == [first, len(LARGE) - first]
    assert s3_storage.etag(upload.stored_key).endswith("-2")


def test_each_patch_may_go_to_another_process_and_the_sha256_is_read_back(s3_storage, draft):
    url = draft.create(len(LARGE), "large.stl")["Location"]
    for start in range(0, len(LARGE), 3 * MIB):
        forget_every_running_hash()  # every chunk served by a process that saw none before
        assert draft.patch(url, LARGE[start : start + 3 * MIB], start).status_code == 204

    upload = row(url)
    assert upload.state == UploadState.COMPLETE
    assert upload.sha256 == sha256(LARGE) == s3_storage.sha256(upload.stored_key)
    assert DraftUpload.objects.get().blob.name == upload.stored_key


def test_a_request_killed_mid_patch_loses_only_what_was_not_recorded(s3_storage, staff):
    url = staff.create(len(LARGE), "large.stl")["Location"]
    staff.patch(url, LARGE[: 2 * MIB], 0)
    upload = row(url)
    body = LARGE[2 * MIB :]
    with pytest.raises(Killed):  # a part went up (8 MiB), and nothing was recorded
        actions.append(
            upload=upload,
            offset=2 * MIB,
            read=killed_after(body, 11 * MIB),
            content_length=len(body),
            checksum=None,
        )
    upload.refresh_from_db()
    sent = s3_storage.client.list_parts(
        Bucket=s3_storage.name, Key=upload.s3_key, UploadId=upload.s3_upload_id
    )["Parts"]
    assert [part["Size"] for part in sent] == [8 * MIB] and upload.s3_parts == []
    # A killed process leaves its lock behind, released by nobody: it runs out.
    TusUpload.objects.filter(pk=upload.pk).update(
        lock_owner="dead", lock_expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert staff.patch(url, body, 2 * MIB).status_code == 423
    TusUpload.objects.filter(pk=upload.pk).update(lock_expires_at=timezone.now())

    assert staff.head(url)["Upload-Offset"] == str(2 * MIB)  # only what S3 holds for sure
    forget_every_running_hash()  # the client resumes against another process
    send(staff, url, LARGE, [5 * MIB], offset=2 * MIB)  # resent in other sizes: new parts
    upload = row(url)
    assert upload.state == UploadState.COMPLETE
    assert s3_storage.sha256(upload.stored_key) == sha256(LARGE) == upload.sha256
    assert multiparts(s3_storage) == [] and partial_keys(s3_storage) == []


def test_a_patch_while_another_request_holds_the_upload_is_423(s3_storage, staff):
    url = staff.create()["Location"]
    with S3Partials().writer(row(url)):
        assert staff.patch(url, b"x" * 10, 0).status_code == 423
        assert staff.head(url)["Upload-Offset"] == "0"
        assert staff.delete(url).status_code == 423
    assert row(url).lock_owner == ""  # released: the next request gets it
    assert staff.patch(url, b"x" * 10, 0).status_code == 204


def test_where_to_resume_is_read_without_taking_the_lock(s3_storage, staff):
    """HEAD and status read the recorded offset (S3 holds every byte it counts): no writes, so
    a client checking often costs the database nothing, and a PATCH in flight is not held up."""
    url = staff.create(len(LARGE), "large.stl")["Location"]
    send(staff, url, LARGE[: 6 * MIB], [6 * MIB])

    with CaptureQueriesContext(connection) as queries:
        assert staff.head(url)["Upload-Offset"] == str(6 * MIB)
        status = staff.client.get(url + "status", headers=staff.credentials).json()
        assert (status["state"], status["offset"]) == ("uploading", 6 * MIB)

    assert not [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_lock_taken_over_after_its_lease_ran_out_refuses_the_old_holders_bytes(s3_storage, staff):
    url = staff.create(len(LARGE), "large.stl")["Location"]
    upload = row(url)
    with S3Partials().writer(upload) as stale:
        stale.rewind()
        stale.write(LARGE[:100])
        # The lease runs out (the holder stalled) and another request takes the upload.
        TusUpload.objects.filter(pk=upload.pk).update(lock_owner="other")
        with pytest.raises(chunks.Busy):
            stale.commit(100)
    assert row(url).offset == 0
    assert partial_keys(s3_storage) == []  # its tail object went again


def test_termination_aborts_the_multipart_upload_and_deletes_the_tail(s3_storage, staff):
    url = staff.create(len(LARGE), "large.stl")["Location"]
    send(staff, url, LARGE[: 9 * MIB], [8 * MIB])  # a part and a tail
    assert len(multiparts(s3_storage)) == 1 and len(partial_keys(s3_storage)) == 1

    assert staff.delete(url).status_code == 204

    assert multiparts(s3_storage) == []
    assert s3_storage.keys() == []
    assert staff.head(url).status_code == 404


def test_expired_uploads_are_aborted_and_deleted_by_the_housekeeping(s3_storage, staff, clock):
    url = staff.create(len(LARGE), "large.stl")["Location"]
    send(staff, url, LARGE[: 6 * MIB], [])
    kept = row(staff.upload()).stored_key  # a finished upload's file stays
    clock.offset += timedelta(days=2)

    assert actions.prune_expired() == 2

    assert multiparts(s3_storage) == []
    assert s3_storage.keys() == [kept]
    assert not TusUpload.objects.exists()


def test_a_file_the_content_checks_refuse_leaves_nothing_in_the_bucket(s3_storage, draft):
    junk = bytes(range(256)) * (7 * MIB // 256)  # binary, and no STL's size
    url = draft.create(len(junk), "junk.stl")["Location"]
    send(draft, url, junk, [3 * MIB])

    response = draft.head(url)
    assert "is not an STL file" in response["Upload-Refused"]
    assert row(url).state == UploadState.REFUSED
    assert s3_storage.keys() == []
    assert multiparts(s3_storage) == []
    assert not DraftUpload.objects.exists()


def test_a_file_over_a_lowered_limit_is_refused_and_aborted(s3_storage, draft, settings):
    url = draft.create(len(LARGE), "large.stl")["Location"]
    send(draft, url, LARGE[: 6 * MIB], [])  # one 6 MiB part
    settings.MAX_FILE_BYTES = 10 * MIB  # the limit fell while the file was on its way
    response = draft.patch(url, LARGE[6 * MIB :], 6 * MIB)
    assert "larger than the limit" in response["Upload-Refused"]
    assert s3_storage.keys() == [] and multiparts(s3_storage) == []


@pytest.mark.parametrize(
    "sample", ["3mf/cube_gears.3mf", "rabbit.obj", "20mm-xyz-cube.stl", "unit_cube.STL"]
)
def test_the_content_checks_read_the_completed_object_with_seeks(s3_storage, staff, sample):
    """3MF (zip directory at the end, then a part), OBJ text, ASCII STL head and tail."""
    data = (SAMPLES / sample).read_bytes()
    url = staff.create(len(data), Path(sample).name)["Location"]
    send(staff, url, data, [len(data) // 3 + 1])
    upload = row(url)
    assert upload.state == UploadState.COMPLETE, upload.refusal
    assert s3_storage.sha256(upload.stored_key) == sha256(data)


def test_a_3mf_cut_short_is_refused_from_its_tail(s3_storage, staff):
    data = (SAMPLES / "3mf" / "cube_gears.3mf").read_bytes()[:-100]
    url = staff.create(len(data), "gears.3mf")["Location"]
    send(staff, url, data, [])
    assert row(url).state == UploadState.REFUSED
    assert s3_storage.keys() == []


def test_an_ascii_stl_large_enough_for_parts_passes_its_checks(s3_storage, staff):
    facet = (
        b"facet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
        b"endloop\nendfacet\n"
    )
    data = b"solid big\n" + facet * (6 * MIB // len(facet)) + b"endsolid big\n"
    url = staff.create(len(data), "big.stl")["Location"]
    send(staff, url, data, [2 * MIB, 2 * MIB])
    assert row(url).state == UploadState.COMPLETE


def test_a_body_past_the_length_is_413_and_the_bucket_keeps_what_was_recorded(s3_storage, staff):
    url = staff.create(len(LARGE), "large.stl")["Location"]
    send(staff, url, LARGE[:MIB], [])
    tail = row(url).s3_tail

    assert staff.patch(url, LARGE[MIB:] + b"extra", MIB).status_code == 413

    assert row(url).offset == MIB and row(url).s3_tail == tail
    assert s3_storage.body(tail) == LARGE[:MIB]
    send(staff, url, LARGE, [], offset=MIB)
    assert row(url).sha256 == sha256(LARGE)


def test_an_upload_whose_tail_vanished_from_the_bucket_is_410(s3_storage, staff):
    url = staff.create(len(LARGE), "large.stl")["Location"]
    send(staff, url, LARGE[:MIB], [])
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key=row(url).s3_tail)

    assert staff.patch(url, LARGE[MIB : 2 * MIB], MIB).status_code == 410
    assert row(url).lock_owner == ""  # the lock went with the failed request
