"""The tus 1.0.0 endpoints (https://tus.io/protocols/resumable-upload).

Written here rather than taken from a library: the Python tus servers are unmaintained or
FastAPI-only. Views parse headers and call printdesk.uploads.actions; every error is a 4xx
with the reason in the body. The body of a PATCH is read from the request stream in pieces,
never through request.body, so no chunk is ever held in memory whole.
"""

import base64
import binascii
import json
from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from printdesk.jobs.models import Job, parse_reference
from printdesk.uploads import actions
from printdesk.uploads.actions import Checksum, TusError
from printdesk.uploads.auth import Uploader, uploader_for
from printdesk.uploads.models import TusUpload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
OFFSET_TYPE = "application/offset+octet-stream"


def _response(status: int, message: str = "", **headers: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _error(error: TusError) -> HttpResponse:
    return _response(error.status, error.message + "\n")


def tus_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Check Tus-Resumable (412 otherwise), turn TusErrors into responses; CSRF-exempt,
    because the credentials are headers (a desk session is CSRF-checked in auth)."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            return _response(412, "Tus-Resumable: 1.0.0 is required.\n", Tus_Version=TUS_VERSION)
        try:
            return view(request, *args, **kwargs)
        except TusError as error:
            return _error(error)

    return wrapper


def _int_header(request: HttpRequest, name: str) -> int:
    value = request.headers.get(name, "")
    if not (value.isascii() and value.isdigit()):
        raise TusError(f"{name} must be a non-negative integer.")
    return int(value)


def _metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (the value may be absent)."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = item.partition(" ")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, ValueError) as error:
            raise TusError(f"Upload-Metadata value for {key!r} is not base64 text.") from error
    return pairs


def _target_job(uploader: Uploader, metadata: dict[str, str]) -> Job | None:
    """An operator may name the job a file is for (metadata `job`: its reference), so the
    job's size limit is checked before any byte is sent."""
    reference = metadata.get("job")
    if not reference or uploader.user_id is None:
        return None
    pk = parse_reference(reference)
    job = Job.objects.filter(pk=pk).first() if pk is not None else None
    if job is None:
        raise TusError(f"There is no job {reference}.")
    return job


def _checksum(request: HttpRequest) -> Checksum | None:
    header = request.headers.get("Upload-Checksum")
    return Checksum.parse(header) if header else None


def _body_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        raise TusError("Content-Length is not a number.") from None


def _progress_headers(upload: TusUpload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": http_date(upload.expires_at.timestamp()),
    }
    if upload.refusal:
        # A header value is one line of Latin-1: the JSON status page has the exact text.
        headers["Upload-Refused"] = (
            " ".join(upload.refusal.split()).encode("latin-1", "replace").decode("latin-1")
        )
    return headers


@tus_endpoint
def collection(request: HttpRequest) -> HttpResponse:
    """OPTIONS: what this server supports. POST: create an upload (and maybe start it)."""
    if request.method == "OPTIONS":
        return _response(
            204,
            Tus_Version=TUS_VERSION,
            Tus_Extension=EXTENSIONS,
            Tus_Max_Size=str(settings.MAX_FILE_BYTES),
            Tus_Checksum_Algorithm="sha1",
        )
    if request.method != "POST":
        return _response(405, "Use OPTIONS or POST.\n", Allow="OPTIONS, POST")
    if "Upload-Defer-Length" in request.headers:
        raise TusError("Upload-Defer-Length is not supported: send Upload-Length.")
    length = _int_header(request, "Upload-Length")
    if length > settings.MAX_FILE_BYTES:  # before anything else: nothing more is read
        raise actions.TooLarge("The file is larger than the limit per file.")
    uploader = uploader_for(request)
    if uploader is None:
        return _response(401, "Send an Upload-Token, an X-Job-Link or a staff token.\n")
    metadata = _metadata(request.headers.get("Upload-Metadata", ""))
    upload = actions.create_upload(
        uploader=uploader,
        filename=metadata.get("filename", ""),
        length=length,
        for_job=_target_job(uploader, metadata),
    )
    location = reverse("uploads:upload", args=[upload.uuid])
    content_length = _body_length(request)
    if content_length and request.content_type == OFFSET_TYPE:
        try:
            upload = actions.append(
                upload=upload,
                offset=0,
                read=request.read,
                content_length=content_length,
                checksum=_checksum(request),
            )
        except TusError as error:
            # The upload exists: the client learns where, and resumes from offset 0.
            return _response(error.status, error.message + "\n", Location=location)
    return _response(201, Location=location, **_progress_headers(upload))


def _upload_for(request: HttpRequest, upload_id: UUID) -> TusUpload | None:
    """The upload, if it is the caller's: a stranger's looks exactly like a missing one."""
    uploader = uploader_for(request)
    if uploader is None:
        return None
    return TusUpload.objects.filter(uploader.owns(), uuid=upload_id).first()


@tus_endpoint
def upload(request: HttpRequest, upload_id: UUID) -> HttpResponse:
    """HEAD: where to resume. PATCH: append a chunk. DELETE: terminate."""
    found = _upload_for(request, upload_id)
    if found is None:
        return _response(404, "No such upload.\n")
    if request.method == "HEAD":
        return _response(200, **_progress_headers(actions.recover(found)))
    if request.method == "PATCH":
        if request.content_type != OFFSET_TYPE:
            return _response(415, f"Content-Type must be {OFFSET_TYPE}.\n")
        found = actions.append(
            upload=found,
            offset=_int_header(request, "Upload-Offset"),
            read=request.read,
            content_length=_body_length(request),
            checksum=_checksum(request),
        )
        return _response(204, **_progress_headers(found))
    if request.method == "DELETE":
        actions.terminate(found)
        return _response(204)
    return _response(405, "Use HEAD, PATCH or DELETE.\n", Allow="HEAD, PATCH, DELETE")


@csrf_exempt  # credentials are headers, as for the tus endpoints; GET changes nothing
def status(request: HttpRequest, upload_id: UUID) -> HttpResponse:
    """GET: the upload's state as JSON, including why the file checks refused it.

    Not a tus request, so no Tus-Resumable header is needed.
    """
    if request.method != "GET":
        return JsonResponse({"error": "Use GET."}, status=405, headers={"Allow": "GET"})
    try:
        found = _upload_for(request, upload_id)  # a job link that opens no job: 404 or 410
    except TusError as error:
        return JsonResponse({"error": error.message}, status=error.status)
    if found is None:
        return JsonResponse({"error": "No such upload."}, status=404)
    try:
        found = actions.recover(found)
    except TusError as error:
        return JsonResponse({"error": error.message}, status=error.status)
    body = {
        "id": str(found.uuid),
        "state": found.state,
        "filename": found.filename,
        "offset": found.offset,
        "length": found.length,
        "sha256": found.sha256 or None,
        "refusal": found.refusal or None,
        "expires_at": found.expires_at.isoformat(),
    }
    response = HttpResponse(json.dumps(body), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
