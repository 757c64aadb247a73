"""The project's URLs plus one minimal upload view: bench/uploads.py's baseline.

`raw_upload` is the least a Django view can do with an upload: stream the request body to a
file on disk and sync it once at the end. It reads 64 KiB at a time, the size Django's own
upload handlers and shutil.copyfileobj use: the headline baseline. `?reads=tus` makes it read
in the tus server's pieces (READ_BYTES) instead, the second baseline, so the benchmark also
shows the protocol's cost apart from the choice of buffer.
"""

import os
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from printdesk.uploads.actions import READ_BYTES as TUS_READ_BYTES
from printdesk.urls import urlpatterns as project_urlpatterns

DJANGO_READ_BYTES = 64 * 1024


@csrf_exempt
def raw_upload(request: HttpRequest) -> HttpResponse:
    remaining = int(request.META.get("CONTENT_LENGTH") or 0)
    target = Path(settings.MEDIA_ROOT) / "bench-raw-upload.bin"
    target.parent.mkdir(parents=True, exist_ok=True)
    received = 0
    read_bytes = TUS_READ_BYTES if request.GET.get("reads") == "tus" else DJANGO_READ_BYTES
    with open(target, "wb") as out:
        while remaining:
            data = request.read(min(read_bytes, remaining))
            if not data:
                break
            out.write(data)
            remaining -= len(data)
            received += len(data)
        out.flush()
        os.fsync(out.fileno())
    return HttpResponse(str(received), content_type="text/plain", status=201)


urlpatterns = [path("bench/raw-upload/", raw_upload), *project_urlpatterns]
